// @vitest-environment happy-dom
// Edit connection on the External TAK Servers tab, against the fake window.fedgate: the dialog arrives filled in from
// the peer (name, read-only fingerprint, address, port, CA), says what is wrong before anything is sent, sends only
// what changed (a new address, a switch to "their server dials us"), and is not rendered without Change federation.
// The dial fields are the same ones the Add peer dialog uses, CA file picker included.

import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ExternalPeerDto, OrganizationDto, Permission } from '../../gateway/api/contract.ts'
import { PERMISSIONS } from '../../gateway/api/contract.ts'
import { useOrganizationsStore } from '../../renderer/src/stores/organizations.ts'
import { useSessionStore } from '../../renderer/src/stores/session.ts'
import PeersTab from '../../renderer/src/tabs/PeersTab.vue'
import { fakeGateway, GatewayError, mountWithVuetify, unmountAll, type FakeGateway } from './fake-gateway.ts'

const NET = 'net_alpha'
const ORG = 'org_recon'
const AT = '2026-11-26T10:00:00.000Z'
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBhTCCASugAwIBAgIUHQ==\n-----END CERTIFICATE-----'

const hq: ExternalPeerDto = {
  id: 'peer_hq',
  networkId: NET,
  fingerprint: Array.from({ length: 32 }, () => 'AB').join(':'),
  nextFingerprint: null,
  displayName: 'HQ',
  // The gateway keeps the CA with a trailing newline.
  dial: { address: 'tak.hq.example', port: 9001, caPem: `${CA_PEM}\n` },
  takGroups: { inbound: ['__ANON__'], outbound: ['__ANON__'] },
  createdAt: AT,
  diagnosis: null,
  clockSkewSeconds: null,
  incoming: true,
  outgoing: false,
  acceptPackages: true,
  sharePackages: false,
  relay: false,
  maxHops: 2,
  status: {
    peerId: 'peer_hq',
    connected: true,
    since: AT,
    inPerSecond: 0,
    outPerSecond: 0,
    lastHeard: AT,
    lastError: null,
    history: { in: [], out: [] }
  }
}

let gw: FakeGateway
let sent: Record<string, unknown>[]

beforeEach(() => {
  localStorage.clear()
  sent = []
  gw = fakeGateway({
    getConnectionInfo: () => ({
      hostname: 'laptop.example',
      port: 9001,
      fingerprint: hq.fingerprint,
      ourFederateId: 'fg-1',
      missingSettings: [],
      settingsPath: '/data/appsettings.json',
      takSideRequirements: []
    }),
    listExternalPeers: () => [structuredClone(hq)],
    listRejectedPeers: () => [],
    updateExternalPeer: (args) => {
      const changes = args as Partial<ExternalPeerDto> & { id: string }
      sent.push(changes)
      return { ...structuredClone(hq), ...changes, status: { ...hq.status, connected: false } }
    }
  })
  setActivePinia(createPinia())
})

afterEach(unmountAll)

