// @vitest-environment happy-dom
// Audit log and Health pages follow pushed events (auditAppended, health) without polling, and the audit view of
// one organization leaves out lines of another.

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntryDto, HealthDto } from '../../gateway/api/contract.ts'
import AuditPage from '../../renderer/src/pages/AuditPage.vue'
import HealthPage from '../../renderer/src/pages/HealthPage.vue'
import { useOrganizationsStore } from '../../renderer/src/stores/organizations.ts'
import { useSessionStore } from '../../renderer/src/stores/session.ts'
import { fakeGateway, mountWithVuetify, unmountAll, type FakeGateway } from './fake-gateway.ts'

const AT = '2026-11-26T10:00:00.000Z'
const ORG = 'org_recon'

const entry = (action: string, target: string, organizationId: string | null, at = AT): AuditEntryDto => ({
  id: at,
  at,
  actor: 'lead',
  who: 'Lead',
  action,
  kind: 'other',
  sentence: `Lead: ${action} (${target})`,
  target,
  organizationId,
  details: {},
  names: {}
})

const health = (overrides: Partial<HealthDto> = {}): HealthDto => ({
  uptimeSeconds: 65,
  rssBytes: 120 * 1_048_576,
  heapUsedBytes: 30 * 1_048_576,
  connections: { devices: 0, peers: 0 },
  eventsInPerSecond: 0,
  eventsOutPerSecond: 0,
  dropsByReason: {},
  queueDepths: [],
  staleOnArrival: 0,
  laptopClockOffsetSeconds: null,
  ...overrides
})

let gw: FakeGateway

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
  // An organization admin, not a deployment admin: the audit page shows this organization only.
  useSessionStore().me = {
    user: {
      id: 'u1',
      username: 'lead',
      displayName: 'Lead',
      deploymentAdmin: false,
      memberships: [{ organizationId: ORG, admin: true }],
      createdAt: AT
    },
    networkPermissions: {},
    adminOf: [ORG]
  }
  const organizations = useOrganizationsStore()
  organizations.list = [{ id: ORG, name: '2-5 Recon', plan: 'team', tokenLimit: 5, tokensUsed: 0, createdAt: AT }]
  organizations.select(ORG)
  gw = fakeGateway({
    listAuditLog: () => ({ entries: [entry('createNetwork', 'network Alpha', ORG)], nextCursor: null }),
    getHealth: () => health()
  })
})

afterEach(unmountAll)

describe('Audit log page', () => {
  it('new lines arrive live, newest first; another organization’s lines stay out', async () => {
    const wrapper = await mountWithVuetify(AuditPage)
    const rows = (): string[] => wrapper.findAll('[data-testid="audit-row"]').map((r) => r.text())
    expect(rows()).toHaveLength(1)
    const calls = gw.calls.length
    gw.push({ type: 'auditAppended', entry: entry('enrollDevice', 'device VIPER-1', ORG, '2026-11-26T10:05:00.000Z') })
    gw.push({ type: 'auditAppended', entry: entry('createNetwork', 'network Secret', 'org_other', '2026-11-26T10:06:00.000Z') })
    await flushPromises()
    expect(rows()).toHaveLength(2)
    expect(rows()[0]).toContain('enrollDevice')
    expect(rows()[0]).toContain('device VIPER-1')
    expect(rows().join(' ')).not.toContain('Secret')
    expect(gw.calls.length).toBe(calls)
  })
})

describe('Health page', () => {
  it('tiles and drops follow health events', async () => {
    const wrapper = await mountWithVuetify(HealthPage)
    expect(wrapper.find('[data-testid="health-Devices connected"]').text()).toContain('0')
    expect(wrapper.text()).toContain('No events dropped.')
    gw.push({
      type: 'health',
      health: health({ connections: { devices: 5, peers: 1 }, eventsInPerSecond: 40, dropsByReason: { queueFull: 12 } })
    })
    await flushPromises()
    expect(wrapper.find('[data-testid="health-Devices connected"]').text()).toContain('5')
    expect(wrapper.find('[data-testid="health-TAK Servers connected"]').text()).toContain('1')
    expect(wrapper.text()).toContain('queueFull')
    expect(wrapper.text()).toContain('12')
    expect(gw.count('getHealth')).toBe(1)
  })
})
