// The audit listing over a real gateway: names kept at the time survive a rename and a delete, pages join up with
// no gap or repeat, filters by who / what / when work on the gateway, permissions stay the house's, and both exports
// hold the filtered set.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEntryDto } from '../../../gateway/api/contract.ts'
import { startTestGateway, TEST_ADMIN_PASSWORD, type TestGateway } from '../../support/gateway.ts'

describe('audit listing, paging, filters and export', () => {
  let t: TestGateway
  let admin: string
  let ops: string
  let lead: string
  const ids: Record<string, string> = {}

  beforeAll(async () => {
    t = await startTestGateway()
    admin = await t.loginAs('admin', TEST_ADMIN_PASSWORD)
    await t.ok('createUser', { username: 'ops', password: TEST_ADMIN_PASSWORD, displayName: 'Ops Admin', deploymentAdmin: true }, admin)
    ops = await t.loginAs('ops', TEST_ADMIN_PASSWORD)
    ids.alpha = (await t.ok('createOrganization', { name: '=Alpha Recon', plan: 'team' }, ops)).id
    ids.bravo = (await t.ok('createOrganization', { name: 'Bravo Logistics', plan: 'team' }, ops)).id
    ids.north = (await t.ok('createNetwork', { organizationId: ids.alpha, name: 'Alpha North' }, ops)).id
    ids.main = (await t.ok('createNetwork', { organizationId: ids.alpha, name: 'Bravo Main' }, ops)).id
    await t.ok('createNetwork', { organizationId: ids.bravo, name: 'Bravo Depot' }, ops)
    const f = await t.ok('federateWithinOrganization', { networkId: ids.north, otherNetworkId: ids.main }, ops)
    await t.ok('updateFederationEnd', { federationId: f.id, networkId: ids.north, acceptPackages: true }, ops)
    await t.ok(
      'createUser',
      { username: 'lead', password: TEST_ADMIN_PASSWORD, displayName: 'Alpha Lead', organizationId: ids.alpha, organizationAdmin: true },
      ops
    )
    lead = await t.loginAs('lead', TEST_ADMIN_PASSWORD)
    // Renamed and deleted afterwards: the entries written before keep the names of their time.
    await t.ok('renameNetwork', { id: ids.main, name: 'Bravo Renamed' }, ops)
    await t.ok('deleteNetwork', { id: ids.north }, ops)
    for (let i = 0; i < 7; i++) await t.ok('createNetwork', { organizationId: ids.alpha, name: `Spare ${i}` }, lead)
  })
  afterAll(async () => t?.stop())

  const all = async (args: Record<string, unknown>, token = ops): Promise<AuditEntryDto[]> =>
    (await t.ok('listAuditLog', { ...args, limit: 500 }, token)).entries

  it('says what happened with the names of the time, after a rename and a delete', async () => {
    const sentences = (await all({})).map((e) => e.sentence)
    expect(sentences).toContain('Ops Admin turned DP-In on for Alpha North ↔ Bravo Main')
    expect(sentences).toContain('Ops Admin federated Alpha North ↔ Bravo Main')
    expect(sentences).toContain('Ops Admin renamed network Bravo Main to Bravo Renamed')
    expect(sentences).toContain('Ops Admin created user lead as an administrator of =Alpha Recon')
    expect(sentences).toContain('Alpha Lead created network Spare 6')
    expect(sentences.join('\n')).not.toMatch(/updateFederationEnd|federationId|\{/)
  })

  it('pages join up newest first, with no gap and no repeat', async () => {
    const whole = await all({})
    const paged: AuditEntryDto[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await t.ok('listAuditLog', { limit: 3, ...(cursor ? { cursor } : {}) }, ops)
      expect(page.entries.length).toBeLessThanOrEqual(3)
      paged.push(...page.entries)
      cursor = page.nextCursor ?? undefined
      pages++
    } while (cursor)
    expect(pages).toBeGreaterThan(5)
    expect(paged.map((e) => e.id)).toEqual(whole.map((e) => e.id))
    const times = paged.map((e) => e.at)
    expect([...times].sort().reverse()).toEqual(times)
  })

  it('filters by who, by what (in words) and by when', async () => {
    const byLead = await all({ who: 'alpha lead' })
    expect(byLead).toHaveLength(7)
    expect(byLead.every((e) => e.actor === 'lead')).toBe(true)
    expect((await all({ who: 'OPS' })).every((e) => e.actor === 'ops')).toBe(true)
    const toggles = await all({ what: 'toggles' })
    expect(toggles.map((e) => e.action)).toEqual(['updateFederationEnd'])
    const whole = await all({})
    const middle = whole[5]!.at
    const from = await all({ from: middle })
    expect(from.length).toBeGreaterThan(0)
    expect(from.every((e) => e.at >= middle)).toBe(true)
    const to = await all({ to: middle })
    expect(to.every((e) => e.at <= middle)).toBe(true)
    expect(from.length + to.length).toBeGreaterThanOrEqual(whole.length)
    expect(await all({ from: '2999-01-01T00:00:00.000Z' })).toEqual([])
    expect((await t.call('listAuditLog', { limit: 5001 }, ops)).ok).toBe(false)
    expect((await t.call('listAuditLog', { what: 'everything' }, ops)).ok).toBe(false)
  })

  it('an organization admin reads their organization only, as before', async () => {
    const own = await all({ organizationId: ids.alpha }, lead)
    expect(own.length).toBeGreaterThan(7)
    expect(own.every((e) => e.organizationId === ids.alpha)).toBe(true)
    const denied = await t.call('listAuditLog', {}, lead)
    expect(denied.ok === false && denied.error.code).toBe('forbidden')
    const other = await t.call('exportAuditLog', { format: 'csv', organizationId: ids.bravo }, lead)
    expect(other.ok === false && other.error.code).toBe('forbidden')
  })

  it('exports the filtered set as CSV (quoted, formula-guarded) and NDJSON', async () => {
    const csv = await t.ok('exportAuditLog', { format: 'csv', organizationId: ids.alpha }, ops)
    const own = await all({ organizationId: ids.alpha })
    expect(csv).toMatchObject({ mimeType: 'text/csv', count: own.length, truncated: false })
    expect(csv.filename).toMatch(/^fedgate-audit-.*\.csv$/)
    const lines = csv.text.trimEnd().split('\r\n')
    expect(lines[0]).toBe('"When (UTC)","Who","What","Change","Organization","Details"')
    expect(lines).toHaveLength(own.length + 1)
    expect(csv.text).toContain(
      '"Ops Admin","Federation switches (In, Out, DP-In, DP-Out)","Ops Admin turned DP-In on for Alpha North ↔ Bravo Main"'
    )
    // The organization named "=Alpha Recon" would run as a formula in a spreadsheet: it is kept as text.
    expect(csv.text).toContain(`"'=Alpha Recon"`)
    expect(csv.text).not.toMatch(/(^|,)"=/m)
    const nd = await t.ok('exportAuditLog', { format: 'ndjson', who: 'lead' }, ops)
    const rows = nd.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntryDto)
    expect(nd.count).toBe(rows.length)
    expect(rows.map((r) => r.sentence)).toEqual(expect.arrayContaining(['Alpha Lead created network Spare 0']))
    expect(rows.every((r) => r.actor === 'lead')).toBe(true)
  })
})
