// One byte budget for every cache that remote input grows (latest positions, a TAK federate's contacts): a device that
// sends 1 MiB position reports under fresh uids must not be able to hold more than this, whatever the count caps say.
// Entries are charged in order of arrival; past the budget the oldest entries, in any cache, are evicted first.

import type { CotEvent } from '../cot/event.ts'

/** Default for Memory:CacheBytes. 64 MiB holds 100,000 ordinary position reports (~600 bytes) with room to spare. */
const DEFAULT_CACHE_BYTES = 64 * 1_048_576

/** Rough cost of a cache entry beyond its payload (map slot, object, key). */
export const ENTRY_OVERHEAD_BYTES = 200

interface Charge {
  bytes: number
  evict: () => void
}

export class ByteBudget {
  /** Insertion order is arrival order: the first entry is the oldest. */
  private readonly charges = new Map<object, Charge>()
  private total = 0
  private evictedCount = 0

  /** `limit` is read on each charge, so a settings change applies to the next one. */
  constructor(private readonly limit: () => number = () => DEFAULT_CACHE_BYTES) {}

  /**
   * Charge `bytes` for `token` (an entry object of the caller's cache), as the newest; `evict` must remove that entry
   * from its cache (it is not called for a token released first). Charging a token again replaces its charge.
   */
  charge(token: object, bytes: number, evict: () => void): void {
    this.release(token)
    this.charges.set(token, { bytes, evict })
    this.total += bytes
    const limit = this.limit()
    for (const [oldest, charge] of this.charges) {
      if (this.total <= limit) break
      this.charges.delete(oldest)
      this.total -= charge.bytes
      this.evictedCount++
      charge.evict()
    }
  }

  /** The entry left its cache by other means (replaced, stale, forgotten). */
  release(token: object): void {
    const charge = this.charges.get(token)
    if (!charge) return
    this.charges.delete(token)
    this.total -= charge.bytes
  }

  get bytes(): number {
    return this.total
  }

  get entries(): number {
    return this.charges.size
  }

  /** Entries evicted to keep within the budget since start. */
  get evicted(): number {
    return this.evictedCount
  }

  get limitBytes(): number {
    return this.limit()
  }
}

/** What a cached CoT event holds: its wire bytes, its detail text and header strings. */
export function cotEventBytes(event: CotEvent): number {
  return (
    event.xml.length + event.detailXml.length + event.uid.length + event.type.length + (event.callsign?.length ?? 0) + ENTRY_OVERHEAD_BYTES
  )
}

/**
 * A copy of `text` that holds only its own characters. V8 may keep a slice of a string as a view into the whole (a
 * uid cut from a 1 MiB event keeps the event), so what a cache keeps of input, and charges for, is copied out first.
 */
export function ownCopy(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf16le').toString('utf16le')
}
