// Append-only audit log (audit.ndjson): one JSON line per change an operator makes through the contract, with the
// names of what it touched as they were then. Read back a page at a time, newest first, straight from the file.

import fs from 'node:fs'
import type { AuditKind } from '../api/audit-words.ts'
import type { AuditEntryDto } from '../api/contract.ts'
import type { EventBus } from '../events.ts'
import type { DbDocument } from '../store/schema.ts'
import { readBackwards } from './reader.ts'
import { namesAtTheTime, type AuditRecord } from './record.ts'
import { kindOf, sentenceFor } from './sentences.ts'

export type { AuditRecord } from './record.ts'

/** Bytes of the file one page may read: a filter that matches nothing answers within this, with a cursor. */
export const AUDIT_SCAN_BUDGET = 8 * 1024 * 1024

export interface AuditQuery {
  limit: number
  /** From a previous page's `nextCursor`: where the older entries end. */
  cursor?: string
  /** Part of the actor's user name or display name, any case. */
  who?: string
  what?: AuditKind
  /** ISO times, inclusive. */
  from?: string
  to?: string
  /** Only this organization's entries; undefined: all, null: the deployment's own. */
  organizationId?: string | null
  scanBudget?: number
}

export interface AuditPage {
  entries: AuditEntryDto[]
  nextCursor: string | null
}

export class AuditLog {
  private readonly fd: number
  private size: number

  constructor(
    readonly file: string,
    private readonly events: EventBus,
    /** The store as it is now, for the names an entry keeps; absent in tests of the log alone. */
    private readonly names: () => Readonly<DbDocument> | null = () => null
  ) {
    this.fd = fs.openSync(file, 'a', 0o600)
    this.size = fs.fstatSync(this.fd).size
  }

  append(entry: Omit<AuditRecord, 'at' | 'actorName' | 'names'>): AuditEntryDto {
    const base: AuditRecord = { at: new Date().toISOString(), ...entry }
    const doc = this.names()
    const full: AuditRecord = doc ? { ...base, ...namesAtTheTime(doc as DbDocument, base) } : base
    const line = `${JSON.stringify(full)}\n`
    // Synchronous append: the line is in the file before the call that made the change answers.
    fs.writeSync(this.fd, line)
    const dto = toDto(full, this.size)
    this.size += Buffer.byteLength(line)
    this.events.emit({ type: 'auditAppended', entry: dto })
    return dto
  }

  /** The log's length in bytes: where the newest page starts reading. */
  get bytes(): number {
    return this.size
  }

  /** One page, newest first. */
  async page(query: AuditQuery): Promise<AuditPage> {
    const end = query.cursor === undefined ? this.size : Math.min(Number(query.cursor), this.size)
    const who = query.who?.trim().toLowerCase()
    const keep = (r: AuditRecord): boolean =>
      (query.organizationId === undefined || r.organizationId === query.organizationId) &&
      (query.to === undefined || r.at <= query.to) &&
      (query.what === undefined || kindOf(r.action) === query.what) &&
      (!who || `${r.actor}\n${r.actorName ?? ''}`.toLowerCase().includes(who))
    const { found, next } = await readBackwards(this.file, {
      end,
      limit: query.limit,
      scanBudget: query.scanBudget ?? AUDIT_SCAN_BUDGET,
      keep,
      from: query.from
    })
    return { entries: found.map((f) => toDto(f.record, f.offset)), nextCursor: next === null || next <= 0 ? null : String(next) }
  }

  close(): void {
    fs.closeSync(this.fd)
  }
}

/** The entry as the console gets it: its sentence and kind, who in words, and an id (its place in the file). */
export function toDto(r: AuditRecord, offset: number): AuditEntryDto {
  return {
    id: String(offset),
    at: r.at,
    actor: r.actor,
    who: r.actor === 'system' ? 'The gateway' : (r.actorName ?? r.actor),
    action: r.action,
    kind: kindOf(r.action),
    sentence: sentenceFor(r),
    target: r.target,
    organizationId: r.organizationId ?? null,
    details: r.details ?? {},
    names: r.names ?? {}
  }
}
