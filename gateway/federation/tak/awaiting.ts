// Packages a TAK federate announced without their bytes, remembered until the bytes come (then devices are told of
// the package with the announcement's details). A peer can announce any number of hashes with details of up to a
// ROL program each (256 KiB), so the list is capped by count and age and charged to the gateway-wide cache budget
// (Memory:CacheBytes); past any of them the oldest announcement is forgotten, and so is its "never came" warning.

import { ByteBudget, ENTRY_OVERHEAD_BYTES, ownCopy } from '../../routing/byte-budget.ts'
import type { RolPackageDetails } from './rol.ts'

const MAX_AWAITING = 1000
const AWAITING_MAX_AGE_MS = 600_000

export interface Awaiting {
  networkId: string
  details: RolPackageDetails
  at: number
}

interface Entry extends Awaiting {
  timer: NodeJS.Timeout | null
}

export class AwaitingBytes {
  /** By hash; insertion order is arrival order, so the oldest (and any too old) are at the front. */
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly budget: ByteBudget = new ByteBudget(),
    private readonly max = MAX_AWAITING,
    private readonly maxAgeMs = AWAITING_MAX_AGE_MS,
    private readonly now: () => number = Date.now
  ) {}

  get size(): number {
    return this.entries.size
  }

  /**
   * Remember an announcement of `details.sha256` on `networkId` (a newer one replaces it); `overdue` runs after
   * `warnAfterMs` unless the bytes came (take()) or the entry was forgotten first.
   */
  remember(networkId: string, details: RolPackageDetails, warnAfterMs: number, overdue: (entry: Awaiting) => void): void {
    const now = this.now()
    this.forget(details.sha256)
    for (const [hash, old] of this.entries) {
      if (now - old.at <= this.maxAgeMs && this.entries.size < this.max) break
      this.forget(hash)
    }
    const kept = copyDetails(details)
    const entry: Entry = { networkId, details: kept, at: now, timer: null }
    entry.timer = setTimeout(() => {
      entry.timer = null
      if (this.entries.get(kept.sha256) === entry) overdue(entry)
    }, warnAfterMs)
    entry.timer.unref()
    this.entries.set(kept.sha256, entry)
    this.budget.charge(entry, detailsBytes(kept), () => this.drop(kept.sha256, entry))
  }

  /** The bytes of `sha256` arrived on `networkId`: the announcement, if one waited there (and it is forgotten). */
  take(sha256: string, networkId: string): Awaiting | null {
    const entry = this.entries.get(sha256)
    if (!entry || entry.networkId !== networkId) return null
    this.forget(sha256)
    return entry
  }

  private forget(sha256: string): void {
    const entry = this.entries.get(sha256)
    if (!entry) return
    this.budget.release(entry)
    this.drop(sha256, entry)
  }

  private drop(sha256: string, entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer)
    entry.timer = null
    if (this.entries.get(sha256) === entry) this.entries.delete(sha256)
  }
}

/** The details with strings of their own (a peer's fields are cut from its whole ROL program). */
function copyDetails(d: RolPackageDetails): RolPackageDetails {
  return {
    ...d,
    sha256: ownCopy(d.sha256),
    name: ownCopy(d.name),
    filename: ownCopy(d.filename),
    senderUrl: ownCopy(d.senderUrl),
    senderCallsign: ownCopy(d.senderCallsign),
    dest: { callsigns: d.dest.callsigns.map(ownCopy), uids: d.dest.uids.map(ownCopy) }
  }
}

/** Two bytes a character, plus an entry's overhead and a slot per destination. */
function detailsBytes(d: RolPackageDetails): number {
  let chars = d.sha256.length + d.name.length + d.filename.length + d.senderUrl.length + d.senderCallsign.length
  for (const s of d.dest.callsigns) chars += s.length
  for (const s of d.dest.uids) chars += s.length
  return 2 * chars + ENTRY_OVERHEAD_BYTES + 16 * (d.dest.callsigns.length + d.dest.uids.length)
}
