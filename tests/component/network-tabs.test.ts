// @vitest-environment happy-dom
// The network tabs against a fake window.fedgate (the one fake the house allows: the transport): DESIGN §4 gating
// (without a permission the table and chips stay, the buttons go), the Free plan sentence, a failed load shown as
// the error it is, missing settings named, and live updates from pushed events without any polling.

import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type {
  CreatedDeviceEnrollment,
  DataPackageDto,
  DeviceDto,
  DeviceEnrollmentDto,
  ExternalPeerDto,
  FederationDto,
  OrganizationDto,
  Permission,
  Plan
} from '../../gateway/api/contract.ts'
import { PERMISSIONS } from '../../gateway/api/contract.ts'
import { useNotifyStore } from '../../renderer/src/stores/notify.ts'
import { useOrganizationsStore } from '../../renderer/src/stores/organizations.ts'
import { useSessionStore } from '../../renderer/src/stores/session.ts'
import DevicesTab from '../../renderer/src/tabs/DevicesTab.vue'
import FederationsTab from '../../renderer/src/tabs/FederationsTab.vue'
import PackagesTab from '../../renderer/src/tabs/PackagesTab.vue'
import PeersTab from '../../renderer/src/tabs/PeersTab.vue'
import { buttonTexts, fakeGateway, GatewayError, mountWithVuetify, unmountAll, type FakeGateway } from './fake-gateway.ts'

const NET = 'net_alpha'
const ORG = 'org_recon'
const AT = '2026-11-26T10:00:00.000Z'

const federation: FederationDto = {
  id: 'fed_1',
  kind: 'acrossOrganizations',
  createdAt: AT,
  ours: {
    networkId: NET,
    networkName: 'Alpha',
    organizationId: ORG,
    organizationName: '2-5 Recon',
    incoming: true,
    outgoing: true,
    acceptPackages: false,
    sharePackages: false,
    diagnosis: null,
    relay: false,
    maxHops: 2
  },
  theirs: {
    networkId: 'net_b',
    networkName: 'Bravo',
    organizationId: 'org_p',
    organizationName: 'Partner',
    incoming: true,
    outgoing: false,
    acceptPackages: false,
    sharePackages: true,
    diagnosis: null,
    relay: false,
    maxHops: 2
  },
  stats: { federationId: 'fed_1', networkId: NET, inPerSecond: 0, outPerSecond: 0, lastActivity: null }
}

const peer: ExternalPeerDto = {
  id: 'peer_1',
  networkId: NET,
  fingerprint: Array.from({ length: 32 }, () => 'AB').join(':'),
  nextFingerprint: null,
  displayName: 'HQ TAK Server',
  dial: null,
  takGroups: { inbound: ['__ANON__'], outbound: ['__ANON__'] },
  createdAt: AT,
  diagnosis: null,
  clockSkewSeconds: null,
  incoming: true,
  outgoing: true,
  acceptPackages: false,
  sharePackages: false,
  relay: false,
  maxHops: 2,
  status: {
    peerId: 'peer_1',
    connected: false,
    since: null,
    inPerSecond: 0,
    outPerSecond: 0,
    lastHeard: null,
    lastError: null,
    history: { in: [], out: [] }
  }
}

const device: DeviceDto = {
  id: 'dev_1',
  networkId: NET,
  callsign: 'VIPER-1',
  fingerprint: 'AA:BB',
  serial: '01',
  notAfter: '2027-11-26T10:00:00.000Z',
  enrolledAt: AT,
  revokedAt: null,
  online: false,
  uidSeen: null,
  lastSeen: null,
  address: null,
  connectionCount: 0,
  lastPosition: null,
  drops: 0,
  clockSkewSeconds: null,
  enrolledBy: 'package'
}

const enrollment: DeviceEnrollmentDto = {
  id: 'enr_1',
  networkId: NET,
  callsign: 'KESTREL-2',
  username: 'KESTREL-2',
  createdAt: new Date().toISOString(),
  expiresAt: new Date(Date.now() + 24 * 3600_000).toISOString(),
  validDays: 365
}

const federatedPackage: DataPackageDto = {
  id: 'pkg_1',
  networkId: NET,
  hash: 'ab'.repeat(32),
  name: 'overlay.zip',
  size: 2_500_000,
  mimeType: 'application/zip',
  createdAt: AT,
  source: { kind: 'federation', label: 'Bravo', id: 'fed_1' },
  private: false,
  sharedWith: [{ kind: 'peer', id: 'peer_1', label: 'HQ TAK Server', at: AT }]
}

