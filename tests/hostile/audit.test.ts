// Issue 17, the audit log under load: the listing reads audit.ndjson from its end a page at a time, so a log of
// hundreds of thousands of lines (and a line far too long to be ours) costs each call a bounded read, a huge limit
// is refused, and an export stops at its entry cap instead of building the whole log in memory.

import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AUDIT_SCAN_BUDGET } from '../../gateway/audit/audit.ts'
import { EXPORT_MAX_ENTRIES, EXPORT_MAX_SCAN_BYTES } from '../../gateway/audit/export.ts'
import { startTestGateway, TEST_ADMIN_PASSWORD, type TestGateway } from '../support/gateway.ts'

const LINES = 300_000

describe('a flooded audit log', () => {
  let t: TestGateway
  let dataDir: string
  let admin: string
  let fileBytes = 0

  beforeAll(async () => {
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-audit-flood-'))
    const file = path.join(dataDir, 'audit.ndjson')
    const out = fs.createWriteStream(file)
    const line = (i: number): string =>
      `${JSON.stringify({
        at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
        actor: 'flooder',
        action: 'createNetwork',
        target: `network Flood ${i}`,
        organizationId: null,
        details: { filler: 'x'.repeat(150) }
      })}\n`
    for (let i = 0; i < LINES; i++) {
      // A torn, oversized line in the middle: skipped, never held whole.
      if (i === LINES / 2) out.write(`{"torn":"${'y'.repeat(1024 * 1024)}\n`)
      if (!out.write(line(i))) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
    }
    await new Promise<void>((resolve) => out.end(() => resolve()))
    fileBytes = fs.statSync(file).size
    t = await startTestGateway({ dataDir })
    admin = await t.loginAs('admin', TEST_ADMIN_PASSWORD)
  }, 120_000)
  afterAll(async () => {
    await t?.stop()
    await fsp.rm(dataDir, { recursive: true, force: true })
  })

  it('refuses a huge limit', async () => {
    for (const limit of [501, 1_000_000_000, -1]) {
      const r = await t.call('listAuditLog', { limit }, admin)
      expect(r.ok === false && r.error.code).toBe('invalid')
    }
  })

  it('a filter that matches nothing answers after a bounded read, with a cursor to go on', async () => {
    expect(fileBytes).toBeGreaterThan(4 * AUDIT_SCAN_BUDGET)
    const started = Date.now()
    const page = await t.ok('listAuditLog', { who: 'nobody at all', limit: 500 }, admin)
    expect(page.entries).toEqual([])
    // Not the whole file: the page stopped at its budget and says where to go on.
    expect(Number(page.nextCursor)).toBeGreaterThan(fileBytes - AUDIT_SCAN_BUDGET - 256 * 1024)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('pages of the newest entries come at once, and the oldest are reachable past the torn line', async () => {
    const newest = await t.ok('listAuditLog', { limit: 500 }, admin)
    expect(newest.entries).toHaveLength(500)
    expect(newest.entries[1]!.target).toBe(`network Flood ${LINES - 1}`)
    // Each call reads at most its budget; following the cursors walks back to the first line.
    const found: string[] = []
    let cursor: string | undefined
    let calls = 0
    do {
      const page = await t.ok('listAuditLog', { to: '2026-01-01T00:00:04.000Z', limit: 500, ...(cursor ? { cursor } : {}) }, admin)
      found.push(...page.entries.map((e) => e.target))
      cursor = page.nextCursor ?? undefined
      calls++
    } while (cursor && calls < 100)
    expect(found).toEqual([4, 3, 2, 1, 0].map((i) => `network Flood ${i}`))
    expect(calls).toBeGreaterThan(fileBytes / AUDIT_SCAN_BUDGET - 1)
  })

  it('an export of everything stops at its cap and says so', async () => {
    const before = process.memoryUsage().heapUsed
    const file = await t.ok('exportAuditLog', { format: 'ndjson' }, admin)
    expect(file.count).toBe(EXPORT_MAX_ENTRIES)
    expect(file.truncated).toBe(true)
    expect(file.text.split('\n').length - 1).toBe(EXPORT_MAX_ENTRIES)
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 1_048_576)
  })

  it('an export whose filter matches nothing reads a bounded part of the log and says it stopped', async () => {
    expect(fileBytes).toBeGreaterThan(EXPORT_MAX_SCAN_BYTES)
    const file = await t.ok('exportAuditLog', { format: 'csv', who: 'nobody at all' }, admin)
    expect(file).toMatchObject({ count: 0, truncated: true })
    expect(file.text.split('\r\n')[0]).toContain('When (UTC)')
  })
})
