// @vitest-environment happy-dom
// The audit page (issue 17): sentences, not method names; details behind an expander; paging and filters asked of
// the gateway; exports handed to the browser as a download of the filtered set; live lines on the newest page only.

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { AuditEntryDto } from '../../gateway/api/contract.ts'
import AuditPage from '../../renderer/src/pages/AuditPage.vue'
import { useAuditStore } from '../../renderer/src/stores/audit.ts'
import { useSessionStore } from '../../renderer/src/stores/session.ts'
import { fakeGateway, mountWithVuetify, unmountAll } from './fake-gateway.ts'

const entry = (i: number): AuditEntryDto => ({
  id: String(1000 - i),
  at: new Date(Date.UTC(2026, 10, 26, 10, 0, 0) - i * 60_000).toISOString(),
  actor: 'ops',
  who: 'Ops Admin',
  action: 'updateFederationEnd',
  kind: 'toggles',
  sentence: `Ops Admin turned DP-In on for Alpha North ↔ Bravo Main #${i}`,
  target: 'network Alpha North',
  organizationId: 'org_a',
  details: { federationId: 'fed_1', acceptPackages: true, networkId: 'net_gone' },
  names: { fed_1: 'Alpha North ↔ Bravo Main', net_gone: 'Alpha North' }
})
const LOG = Array.from({ length: 120 }, (_, i) => entry(i))

let listArgs: Record<string, unknown>[]
let exportArgs: Record<string, unknown>[]

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
  useSessionStore().me = {
    user: { id: 'u1', username: 'ops', displayName: 'Ops Admin', deploymentAdmin: true, memberships: [], createdAt: LOG[0]!.at },
    networkPermissions: {},
    adminOf: []
  }
  listArgs = []
  exportArgs = []
  fakeGateway({
    listAuditLog: (args) => {
      const a = (args ?? {}) as { limit: number; cursor?: string; what?: string }
      listArgs.push(a)
      const start = a.cursor ? Number(a.cursor) : 0
      const end = start + a.limit
      return { entries: LOG.slice(start, end), nextCursor: end < LOG.length ? String(end) : null }
    },
    exportAuditLog: (args) => {
      exportArgs.push(args as Record<string, unknown>)
      return { filename: 'fedgate-audit.csv', mimeType: 'text/csv', text: '"When (UTC)"\r\n"=x"\r\n', count: 1, truncated: false }
    }
  })
})
afterEach(unmountAll)

describe('Audit page', () => {
  it('reads as sentences, pages through the gateway, and keeps details behind an expander', async () => {
    const wrapper = await mountWithVuetify(AuditPage)
    await flushPromises()
    const sentences = (): string[] => wrapper.findAll('[data-testid="audit-sentence"]').map((r) => r.text())
    expect(sentences()).toHaveLength(50)
    expect(sentences()[0]).toBe('Ops Admin turned DP-In on for Alpha North ↔ Bravo Main #0')
    expect(wrapper.text()).not.toContain('updateFederationEnd')
    expect(wrapper.text()).not.toContain('fed_1')
    expect(wrapper.find('[data-testid="audit-page"]').text()).toBe('Page 1')

    await wrapper.findAll('[data-testid="audit-expand"]')[0]!.trigger('click')
    const details = wrapper.find('[data-testid="audit-details"]')
    expect(details.text()).toContain('federationId: Alpha North ↔ Bravo Main')
    expect(details.text()).toContain('networkId: Alpha North')
    expect(details.text()).toContain('"federationId": "fed_1"')

    await wrapper.find('[data-testid="audit-older"]').trigger('click')
    await flushPromises()
    expect(listArgs.at(-1)).toMatchObject({ cursor: '50', limit: 50 })
    expect(sentences()[0]).toContain('#50')
    expect(wrapper.find('[data-testid="audit-page"]').text()).toBe('Page 2')
    expect(wrapper.find('[data-testid="audit-details"]').exists()).toBe(false)
    await wrapper.find('[data-testid="audit-older"]').trigger('click')
    await flushPromises()
    expect(sentences()).toHaveLength(20)
    expect(wrapper.find('[data-testid="audit-older"]').attributes('disabled')).toBeDefined()
    await wrapper.find('[data-testid="audit-newer"]').trigger('click')
    await flushPromises()
    expect(sentences()[0]).toContain('#50')
    await wrapper.find('[data-testid="audit-newer"]').trigger('click')
    await flushPromises()
    expect(sentences()[0]).toContain('#0')
  })

  it('asks the gateway with the filters, and exports that filtered set as a download', async () => {
    const wrapper = await mountWithVuetify(AuditPage)
    await flushPromises()
    await wrapper.find('[data-testid="audit-who"] input').setValue('ops admin')
    await new Promise((resolve) => setTimeout(resolve, 400))
    await flushPromises()
    expect(listArgs.at(-1)).toMatchObject({ who: 'ops admin' })
    useAuditStore().filters.what = 'toggles'
    useAuditStore().filters.fromDay = '2026-11-20'
    await flushPromises()
    expect(listArgs.at(-1)).toMatchObject({ who: 'ops admin', what: 'toggles', from: new Date('2026-11-20T00:00:00').toISOString() })

    const blobs: Blob[] = []
    const create = vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => {
      blobs.push(blob as Blob)
      return 'blob:audit'
    })
    await wrapper.find('[data-testid="audit-export-csv"]').trigger('click')
    await flushPromises()
    create.mockRestore()
    expect(exportArgs).toEqual([{ format: 'csv', who: 'ops admin', what: 'toggles', from: new Date('2026-11-20T00:00:00').toISOString() }])
    expect(blobs).toHaveLength(1)
    expect(await blobs[0]!.text()).toBe('"When (UTC)"\r\n"=x"\r\n')
  })

  it('a new line pushed live joins the newest page when it matches the filters, never an older page', async () => {
    const gw = fakeGateway({
      listAuditLog: (args) => {
        const a = (args ?? {}) as { limit: number; cursor?: string }
        const start = a.cursor ? Number(a.cursor) : 0
        return { entries: LOG.slice(start, start + a.limit), nextCursor: start + a.limit < LOG.length ? String(start + a.limit) : null }
      }
    })
    const wrapper = await mountWithVuetify(AuditPage)
    await flushPromises()
    const first = (): string => wrapper.find('[data-testid="audit-sentence"]').text()
    const fresh = (sentence: string, kind: string): AuditEntryDto => ({
      ...entry(0),
      id: sentence,
      at: new Date().toISOString(),
      kind,
      sentence
    })
    gw.push({ type: 'auditAppended', entry: fresh('Ops Admin created network Fresh', 'networks') })
    await flushPromises()
    expect(first()).toBe('Ops Admin created network Fresh')
    useAuditStore().filters.what = 'toggles'
    await flushPromises()
    gw.push({ type: 'auditAppended', entry: fresh('Ops Admin created network Filtered', 'networks') })
    await flushPromises()
    expect(wrapper.text()).not.toContain('Filtered')
    await wrapper.find('[data-testid="audit-older"]').trigger('click')
    await flushPromises()
    gw.push({ type: 'auditAppended', entry: fresh('Ops Admin turned Out off for Late', 'toggles') })
    await flushPromises()
    expect(wrapper.text()).not.toContain('for Late')
  })
})
