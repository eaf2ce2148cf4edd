// Every audited action reads as a sentence: the table in gateway/audit/sentences.ts is walked against every action
// name the gateway's source hands to the audit log, and old entries (no names kept) still read as words.

import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { csvCell } from '../../../gateway/audit/export.ts'
import type { AuditRecord } from '../../../gateway/audit/record.ts'
import { SENTENCES, kindOf, sentenceFor } from '../../../gateway/audit/sentences.ts'

/** Every action name in gateway/: `audit('name', …)` in a method, `action: 'name'` where the log is written directly. */
function auditedActions(): Set<string> {
  const found = new Set<string>()
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(file)
      else if (file.endsWith('.ts')) {
        const text = fs.readFileSync(file, 'utf8')
        for (const m of text.matchAll(/\baudit\(\s*'([A-Za-z]+)'|\baction: '([A-Za-z]+)'/g)) found.add((m[1] ?? m[2])!)
      }
    }
  }
  walk(path.resolve(import.meta.dirname, '../../../gateway'))
  return found
}

const legacy = (action: string, details: Record<string, unknown> = {}, target = 'network Alpha'): AuditRecord => ({
  at: '2026-11-26T10:00:00.000Z',
  actor: 'ops',
  action,
  target,
  organizationId: 'org_1',
  details
})

describe('audit sentences', () => {
  it('every action the gateway audits has a sentence and a kind', () => {
    const actions = auditedActions()
    // The scan itself must work: the gateway audits far more than a handful of actions.
    expect(actions.size).toBeGreaterThan(25)
    const missing = [...actions].filter((a) => !Object.hasOwn(SENTENCES, a))
    expect(missing, `actions with no sentence in gateway/audit/sentences.ts: ${missing.join(', ')}`).toEqual([])
    for (const a of actions) expect(kindOf(a)).not.toBe('other')
  })

  it('an entry written before names were kept still reads as words: no ids, undefined or raw JSON', () => {
    for (const action of Object.keys(SENTENCES)) {
      const text = sentenceFor(legacy(action, { federationId: 'fed_123', networkId: 'net_456' }))
      expect(text, action).not.toMatch(/undefined|\[object|fed_123|net_456|\{/)
      expect(text.startsWith('ops') || text.startsWith('Device') || text.startsWith('The gateway'), `${action}: ${text}`).toBe(true)
    }
  })

  it('names kept with the entry make the sentence; the changed switch is named', () => {
    const record: AuditRecord = {
      ...legacy(
        'updateFederationEnd',
        { federationId: 'f1', incoming: true, outgoing: true, acceptPackages: true, sharePackages: false, changed: ['acceptPackages'] },
        'network Bravo Main'
      ),
      actorName: 'Ops Admin',
      names: { f1: 'Alpha North ↔ Bravo Main' }
    }
    // The network acted on comes first.
    expect(sentenceFor(record)).toBe('Ops Admin turned DP-In on for Bravo Main ↔ Alpha North')
    const old = legacy('updateFederationEnd', {
      federationId: 'f1',
      incoming: true,
      outgoing: false,
      acceptPackages: true,
      sharePackages: false
    })
    expect(sentenceFor(old)).toBe('ops set the switches of Alpha for a federation: In on, Out off, DP-In on, DP-Out off')
  })

  it('an action the table does not know yet reads as words, not a method name', () => {
    expect(sentenceFor(legacy('archiveMission', {}, 'mission Dawn'))).toBe('ops: archive mission (mission Dawn)')
    expect(kindOf('archiveMission')).toBe('other')
  })

  it('CSV cells are quoted and a cell a spreadsheet would run as a formula is kept as text', () => {
    expect(csvCell('plain')).toBe('"plain"')
    expect(csvCell('say "hi", ok')).toBe('"say ""hi"", ok"')
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"')
    for (const bad of ['=SUM(A1)', '+1', '-2+3', '@cmd', '\t=1', '\r=1']) expect(csvCell(bad)).toBe(`"'${bad}"`)
  })
})