let gw: FakeGateway

function cannedAnswers(): FakeGateway['answers'] {
  return {
    listFederations: () => [structuredClone(federation)],
    getFederationCode: () => null,
    getConnectionInfo: () => ({
      hostname: 'laptop.example',
      port: 9001,
      fingerprint: peer.fingerprint,
      ourFederateId: 'fg-1',
      missingSettings: [],
      settingsPath: '/data/appsettings.json',
      takSideRequirements: []
    }),
    listExternalPeers: () => [structuredClone(peer)],
    listRejectedPeers: () => [],
    listDevices: () => [structuredClone(device)],
    listDeviceEnrollments: () => [],
    listDataPackages: () => [structuredClone(federatedPackage)],
    updateFederationEnd: () => structuredClone(federation)
  }
}

/** Presses the confirm button of the open toggle dialog ("Turn Out off"). */
async function confirmToggle(): Promise<void> {
  const dialog = document.querySelector('[data-testid="toggle-confirm"]')
  const button = [...(dialog?.querySelectorAll('button') ?? [])].find((b) => b.textContent?.trim().startsWith('Turn '))
  expect(button).toBeDefined()
  button?.click()
  await flushPromises()
}

function signedInWith(permissions: readonly Permission[], plan: Plan = 'team'): void {
  const session = useSessionStore()
  session.me = {
    user: {
      id: 'u1',
      username: 'lead',
      displayName: 'Lead',
      deploymentAdmin: false,
      memberships: [{ organizationId: ORG, admin: false }],
      createdAt: AT
    },
    networkPermissions: { [NET]: [...permissions] },
    adminOf: []
  }
  const organizations = useOrganizationsStore()
  const organization: OrganizationDto = { id: ORG, name: '2-5 Recon', plan, tokenLimit: 5, tokensUsed: 0, createdAt: AT }
  organizations.list = [organization]
  organizations.select(ORG)
}

const mountTab = (component: unknown): Promise<VueWrapper> => mountWithVuetify(component, { networkId: NET })

beforeEach(() => {
  localStorage.clear()
  gw = fakeGateway(cannedAnswers())
  setActivePinia(createPinia())
})

afterEach(unmountAll)