function signedInWith(permissions: readonly Permission[]): void {
  useSessionStore().me = {
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
  const organization: OrganizationDto = { id: ORG, name: '2-5 Recon', plan: 'team', tokenLimit: 5, tokensUsed: 1, createdAt: AT }
  organizations.list = [organization]
  organizations.select(ORG)
}

/** Whether a dialog is showing (a closed one may stay in the DOM while its transition would run). */
const isOpen = (testId: string): boolean =>
  document.querySelector(`[data-testid="${testId}"]`)?.closest('.v-overlay')?.classList.contains('v-overlay--active') ?? false

/** One open dialog (teleported to the body) and its fields by their visible labels. */
function dialogOf(testId: string) {
  const root = (): Element => {
    const element = document.querySelector(`[data-testid="${testId}"]`)
    if (element === null) throw new Error(`${testId} is not open`)
    return element
  }
  const field = (label: string): HTMLInputElement | HTMLTextAreaElement | undefined =>
    [...root().querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input, textarea')].find(
      (input) => input.id !== '' && document.querySelector(`label[for="${input.id}"]`)?.textContent?.trim() === label
    )
  const button = (text: string): HTMLButtonElement | undefined =>
    [...root().querySelectorAll('button')].find((b) => b.textContent?.trim() === text)
  return {
    root,
    field,
    button,
    text: (): string => root().textContent ?? '',
    async type(label: string, value: string): Promise<void> {
      const input = field(label)
      if (!input) throw new Error(`no field '${label}'`)
      input.value = value
      input.dispatchEvent(new Event('input'))
      input.dispatchEvent(new Event('blur'))
      await flushPromises()
    },
    async click(text: string): Promise<void> {
      const found = button(text)
      if (!found) throw new Error(`no button '${text}'`)
      found.click()
      await flushPromises()
    },
    async toggleDials(): Promise<void> {
      ;(field('Fedgate dials (for a laptop nobody can reach)') as HTMLInputElement).click()
      await flushPromises()
    }
  }
}

async function openEdit(
  permissions: readonly Permission[] = ['changeFederation']
): Promise<{ wrapper: VueWrapper; dialog: ReturnType<typeof dialogOf> }> {
  signedInWith(permissions)
  const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
  await wrapper.find('[aria-label="Edit connection to HQ"]').trigger('click')
  await flushPromises()
  expect(isOpen('edit-peer-dialog')).toBe(true)
  return { wrapper, dialog: dialogOf('edit-peer-dialog') }
}

describe('Edit connection of a TAK Server peer', () => {
  it('arrives filled in from the peer, the fingerprint read-only', async () => {
    const { dialog } = await openEdit()
    expect(dialog.text()).toContain("Edit connection to 'HQ'")
    expect(dialog.field('Name')?.value).toBe('HQ')
    const fingerprint = dialog.field('Fingerprint (SHA-256 of their federation certificate)')!
    expect(fingerprint.value).toBe(hq.fingerprint)
    expect(fingerprint.readOnly).toBe(true)
    expect((dialog.field('Fedgate dials (for a laptop nobody can reach)') as HTMLInputElement).checked).toBe(true)
    expect(dialog.field('Their address')?.value).toBe('tak.hq.example')
    expect(dialog.field('Port')?.value).toBe('9001')
    expect(dialog.field('Their CA certificate (PEM, optional)')?.value).toBe(CA_PEM)
  })

  it('a CA stored with \\r\\n line ends counts as unchanged: a new name does not make the gateway redial', async () => {
    gw.answers.listExternalPeers = () => [
      { ...structuredClone(hq), dial: { address: 'tak.hq.example', port: 9001, caPem: `${CA_PEM.replace(/\n/g, '\r\n')}\r\n` } }
    ]
    const { dialog } = await openEdit()
    await dialog.type('Name', 'HQ main')
    await dialog.click('Save')
    expect(sent).toEqual([{ id: 'peer_hq', displayName: 'HQ main' }])
  })

  it('says what is wrong and keeps Save off until it is right', async () => {
    const { dialog } = await openEdit()
    await dialog.type('Their address', '')
    expect(dialog.text()).toContain('Enter their address')
    expect(dialog.button('Save')?.disabled).toBe(true)
    await dialog.type('Their address', 'https://tak.hq.example')
    expect(dialog.text()).toContain('A host name or IP address only')
    await dialog.type('Their address', '10.20.0.5')
    await dialog.type('Port', '70000')
    expect(dialog.text()).toContain('A port from 1 to 65535')
    expect(dialog.button('Save')?.disabled).toBe(true)
    await dialog.type('Port', '8999')
    await dialog.type('Their CA certificate (PEM, optional)', 'not a certificate')
    expect(dialog.text()).toContain('Paste a PEM certificate (-----BEGIN CERTIFICATE-----), or leave it empty')
    expect(dialog.button('Save')?.disabled).toBe(true)
    await dialog.type('Name', ' ')
    expect(dialog.text()).toContain('Required')
    await dialog.type('Name', 'HQ')
    await dialog.type('Their CA certificate (PEM, optional)', '')
    expect(dialog.button('Save')?.disabled).toBe(false)
    await dialog.click('Save')
    expect(sent).toEqual([{ id: 'peer_hq', dial: { address: '10.20.0.5', port: 8999 } }])
  })

  it("pins their next certificate's fingerprint once it is well formed, and sends only that", async () => {
    const { dialog } = await openEdit()
    const label = "Their next certificate's fingerprint (optional)"
    await dialog.type(label, 'cd:cd')
    expect(dialog.text()).toContain('A SHA-256 fingerprint: 64 hexadecimal digits')
    expect(dialog.button('Save')?.disabled).toBe(true)
    const next = 'cd'.repeat(32)
    await dialog.type(label, next)
    expect(dialog.button('Save')?.disabled).toBe(false)
    await dialog.click('Save')
    expect(sent).toEqual([{ id: 'peer_hq', nextFingerprint: next }])
  })

  it('sends the new port with the CA it had, and the row shows the new address', async () => {
    const { wrapper, dialog } = await openEdit()
    await dialog.type('Port', '9002')
    await dialog.click('Save')
    expect(sent).toEqual([{ id: 'peer_hq', dial: { address: 'tak.hq.example', port: 9002, caPem: CA_PEM } }])
    expect(isOpen('edit-peer-dialog')).toBe(false)
    expect(wrapper.find('[data-testid="peer-HQ"]').text()).toContain('Fedgate dials tak.hq.example:9002')
  })

  it('a new name alone is sent alone; nothing changed sends nothing', async () => {
    const { wrapper, dialog } = await openEdit()
    await dialog.click('Save')
    expect(sent).toEqual([])
    expect(isOpen('edit-peer-dialog')).toBe(false)

    await wrapper.find('[aria-label="Edit connection to HQ"]').trigger('click')
    await flushPromises()
    await dialog.type('Name', '  HQ main ')
    await dialog.click('Save')
    expect(sent).toEqual([{ id: 'peer_hq', displayName: 'HQ main' }])
    expect(wrapper.find('[data-testid="peer-HQ main"]').exists()).toBe(true)
  })

  it('switches between "we dial HQ" and "HQ dials us"', async () => {
    const { dialog } = await openEdit()
    await dialog.toggleDials()
    expect(dialog.field('Their address')).toBeUndefined()
    expect(dialog.text()).toContain('Their TAK Server dials us')
    await dialog.click('Save')
    expect(sent).toEqual([{ id: 'peer_hq', dial: null }])

    // A peer that dials us: Fedgate dialing needs an address; the port starts at TAK's usual 9001.
    sent = []
    gw.answers.listExternalPeers = () => [{ ...structuredClone(hq), dial: null }]
    unmountAll()
    setActivePinia(createPinia())
    const other = await openEdit()
    expect((other.dialog.field('Fedgate dials (for a laptop nobody can reach)') as HTMLInputElement).checked).toBe(false)
    await other.dialog.toggleDials()
    expect(other.dialog.field('Port')?.value).toBe('9001')
    expect(other.dialog.button('Save')?.disabled).toBe(true)
    await other.dialog.type('Their address', 'tak.hq.example')
    await other.dialog.click('Save')
    expect(sent).toEqual([{ id: 'peer_hq', dial: { address: 'tak.hq.example', port: 9001 } }])
  })

  it("shows the gateway's sentence in place when the change is refused", async () => {
    gw.answers.updateExternalPeer = () => {
      throw new GatewayError('invalid', "The remote TAK Server's CA must be a PEM certificate (-----BEGIN CERTIFICATE-----).")
    }
    const { dialog } = await openEdit()
    await dialog.type('Port', '9002')
    await dialog.click('Save')
    expect(dialog.text()).toContain("The remote TAK Server's CA must be a PEM certificate")
  })

  it('takes the CA from a .pem file, and refuses a file that is not one', async () => {
    const { dialog } = await openEdit()
    const choose = async (file: File): Promise<void> => {
      const input = dialog.root().querySelector<HTMLInputElement>('[data-testid="ca-file"]')!
      Object.defineProperty(input, 'files', { value: [file], configurable: true })
      input.dispatchEvent(new Event('change'))
      await flushPromises()
    }
    const other = '-----BEGIN CERTIFICATE-----\nMIIBOTHER==\n-----END CERTIFICATE-----'
    await choose(new File([`${other}\n\n`], 'hq-ca.pem'))
    expect(dialog.field('Their CA certificate (PEM, optional)')?.value).toBe(other)
    await choose(new File(['\x30\x82\x01'], 'hq-ca.der'))
    expect(dialog.text()).toContain('hq-ca.der is not a PEM certificate')
    expect(dialog.field('Their CA certificate (PEM, optional)')?.value).toBe(other)
    await dialog.click('Save')
    expect(sent).toEqual([{ id: 'peer_hq', dial: { address: 'tak.hq.example', port: 9001, caPem: other } }])
  })

  it('clears the CA with one click: the peer is then trusted by its fingerprint alone', async () => {
    const { dialog } = await openEdit()
    await dialog.click('Clear CA')
    expect(dialog.field('Their CA certificate (PEM, optional)')?.value).toBe('')
    expect(dialog.button('Clear CA')).toBeUndefined()
    await dialog.click('Save')
    expect(sent).toEqual([{ id: 'peer_hq', dial: { address: 'tak.hq.example', port: 9001 } }])
  })

  it('is not rendered without Change federation; with it alone, Edit but no Add or Remove', async () => {
    signedInWith(PERMISSIONS.filter((p) => p !== 'changeFederation'))
    const without = await mountWithVuetify(PeersTab, { networkId: NET })
    expect(without.find('[data-testid="peer-HQ"]').exists()).toBe(true)
    expect(without.find('[aria-label="Edit connection to HQ"]').exists()).toBe(false)
    expect(without.find('[aria-label="Remove HQ"]').exists()).toBe(true)
    unmountAll()

    setActivePinia(createPinia())
    const { wrapper } = await openEdit(['changeFederation'])
    expect(wrapper.find('[aria-label="Remove HQ"]').exists()).toBe(false)
    expect(wrapper.findAll('button').map((b) => b.text().trim())).not.toContain('Add peer')
  })
})

describe('Add peer uses the same dial fields', () => {
  it('sends address, port and the CA from a file', async () => {
    let added: unknown = null
    gw.answers.addExternalPeer = (args) => {
      added = args
      return { ...structuredClone(hq), id: 'peer_new', displayName: 'HQ 2' }
    }
    gw.answers.listOrganizations = () => []
    signedInWith(PERMISSIONS)
    const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
    const open = wrapper.findAll('button').find((b) => b.text().trim() === 'Add peer')!
    await open.trigger('click')
    await flushPromises()
    expect(isOpen('add-peer-dialog')).toBe(true)
    const dialog = dialogOf('add-peer-dialog')
    await dialog.type('Fingerprint (SHA-256 of their federation certificate)', 'CD'.repeat(32))
    await dialog.type('Name', 'HQ 2')
    await dialog.toggleDials()
    expect(dialog.button('Add peer')?.disabled).toBe(true)
    await dialog.type('Their address', '192.0.2.7')
    await dialog.type('Port', '9101')
    const input = dialog.root().querySelector<HTMLInputElement>('[data-testid="ca-file"]')!
    Object.defineProperty(input, 'files', { value: [new File([CA_PEM], 'ca.pem')], configurable: true })
    input.dispatchEvent(new Event('change'))
    await flushPromises()
    await dialog.click('Add peer')
    expect(added).toMatchObject({ networkId: NET, displayName: 'HQ 2', dial: { address: '192.0.2.7', port: 9101, caPem: CA_PEM } })
    expect(isOpen('add-peer-dialog')).toBe(false)
  })
})
