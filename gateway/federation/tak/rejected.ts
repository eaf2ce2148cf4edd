// The certificates the federation port refused because no peer is registered with their fingerprint (External TAK
// Servers tab). Anyone who reaches the port can show a fresh certificate on every connection, with a subject of up to
// ~100 KB, so the list keeps the newest `max` with their text cut short, and the log sums up strangers once a minute.

import type { RejectedPeerDto } from '../../api/contract.ts'
import { SummarizedLog, type Logger } from '../../log.ts'
import { ownCopy } from '../../routing/byte-budget.ts'
import type { RejectedAttempt } from './server.ts'

/** Refused certificates listed (the newest; one that comes again moves to the front). */
export const MAX_REJECTED = 200
/** Characters kept of a subject or an address: enough to recognize a TAK Server's certificate by its name. */
export const MAX_REJECTED_TEXT = 256

/** A scanner retrying one certificate must not flood the consoles: one event per certificate a second. */
const EMIT_EVERY_MS = 1000

interface Entry {
  dto: RejectedPeerDto
  emittedAt: number
}

export interface RejectedPeersOptions {
  log: Logger
  /** Tell the consoles (event 'rejectedPeer'). */
  emit(peer: RejectedPeerDto): void
  max?: number
  now?: () => number
}

export class RejectedPeers {
  /** Insertion order is the order of last refusal: the first is the oldest. */
  private readonly entries = new Map<string, Entry>()
  private readonly max: number
  private readonly now: () => number
  private readonly newcomers: SummarizedLog

  constructor(private readonly o: RejectedPeersOptions) {
    this.max = Math.max(1, o.max ?? MAX_REJECTED)
    this.now = o.now ?? Date.now
    this.newcomers = new SummarizedLog(o.log, 'TAK federation', 60_000, { verb: 'unknown certificates refused', level: 'warn' })
  }

  get size(): number {
    return this.entries.size
  }

  note(attempt: RejectedAttempt): void {
    const now = this.now()
    const at = new Date(now).toISOString()
    const subject = cut(attempt.subject)
    const address = cut(attempt.address)
    const key = attempt.fingerprint ? cut(attempt.fingerprint) : `(none) ${address}`
    const known = this.entries.get(key)
    const dto: RejectedPeerDto = known
      ? { ...known.dto, subject, address, lastSeen: at, count: known.dto.count + 1 }
      : { fingerprint: cut(attempt.fingerprint), subject, address, firstSeen: at, lastSeen: at, count: 1 }
    const entry: Entry = { dto, emittedAt: known?.emittedAt ?? -Infinity }
    this.entries.delete(key)
    this.entries.set(key, entry)
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!)
    if (now - entry.emittedAt >= EMIT_EVERY_MS) {
      entry.emittedAt = now
      this.o.emit(dto)
    }
    if (!known) this.newcomers.note(`refused a certificate that no peer is registered with (${dto.fingerprint || 'none'}) from ${address}`)
  }

  /** Newest first. */
  list(): RejectedPeerDto[] {
    return [...this.entries.values()].map((e) => e.dto).reverse()
  }
}

/** At most MAX_REJECTED_TEXT characters, copied out of the certificate's text (a slice would keep all of it). */
function cut(text: string): string {
  return text.length > MAX_REJECTED_TEXT ? ownCopy(`${text.slice(0, MAX_REJECTED_TEXT - 1)}…`) : text
}
