// @vitest-environment happy-dom
// TAK groups on the External TAK Servers tab, against the fake window.fedgate: the peer row names its groups and
// offers the per-peer CoreConfig snippet (asked for with the peer's id, Copy and Download); the edit dialog shows the
// groups with the sentence on what they are, and sends a changed list and nothing when unchanged; connection info
// lists what must be true on the TAK side.

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ExternalPeerDto, OrganizationDto, Permission } from '../../gateway/api/contract.ts'
import { useOrganizationsStore } from '../../renderer/src/stores/organizations.ts'
import { useSessionStore } from '../../renderer/src/stores/session.ts'
import PeersTab from '../../renderer/src/tabs/PeersTab.vue'
import { fakeGateway, mountWithVuetify, unmountAll } from './fake-gateway.ts'

const NET = 'net_alpha'
const ORG = 'org_recon'
const AT = '2026-11-26T10:00:00.000Z'
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBhTCCASugAwIBAgIUHQ==\n-----END CERTIFICATE-----'

const hq: ExternalPeerDto = {
  id: 'peer_hq',
  networkId: NET,
  fingerprint: Array.from({ length: 32 }, () => 'AB').join(':'),
  displayName: 'HQ',
  // The gateway keeps the CA with a trailing newline.
  dial: { address: 'tak.hq.example', port: 9001, caPem: `${CA_PEM}\n` },
  takGroups: { inbound: ['Blue Force'], outbound: ['Blue Force', 'HQ Staff'] },
  nextFingerprint: null,
  diagnosis: null,
  clockSkewSeconds: null,
  createdAt: AT,
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

let sent: Record<string, unknown>[]
let downloads: Record<string, unknown>[]

beforeEach(() => {
  localStorage.clear()
  sent = []
  downloads = []
  fakeGateway({
    getConnectionInfo: () => ({
      hostname: 'laptop.example',
      port: 9001,
      fingerprint: hq.fingerprint,
      ourFederateId: 'fg-1',
      missingSettings: [],
      settingsPath: '/data/appsettings.json',
      takSideRequirements: ['Federation is on: <federation enableFederation="true">.']
    }),
    listExternalPeers: () => [structuredClone(hq)],
    listRejectedPeers: () => [],
    downloadArtifact: (args) => {
      downloads.push(args as Record<string, unknown>)
      const text = `<federate id="x"><inboundGroup>Blue Force</inboundGroup></federate>`
      return { filename: 'fg-1-federate-HQ.xml', mimeType: 'application/xml', contentBase64: btoa(text) }
    },
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

describe('TAK groups of a TAK Server peer', () => {
  it('names the groups in the row and gives the per-peer snippet to copy or download', async () => {
    signedInWith(['changeFederation'])
    const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
    expect(wrapper.find('[data-testid="peer-tak-groups"]').text()).toBe('TAK groups: Blue Force / Blue Force, HQ Staff')
    await wrapper.find('[data-testid="peer-snippet-HQ"]').trigger('click')
    await flushPromises()
    expect(isOpen('peer-snippet-dialog')).toBe(true)
    const dialog = dialogOf('peer-snippet-dialog')
    expect(downloads).toEqual([{ kind: 'coreconfig-federate', peerId: 'peer_hq' }])
    expect(dialog.root().querySelector('[data-testid="peer-snippet-text"]')?.textContent).toContain(
      '<inboundGroup>Blue Force</inboundGroup>'
    )
    expect(dialog.root().querySelector('[aria-label="Copy snippet"]')).not.toBeNull()
    await dialog.click('Download')
    expect(downloads.at(-1)).toEqual({ kind: 'coreconfig-federate', peerId: 'peer_hq' })
  })

  it('lists what must be true on the TAK side in connection info', async () => {
    signedInWith(['changeFederation'])
    const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
    await wrapper.find('[data-testid="connection-info"] button').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid="tak-side-requirements"]').text()).toContain('<federation enableFederation="true">')
  })

  it('shows the groups in the edit dialog with what they are, and sends a changed list only', async () => {
    signedInWith(['changeFederation'])
    const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
    await wrapper.find('[aria-label="Edit connection to HQ"]').trigger('click')
    await flushPromises()
    const dialog = dialogOf('edit-peer-dialog')
    const groups = dialog.root().querySelector('[data-testid="tak-groups"]')!
    expect(groups.textContent).toContain('Administrative › Manage Users')
    expect(groups.querySelector('[data-testid="tak-groups-outbound"]')?.textContent).toContain('HQ Staff')
    await dialog.type('Name', 'HQ main')
    await dialog.click('Save')
    expect(sent).toEqual([{ id: 'peer_hq', displayName: 'HQ main' }])
    await wrapper.find('[aria-label="Edit connection to HQ main"]').trigger('click')
    await flushPromises()
    const chipClose = [...groups.ownerDocument.querySelectorAll('[data-testid="tak-groups-outbound"] .v-chip__close')]
    expect(chipClose).toHaveLength(2)
    ;(chipClose[1] as HTMLElement).click()
    await flushPromises()
    await dialogOf('edit-peer-dialog').click('Save')
    expect(sent.at(-1)).toEqual({ id: 'peer_hq', takGroups: { inbound: ['Blue Force'], outbound: ['Blue Force'] } })
  })
})
