// The audit log as a file an operator takes away: CSV for a spreadsheet, NDJSON for tools. Bounded in entries and
// bytes, since it is built in memory and handed over as one answer.

import type { AuditEntryDto } from '../api/contract.ts'
import { AUDIT_KIND_LABELS, type AuditKind } from '../api/audit-words.ts'
import type { AuditLog, AuditQuery } from './audit.ts'

export const EXPORT_MAX_ENTRIES = 10_000
export const EXPORT_MAX_BYTES = 16 * 1024 * 1024
/** Bytes of the log one export may read : a filter matching little of a huge log ends here. */
export const EXPORT_MAX_SCAN_BYTES = 32 * 1024 * 1024

/**
 * One CSV cell: always quoted, quotes doubled. A cell a spreadsheet would run as a formula (= + - @, or a tab or
 * carriage return before one) gets a leading apostrophe, so a name like "=HYPERLINK(…)" stays text.
 */
export function csvCell(value: string): string {
  const guarded = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return `"${guarded.replace(/"/g, '""')}"`
}

const CSV_HEADER = ['When (UTC)', 'Who', 'What', 'Change', 'Organization', 'Details']

function csvLine(e: AuditEntryDto): string {
  const org = e.organizationId === null ? '' : (e.names[e.organizationId] ?? e.organizationId)
  const cells = [e.at, e.who, AUDIT_KIND_LABELS[e.kind as AuditKind] ?? e.kind, e.sentence, org, JSON.stringify(e.details)]
  return `${cells.map(csvCell).join(',')}\r\n`
}

export interface AuditExport {
  filename: string
  mimeType: string
  text: string
  count: number
  truncated: boolean
}

export async function exportAudit(
  log: AuditLog,
  query: Omit<AuditQuery, 'limit' | 'cursor'>,
  format: 'csv' | 'ndjson'
): Promise<AuditExport> {
  const parts: string[] = format === 'csv' ? [`${CSV_HEADER.map(csvCell).join(',')}\r\n`] : []
  let bytes = 0
  let count = 0
  let cursor: string | undefined
  let truncated = false
  const top = log.bytes
  do {
    const page = await log.page({ ...query, limit: 500, cursor })
    for (const entry of page.entries) {
      const line = format === 'csv' ? csvLine(entry) : `${JSON.stringify(entry)}\n`
      if (count >= EXPORT_MAX_ENTRIES || bytes + line.length > EXPORT_MAX_BYTES) {
        truncated = true
        break
      }
      parts.push(line)
      bytes += line.length
      count++
    }
    cursor = page.nextCursor ?? undefined
    // Older entries remain unread: the file says so rather than pretending to be the whole log.
    if (cursor !== undefined && top - Number(cursor) >= EXPORT_MAX_SCAN_BYTES) truncated = true
  } while (cursor !== undefined && !truncated)
  const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, '-')
  return {
    filename: `fedgate-audit-${stamp}.${format}`,
    mimeType: format === 'csv' ? 'text/csv' : 'application/x-ndjson',
    text: parts.join(''),
    count,
    truncated
  }
}
