// @vitest-environment happy-dom
// A TAK peer's traffic drawer: opened from the peer's row, it shows the link's totals both ways over 15 minutes or an
// hour, its drops, the diagnosis line when the peer's figures carry one, and grows with each pushed sample.

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DiagnosisDto, ExternalPeerDto, LinkHistoryDto, OrganizationDto } from '../../gateway/api/contract.ts'
import { PERMISSIONS } from '../../gateway/api/contract.ts'
import { useOrganizationsStore } from '../../renderer/src/stores/organizations.ts'
import { useSessionStore } from '../../renderer/src/stores/session.ts'
import PeersTab from '../../renderer/src/tabs/PeersTab.vue'
import { peerDto } from './peer-fixture.ts'
import { fakeGateway, mountWithVuetify, unmountAll, type FakeGateway } from './fake-gateway.ts'

const NET = 'net_alpha'
const ORG = 'org_recon'
const AT = '2026-11-26T10:00:00.000Z'

function peer(name: string, diagnosis?: DiagnosisDto): ExternalPeerDto {
  return peerDto(name, { networkId: NET, diagnosis: diagnosis ?? null }, { lastHeard: AT })
}

function history(peerId: string): LinkHistoryDto {
  const times = Array.from({ length: 4 }, (_, i) => new Date(Date.parse(AT) + i * 5000).toISOString())
  return {
    key: `peer:${peerId}`,
    periodSeconds: 5,
    times,
    inPerSecond: [0, 2, 1, 0],
    outPerSecond: [0.4, 0, 0, 0],
    dropsPerSecond: [0, 0, 0.2, 0],
    last15Minutes: { in: 15, out: 2, drops: 1 },
    lastHour: { in: 240, out: 31, drops: 9 }
  }
}

let gw: FakeGateway
const asked: unknown[] = []
beforeEach(() => {
  localStorage.clear()
  asked.length = 0
  gw = fakeGateway({
    getConnectionInfo: () => ({
      hostname: 'laptop.example',
      port: 9001,
      fingerprint: 'AB',
      ourFederateId: 'fg-1',
      missingSettings: [],
      settingsPath: null
    }),
    listExternalPeers: () => [
      peer('HQ', { code: 'untrusted-ca', message: 'HQ does not trust our CA yet: send its admin ca.pem.' }),
      peer('Depot')
    ],
    listRejectedPeers: () => [],
    getLinkHistory: (args) => {
      asked.push(args)
      return history((args as { peerId: string }).peerId)
    }
  })
  setActivePinia(createPinia())
  useSessionStore().me = {
    user: {
      id: 'u1',
      username: 'lead',
      displayName: 'Lead',
      deploymentAdmin: false,
      memberships: [{ organizationId: ORG, admin: false }],
      createdAt: AT
    },
    networkPermissions: { [NET]: [...PERMISSIONS] },
    adminOf: []
  }
  const organization: OrganizationDto = { id: ORG, name: '2-5 Recon', plan: 'team', tokenLimit: 5, tokensUsed: 2, createdAt: AT }
  useOrganizationsStore().list = [organization]
  useOrganizationsStore().select(ORG)
})
afterEach(unmountAll)

const text = (testid: string): string | undefined => document.querySelector(`[data-testid="${testid}"]`)?.textContent?.trim()

describe("a peer's traffic drawer", () => {
  it('opens from the peer row with its totals over 15 minutes, then the hour, and its diagnosis', async () => {
    const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
    expect(document.querySelector('[data-testid="link-drawer"]')).toBeNull()
    await wrapper.find('[data-testid="traffic-HQ"]').trigger('click')
    await flushPromises()
    expect(asked).toEqual([{ peerId: 'peer_HQ' }])
    expect(text('link-diagnosis')).toBe('HQ does not trust our CA yet: send its admin ca.pem.')
    expect([text('total-in'), text('total-out'), text('total-drops')]).toEqual(['15', '2', '1'])
    ;(document.querySelector('[data-testid="window-60"]') as HTMLElement).click()
    await flushPromises()
    expect([text('total-in'), text('total-out'), text('total-drops')]).toEqual(['240', '31', '9'])
    const chart = document.querySelector('[data-testid="chart-Events per second"]')
    expect(JSON.parse(chart?.getAttribute('data-sums') ?? '{}')).toEqual({ In: 3, Out: 0.4, Dropped: 0.2 })
  })

  it('shows no diagnosis line for a peer without one, and grows with pushed samples of its own link only', async () => {
    const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
    await wrapper.find('[data-testid="traffic-Depot"]').trigger('click')
    await flushPromises()
    expect(document.querySelector('[data-testid="link-diagnosis"]')).toBeNull()
    const chart = (): Element | null => document.querySelector('[data-testid="chart-Events per second"]')
    expect(chart()?.getAttribute('data-points')).toBe('4')
    const sample = (key: string, inPerSecond: number) => ({
      key,
      at: new Date().toISOString(),
      inPerSecond,
      outPerSecond: 0,
      dropsPerSecond: 0
    })
    const health = {
      at: AT,
      eventsInPerSecond: 0,
      eventsOutPerSecond: 0,
      dropsPerSecond: {},
      backlogBytes: 0,
      backlogByNetwork: {},
      rssBytes: 1,
      heapUsedBytes: 1,
      devices: 0,
      peers: 0
    }
    gw.push({ type: 'historySample', health, links: [sample('peer:peer_HQ', 50), sample('peer:peer_Depot', 7)] })
    await flushPromises()
    expect(chart()?.getAttribute('data-points')).toBe('5')
    expect(JSON.parse(chart()?.getAttribute('data-sums') ?? '{}').In).toBe(10)
  })
})