describe('Federated Networks tab', () => {
  it('with every permission: Federate, Generate code, Stop federating and clickable chips', async () => {
    signedInWith(PERMISSIONS)
    const wrapper = await mountTab(FederationsTab)
    const buttons = buttonTexts(wrapper)
    expect(buttons).toContain('Federate')
    expect(buttons).toContain('Generate code')
    expect(wrapper.find('[aria-label="Stop federating with Bravo"]').exists()).toBe(true)
    // A switch, not a chip: flipping it first says what will happen, and nothing is sent until confirmed.
    await wrapper.find('[data-testid="chips-ours"] [data-toggle="Out"] input[type="checkbox"]').trigger('click')
    await flushPromises()
    expect(document.querySelector('[data-testid="toggle-sentence"]')?.textContent).toBe('Alpha will stop sending positions to Bravo.')
    expect(gw.calls).not.toContain('updateFederationEnd')
    await confirmToggle()
    expect(gw.calls).toContain('updateFederationEnd')
  })

  it('without permissions the table and both ends stay, and no action is rendered or callable', async () => {
    signedInWith([])
    const wrapper = await mountTab(FederationsTab)
    const row = wrapper.find('[data-testid="federation-Bravo"]')
    expect(row.exists()).toBe(true)
    expect(row.findAll('[data-testid="chips-ours"] .v-chip')).toHaveLength(4)
    expect(row.findAll('[data-testid="chips-theirs"] .v-chip')).toHaveLength(4)
    expect(row.findAll('input[type="checkbox"]')).toHaveLength(0)
    // Their end says Out off, ours says Out on: each chip shows its own end.
    const state = (side: string, text: string): string | undefined =>
      row
        .findAll(`[data-testid="chips-${side}"] .v-chip`)
        .find((c) => c.text() === text)
        ?.attributes('data-state')
    expect(state('ours', 'Out')).toBe('on')
    expect(state('theirs', 'Out')).toBe('off')
    const buttons = buttonTexts(wrapper)
    for (const action of ['Federate', 'Generate code', 'Clear code']) expect(buttons).not.toContain(action)
    expect(wrapper.find('[aria-label="Stop federating with Bravo"]').exists()).toBe(false)
    await row.findAll('[data-testid="chips-ours"] .v-chip')[1]?.trigger('click')
    await flushPromises()
    expect(gw.calls).not.toContain('updateFederationEnd')
  })

  it('Change federation alone: chips clickable, no Federate or Stop', async () => {
    signedInWith(['changeFederation'])
    const wrapper = await mountTab(FederationsTab)
    const buttons = buttonTexts(wrapper)
    expect(buttons).not.toContain('Federate')
    expect(wrapper.find('[aria-label="Stop federating with Bravo"]').exists()).toBe(false)
    await wrapper.find('[data-testid="chips-ours"] [data-toggle="In"] input[type="checkbox"]').trigger('click')
    await flushPromises()
    await confirmToggle()
    expect(gw.calls).toContain('updateFederationEnd')
  })

  it('Free plan: the buttons are replaced by the explanation', async () => {
    signedInWith(PERMISSIONS, 'free')
    const wrapper = await mountTab(FederationsTab)
    expect(wrapper.find('[data-testid="free-plan-note"]').text()).toContain(
      'The Free plan does not federate. A deployment administrator can upgrade the organization.'
    )
    const buttons = buttonTexts(wrapper)
    expect(buttons).not.toContain('Federate')
    expect(buttons).not.toContain('Generate code')
  })

  it('live events per second from federationStats, no polling', async () => {
    signedInWith([])
    const wrapper = await mountTab(FederationsTab)
    const listCalls = gw.count('listFederations')
    gw.push({
      type: 'federationStats',
      federations: [{ federationId: 'fed_1', networkId: NET, inPerSecond: 12.5, outPerSecond: 3, lastActivity: AT }]
    })
    await flushPromises()
    const rates = wrapper.find('[data-testid="federation-rates"]').text()
    expect(rates).toMatch(/↓ (12\.5|13).*↑ 3/)
    expect(gw.count('listFederations')).toBe(listCalls)
    // Figures seen from the other end (its "in" is our "out"): shown from ours.
    gw.push({
      type: 'federationStats',
      federations: [{ federationId: 'fed_1', networkId: 'net_b', inPerSecond: 7, outPerSecond: 40, lastActivity: AT }]
    })
    await flushPromises()
    expect(wrapper.find('[data-testid="federation-rates"]').text()).toMatch(/↓ 40.*↑ 7/)
  })

  it('a failed load is an error for the operator, in the words of the gateway, not a calm note', async () => {
    signedInWith(PERMISSIONS)
    gw.answers.listFederations = () => {
      throw new GatewayError('not_found', "Network 'Alpha' does not exist any more.")
    }
    const wrapper = await mountTab(FederationsTab)
    const notify = useNotifyStore()
    expect(notify.current).toMatchObject({ color: 'error', text: "Network 'Alpha' does not exist any more." })
    expect(wrapper.text()).not.toContain('not available')
  })
})

describe('External TAK Servers tab', () => {
  it('names the missing settings and the appsettings.json path instead of the actions', async () => {
    signedInWith(PERMISSIONS)
    gw.answers.getConnectionInfo = () => ({
      hostname: null,
      port: 9001,
      fingerprint: null,
      ourFederateId: null,
      missingSettings: ['Federation:AdvertisedHostname', 'Federation:OurFederateId'],
      settingsPath: '/data/appsettings.json',
      takSideRequirements: []
    })
    const wrapper = await mountTab(PeersTab)
    const note = wrapper.find('[data-testid="missing-settings"]').text()
    expect(note).toContain('Federation:AdvertisedHostname')
    expect(note).toContain('Federation:OurFederateId')
    expect(note).toContain('/data/appsettings.json')
    expect(buttonTexts(wrapper)).not.toContain('Add peer')
  })

  it('peer row follows peerStatus events: up, rates, without polling', async () => {
    signedInWith(PERMISSIONS)
    const wrapper = await mountTab(PeersTab)
    expect(buttonTexts(wrapper)).toContain('Add peer')
    const row = (): string => wrapper.find('[data-testid="peer-HQ TAK Server"]').text()
    expect(row()).not.toMatch(/\bup\b|connected/i)
    const before = gw.calls.length
    gw.push({
      type: 'peerStatus',
      peers: [
        {
          ...peer.status,
          connected: true,
          since: AT,
          inPerSecond: 42,
          outPerSecond: 7,
          lastHeard: new Date().toISOString(),
          history: { in: [1, 5, 42], out: [1, 2, 7] }
        }
      ]
    })
    await flushPromises()
    expect(row()).toContain('42')
    expect(row()).toMatch(/up|connected/i)
    expect(wrapper.find('[data-testid="peer-HQ TAK Server"] svg polyline, [data-testid="peer-HQ TAK Server"] svg path').exists()).toBe(true)
    expect(gw.calls.length).toBe(before)
  })

  it('without Federate with other organizations: the table stays, no Add or Remove', async () => {
    signedInWith([])
    const wrapper = await mountTab(PeersTab)
    expect(wrapper.find('[data-testid="peer-HQ TAK Server"]').exists()).toBe(true)
    expect(buttonTexts(wrapper)).not.toContain('Add peer')
    expect(wrapper.find('[aria-label="Remove HQ TAK Server"]').exists()).toBe(false)
  })

  it('with Stop federating alone: Remove (the gateway allows it), but no Add', async () => {
    signedInWith(['stopFederating'])
    const wrapper = await mountTab(PeersTab)
    expect(buttonTexts(wrapper)).not.toContain('Add peer')
    expect(wrapper.find('[aria-label="Remove HQ TAK Server"]').exists()).toBe(true)
  })
})

