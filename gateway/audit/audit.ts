// Append-only audit log (audit.ndjson): one JSON line per change an operator makes through the contract.

import fs from 'node:fs'
import type { AuditEntryDto } from '../api/contract.ts'
import type { EventBus } from '../events.ts'

export class AuditLog {
  private readonly recent: AuditEntryDto[] = []
  private readonly fd: number

  constructor(
    readonly file: string,
    private readonly events: EventBus,
    private readonly keepInMemory = 5000
  ) {
    this.fd = fs.openSync(file, 'a', 0o600)
    this.loadTail()
  }

  append(entry: Omit<AuditEntryDto, 'at'>): AuditEntryDto {
    const full: AuditEntryDto = { at: new Date().toISOString(), ...entry }
    // Synchronous append: the line is in the file before the call that made the change answers.
    fs.writeSync(this.fd, `${JSON.stringify(full)}\n`)
    this.recent.push(full)
    if (this.recent.length > this.keepInMemory) this.recent.splice(0, this.recent.length - this.keepInMemory)
    this.events.emit({ type: 'auditAppended', entry: full })
    return full
  }

  /** Newest first. */
  list(filter: { organizationId?: string | null; limit?: number } = {}): AuditEntryDto[] {
    const limit = filter.limit ?? 200
    const out: AuditEntryDto[] = []
    for (let i = this.recent.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.recent[i]!
      if (filter.organizationId !== undefined && e.organizationId !== filter.organizationId) continue
      out.push(e)
    }
    return out
  }

  close(): void {
    fs.closeSync(this.fd)
  }

  private loadTail(): void {
    let text = ''
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch {
      return
    }
    const lines = text.split('\n')
    for (const line of lines.slice(-this.keepInMemory - 1)) {
      if (!line.trim()) continue
      try {
        this.recent.push(JSON.parse(line) as AuditEntryDto)
      } catch {
        // A torn last line after a crash: skip it, keep the rest.
      }
    }
  }
}
