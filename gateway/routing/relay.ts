// Relay with hop limits (issue 20): what a network passes on of the traffic that reached it over a federation. Loops
// cannot form: an event never enters a network already in its trail, never crosses more links than the limit of the
// end it would leave by, and a network that was handed an event once drops the copies that come by other ways.

import { createHash } from 'node:crypto'
import type { CotEvent } from '../cot/event.ts'
import type { RelayTrail } from './types.ts'

/** Copies of one event reaching a network by two ways arrive within seconds of each other; a minute is ample. */
const SEEN_FOR_MS = 60_000
/** Remembered arrivals; past this the oldest are forgotten (about 100 bytes each, so at most ~2 MB). */
export const MAX_SEEN = 20_000
/** A hop count read from a peer is kept within this: beyond any limit an operator can set (1–8). */
const MAX_HOPS_READ = 64

/**
 * The trail of an event that arrived from a TAK peer: its hop count (TAK stamps 1 at the first sender) and provenance.
 * Read only for what came over a federation; nothing is copied.
 */
export function trailFromPeer(networkId: string, hops: number | undefined, federates: RelayTrail['federates'] | undefined): RelayTrail {
  const read = typeof hops === 'number' && Number.isFinite(hops) ? Math.floor(hops) : 1
  return { hops: Math.min(Math.max(read, 1), MAX_HOPS_READ), federates: federates ?? [], networks: [networkId] }
}

/** One more link crossed, into `networkId`. */
export function extendTrail(trail: RelayTrail, networkId: string): RelayTrail {
  return { hops: trail.hops + 1, federates: trail.federates, networks: [...trail.networks, networkId] }
}

/** Which events each network was handed over a federation lately, so a copy that comes by another way is dropped. */
export class SeenRecently {
  private readonly seen = new Map<string, number>()

  constructor(
    private readonly now: () => number,
    private readonly max = MAX_SEEN
  ) {}

  /** True if `networkId` was already handed this event (same uid, type and time); otherwise remembers it. */
  repeat(networkId: string, event: CotEvent): boolean {
    // Hashed so a remembered arrival costs the same whatever the size of the uid a peer picked.
    const digest = createHash('sha1').update(event.uid).update('\0').update(event.type).update('\0').update(event.time).digest('base64')
    const key = `${networkId}\0${digest}`
    const now = this.now()
    const until = this.seen.get(key)
    if (until !== undefined && until > now) return true
    this.seen.delete(key)
    this.seen.set(key, now + SEEN_FOR_MS)
    while (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!)
    return false
  }

  get size(): number {
    return this.seen.size
  }
}