describe('Devices tab', () => {
  it('without Manage devices: the table, but no Enroll or Revoke', async () => {
    signedInWith(['changeFederation'])
    const wrapper = await mountTab(DevicesTab)
    expect(wrapper.find('[data-testid="device-VIPER-1"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="enroll-device"]').exists()).toBe(false)
    expect(buttonTexts(wrapper)).not.toContain('Revoke')
  })

  it('with Manage devices: Enroll and Revoke; deviceStatus events turn the row online', async () => {
    signedInWith(['manageDevices'])
    const wrapper = await mountTab(DevicesTab)
    expect(wrapper.find('[data-testid="enroll-device"]').exists()).toBe(true)
    expect(buttonTexts(wrapper)).toContain('Revoke')
    const row = (): string => wrapper.find('[data-testid="device-VIPER-1"]').text()
    expect(row()).toMatch(/offline/i)
    gw.push({
      type: 'deviceStatus',
      networkId: NET,
      devices: [
        { ...device, online: true, uidSeen: 'ANDROID-abc', lastSeen: new Date().toISOString(), address: '10.0.0.7', connectionCount: 1 }
      ]
    })
    await flushPromises()
    expect(row()).toMatch(/online/i)
    expect(row()).toContain('ANDROID-abc')
    expect(row()).toContain('10.0.0.7')
  })

  it('waiting for enrollment: listed for members, Cancel only with Manage devices, gone after a changed event', async () => {
    gw.answers.listDeviceEnrollments = () => [structuredClone(enrollment)]
    signedInWith([])
    const viewer = await mountTab(DevicesTab)
    expect(viewer.find('[data-testid="enrollment-KESTREL-2"]').text()).toContain('365 days')
    expect(viewer.find('[data-testid="cancel-enrollment"]').exists()).toBe(false)
    unmountAll()

    setActivePinia(createPinia())
    signedInWith(['manageDevices'])
    const wrapper = await mountTab(DevicesTab)
    await wrapper.find('[data-testid="cancel-enrollment"]').trigger('click')
    await flushPromises()
    // Asked first: nothing is cancelled until the operator confirms.
    expect(gw.calls).not.toContain('cancelDeviceEnrollment')
    const confirm = [...document.querySelectorAll('[data-testid="confirm-dialog"]')].find((d) =>
      d.textContent?.includes('Cancel the enrollment of KESTREL-2')
    )!
    ;([...confirm.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Cancel enrollment') as HTMLButtonElement).click()
    await flushPromises()
    expect(gw.calls).toContain('cancelDeviceEnrollment')
    // The device used its password: the gateway says the devices changed, and the waiting list goes away.
    gw.answers.listDeviceEnrollments = () => []
    gw.push({ type: 'changed', area: 'devices', networkId: NET })
    await flushPromises()
    expect(wrapper.find('[data-testid="pending-enrollments"]').exists()).toBe(false)
  })

  it('a device that enrolled itself: a chip instead of the Package download, Revoke stays', async () => {
    gw.answers.listDevices = () => [{ ...structuredClone(device), enrolledBy: 'password' }]
    signedInWith(['manageDevices'])
    const wrapper = await mountTab(DevicesTab)
    const row = wrapper.find('[data-testid="device-VIPER-1"]')
    expect(row.find('[data-testid="enrolled-itself"]').text()).toBe('enrolled itself')
    const buttons = row.findAll('button').map((b) => b.text().trim())
    expect(buttons).toContain('Revoke')
    expect(buttons).not.toContain('Package')
  })

  it('Device enrolls itself: asks for a one-time password and shows it once, in groups of four', async () => {
    let sent: unknown = null
    const created: CreatedDeviceEnrollment = {
      enrollment: structuredClone(enrollment),
      password: 'ABCDEFGHJKMNPQRS',
      host: '192.0.2.10',
      enrollmentPort: 8446,
      streamingPort: 8089,
      itakQrText: 'Fedgate,192.0.2.10,8089,ssl',
      itakQrDataUrl: 'data:image/png;base64,',
      atakQrText: 'tak://com.atakmap.app/enroll?host=192.0.2.10&username=KESTREL-2&token=ABCDEFGHJKMNPQRS',
      atakQrDataUrl: 'data:image/png;base64,',
      packageFilename: 'Fedgate-KESTREL-2-enroll.zip',
      packageBase64: '',
      wintakPackageFilename: 'Fedgate-KESTREL-2-enroll-WinTAK.zip',
      wintakPackageBase64: '',
      truststorePassword: 'trust-1234'
    }
    gw.answers.createDeviceEnrollment = (args) => {
      sent = args
      return created
    }
    signedInWith(['manageDevices'])
    const wrapper = await mountTab(DevicesTab)
    await wrapper.find('[data-testid="enroll-device"]').trigger('click')
    await flushPromises()
    const dialog = (): Element => document.querySelector('[data-testid="enroll-dialog"]')!
    const button = (text: string): HTMLButtonElement =>
      [...dialog().querySelectorAll('button')].find((b) => b.textContent?.trim() === text) as HTMLButtonElement
    button('Device enrolls itself (one-time password)').click()
    await flushPromises()
    const inputs = (): HTMLInputElement[] => [...dialog().querySelectorAll('input')] as HTMLInputElement[]
    const field = (label: string): HTMLInputElement =>
      inputs().find((input) => document.querySelector(`label[for="${input.id}"]`)?.textContent?.trim() === label)!
    expect(field('Password valid for (hours)').value).toBe('24')
    const callsign = field('Callsign')
    callsign.value = 'KESTREL-2'
    callsign.dispatchEvent(new Event('input'))
    await flushPromises()
    button('Create password').click()
    await flushPromises()
    expect(sent).toEqual({ networkId: NET, callsign: 'KESTREL-2', validDays: 365, expiresInHours: 24 })
    expect(dialog().textContent).toContain('KESTREL-2 can enroll itself')
    expect(dialog().querySelector('[data-testid="enroll-username"]')?.textContent).toBe('KESTREL-2')
    // No TAK app reads the user name from the package: the dialog says to type it, and that it is the callsign.
    expect(dialog().querySelector('[data-testid="enroll-username-note"]')?.textContent?.replace(/\s+/g, ' ').trim()).toBe(
      'Type the user name on the device yourself: no TAK app fills it in, and it must be this callsign, because the server signs only a certificate request made out to it.'
    )
    const password = dialog().querySelector('[data-testid="enroll-password"]')!
    expect([...password.children].map((group) => group.textContent)).toEqual(['ABCD', 'EFGH', 'JKMN', 'PQRS'])
    expect(password.textContent).toBe('ABCDEFGHJKMNPQRS')
    expect(dialog().querySelector('[data-testid="enrollment-truststore-password"]')?.textContent?.trim()).toBe('trust-1234')
    expect(dialog().querySelector('[data-testid="enroll-itak-qr"]')).not.toBeNull()
    expect(dialog().querySelector('[data-testid="enroll-atak-qr"]')).not.toBeNull()
    expect(dialog().querySelector('[data-testid="enrolled-itself-note"]')).toBeNull()

    // The phone enrolls while the dialog is still open: the gateway's changed event brings it, and the dialog says so.
    gw.answers.listDevices = () => [
      structuredClone(device),
      { ...structuredClone(device), id: 'dev_2', callsign: 'KESTREL-2', enrolledBy: 'password', enrolledAt: new Date().toISOString() }
    ]
    gw.push({ type: 'changed', area: 'devices', networkId: NET })
    await flushPromises()
    expect(dialog().querySelector('[data-testid="enrolled-itself-note"]')?.textContent).toContain('KESTREL-2 has enrolled itself')
  })
})

describe('Devices tab: the address devices dial', () => {
  const addresses = [
    { address: '192.168.8.20', interfaceName: 'wlan0', advertised: false, likely: true, covered: true },
    { address: '172.17.0.1', interfaceName: 'docker0', advertised: false, likely: false, covered: true }
  ]

  async function enrollWith(deviceAddresses: typeof addresses): Promise<{ sent: Record<string, unknown> | null; dialog: () => Element }> {
    const result: { sent: Record<string, unknown> | null; dialog: () => Element } = {
      sent: null,
      dialog: () => document.querySelector('[data-testid="enroll-dialog"]')!
    }
    gw.answers.getDeploymentSettings = () => ({ deviceAddresses })
    gw.answers.enrollDevice = (args) => {
      result.sent = args as Record<string, unknown>
      throw new GatewayError('conflict', 'stop here')
    }
    signedInWith(['manageDevices'])
    const wrapper = await mountTab(DevicesTab)
    await wrapper.find('[data-testid="enroll-device"]').trigger('click')
    await flushPromises()
    const input = [...result.dialog().querySelectorAll('input')].find(
      (i) => document.querySelector(`label[for="${i.id}"]`)?.textContent?.trim() === 'Callsign'
    )!
    input.value = 'VIPER-9'
    input.dispatchEvent(new Event('input'))
    await flushPromises()
    ;([...result.dialog().querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Enroll') as HTMLButtonElement).click()
    await flushPromises()
    return result
  }

  it('several addresses: a choice labelled with the interface, the best one sent by default', async () => {
    const { sent, dialog } = await enrollWith(addresses)
    const select = dialog().querySelector('[data-testid="device-address"]')!
    expect(select.textContent).toContain('Address the device dials')
    expect(select.textContent).toContain('192.168.8.20 (wlan0)')
    expect(sent).toMatchObject({ callsign: 'VIPER-9', host: '192.168.8.20' })
  })

  it('one address: said plainly, and sent', async () => {
    const { sent, dialog } = await enrollWith(addresses.slice(0, 1))
    expect(dialog().querySelector('[data-testid="device-address"]')?.textContent).toContain('The device dials 192.168.8.20')
    expect(sent).toMatchObject({ host: '192.168.8.20' })
  })
})

describe('Data Packages tab', () => {
  it('shows where a package came from and where it went; a changed event refreshes the list', async () => {
    signedInWith(['manageDataPackages'])
    const wrapper = await mountTab(PackagesTab)
    const row = wrapper.find('[data-testid="package-overlay.zip"]').text()
    expect(row).toContain('Bravo')
    expect(row).toContain('Federated network')
    expect(row).toContain('HQ TAK Server')
    expect(row).toMatch(/2\.[45] MB/)
    expect(wrapper.find('[aria-label="Delete overlay.zip"]').exists()).toBe(true)
    const before = gw.count('listDataPackages')
    gw.push({ type: 'changed', area: 'packages', networkId: NET })
    await flushPromises()
    expect(gw.count('listDataPackages')).toBe(before + 1)
  })

  it('deleting a package received from another network says that network keeps its own', async () => {
    signedInWith(['manageDataPackages'])
    gw.answers.deleteDataPackage = () => null
    const wrapper = await mountTab(PackagesTab)
    await wrapper.find('[aria-label="Delete overlay.zip"]').trigger('click')
    await flushPromises()
    const dialog = document.querySelector('[data-testid="confirm-dialog"]')!
    expect(dialog.textContent).toContain("Deletes it from this network only: 'Bravo' keeps its own")
    ;([...dialog.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Delete package') as HTMLButtonElement).click()
    await flushPromises()
    expect(gw.calls).toContain('deleteDataPackage')
  })

  it('without Manage data packages: download stays, upload and delete go', async () => {
    signedInWith([])
    const wrapper = await mountTab(PackagesTab)
    expect(wrapper.find('[aria-label="Download overlay.zip"]').exists()).toBe(true)
    expect(wrapper.find('[aria-label="Delete overlay.zip"]').exists()).toBe(false)
    expect(buttonTexts(wrapper)).not.toContain('Upload package')
  })
})
