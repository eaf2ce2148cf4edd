// The current picture of each network, for whoever joins later: the latest position report of every uid, and the
// latest version of every persistent event (markers, shapes, routes, active emergencies). Chats and other one-off
// traffic are not kept. Bounded per network by count and by the gateway's shared byte budget; stale entries go.

import type { CotEvent } from '../cot/event.ts'
import { isPositionReport } from '../cot/parse.ts'
import { cotEventBytes, type ByteBudget } from './byte-budget.ts'

/** Entries one network keeps: positions and persistent events together. */
export const MAX_LATEST_PER_NETWORK = 10_000

const DELETE_TYPE = 't-x-d-d'
/** ATAK cancels an emergency with this type under the same uid as the alert it cancels. */
const EMERGENCY_CANCEL = 'b-a-o-can'
/** A `<link uid>` of a delete sits near the start of its detail; no further than this is looked at. */
const LINK_SCAN_CHARS = 4096

export interface LatestEvent {
  event: CotEvent
  /** Arrived from an external peer: given to its own network's devices only (single hop). */
  viaPeer: boolean
  /** A device's own report (identity); else a marker, shape or alert someone placed. */
  position: boolean
}

/** Markers (b-m-*), drawings and shapes (u-d-*), alerts (b-a-*): they stay on a map until removed. */
function isPersistent(type: string): boolean {
  return type.startsWith('b-m-') || type.startsWith('u-d-') || (type.startsWith('b-a-') && type !== EMERGENCY_CANCEL)
}

/** The uid a `t-x-d-d` removes: its `<link uid>` (ATAK), else its own uid. */
function deletedUid(event: CotEvent): string {
  const detail = event.detailXml.slice(0, LINK_SCAN_CHARS)
  const at = detail.indexOf('<link')
  if (at < 0) return event.uid
  const tag = detail.slice(at, detail.indexOf('>', at) + 1 || detail.length)
  return /\suid\s*=\s*["']([^"']{1,200})["']/.exec(tag)?.[1] ?? event.uid
}

export class LatestEvents {
  /** networkId → uid → entry, in order of last update (the first is the oldest). */
  private readonly byNetwork = new Map<string, Map<string, LatestEvent>>()

  constructor(
    private readonly budget: ByteBudget,
    private readonly now: () => number = Date.now,
    private readonly maxPerNetwork = MAX_LATEST_PER_NETWORK
  ) {}

  /** An event went to everyone on `networkId`: keep it if it belongs to the picture; a delete or cancel removes. */
  record(networkId: string, event: CotEvent, viaPeer: boolean): void {
    if (event.type === DELETE_TYPE) {
      this.forget(networkId, deletedUid(event))
      return
    }
    if (event.type === EMERGENCY_CANCEL) {
      this.forget(networkId, event.uid)
      return
    }
    const position = isPositionReport(event)
    if (!position && !isPersistent(event.type)) return
    let network = this.byNetwork.get(networkId)
    if (!network) {
      network = new Map()
      this.byNetwork.set(networkId, network)
    }
    const uid = event.uid
    const previous = network.get(uid)
    if (previous) {
      this.budget.release(previous)
      network.delete(uid) // re-inserted so the map stays in order of last update
    }
    const stored: LatestEvent = { event, viaPeer, position }
    network.set(uid, stored)
    const held = network
    this.budget.charge(stored, cotEventBytes(event), () => {
      if (held.get(uid) === stored) held.delete(uid)
    })
    if (network.size > this.maxPerNetwork) {
      const [oldestUid, oldest] = network.entries().next().value!
      network.delete(oldestUid)
      this.budget.release(oldest)
    }
  }

  /** What `networkId` holds that is not stale yet (stale entries are forgotten on the way). */
  current(networkId: string): LatestEvent[] {
    const network = this.byNetwork.get(networkId)
    if (!network) return []
    const now = this.now()
    const out: LatestEvent[] = []
    for (const [uid, stored] of network) {
      const staleAt = Date.parse(stored.event.stale)
      if (Number.isFinite(staleAt) && staleAt < now) {
        network.delete(uid)
        this.budget.release(stored)
        continue
      }
      out.push(stored)
    }
    return out
  }

  /** Forget a uid on a network (with viaPeerOnly, only if a peer sent it); returns the forgotten event. */
  forget(networkId: string, uid: string, options: { viaPeerOnly?: boolean } = {}): CotEvent | null {
    const network = this.byNetwork.get(networkId)
    const stored = network?.get(uid)
    if (!stored || (options.viaPeerOnly && !stored.viaPeer)) return null
    network!.delete(uid)
    this.budget.release(stored)
    return stored.event
  }

  forgetNetwork(networkId: string): void {
    for (const stored of this.byNetwork.get(networkId)?.values() ?? []) this.budget.release(stored)
    this.byNetwork.delete(networkId)
  }
}
