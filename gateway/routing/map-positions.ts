// The live map's memory (issue 18): per network where an event entered, the latest position of every uid seen there,
// with its source (the network's own devices, or one TAK peer), a short trail, and whether it changed since the last
// push. Fed from Router.publish with the fields the scanner already gave; bounded by count per network and by the
// gateway's shared byte budget; stale entries are forgotten when read or swept.

import type { CotEvent } from '../cot/event.ts'
import { ENTRY_OVERHEAD_BYTES, ownCopy, type ByteBudget } from './byte-budget.ts'
import type { Origin } from './types.ts'

export const MAX_MAP_POSITIONS_PER_NETWORK = 5_000
export const TRAIL_POINTS = 8
/** A callsign or type longer than this is cut: the map shows a label, not a document. */
const MAX_TEXT = 80
/** `<track>` is looked for only this far into the detail; a PLI's detail is a few hundred characters. */
const TRACK_SCAN_CHARS = 4096
const TRAIL_POINT_BYTES = 40
/**
 * A stale position stays this long, greyed on the map (as ATAK keeps a stale marker a while), so an operator sees who
 * went quiet where; then it is forgotten.
 */
export const STALE_GRACE_MS = 60_000

export interface MapPosition {
  /** 'network' (a device of that network) or 'peer' (arrived from that TAK peer on `networkId`). */
  sourceKind: 'network' | 'peer'
  /** The network id for 'network', the peer id for 'peer'. */
  sourceId: string
  /** Where the event entered the gateway. */
  networkId: string
  uid: string
  callsign: string
  type: string
  lat: number
  lon: number
  hae: number
  course: number | null
  speed: number | null
  time: string
  stale: string
  /** ms since epoch the gateway last heard it. */
  seenAt: number
  /** Oldest first; the last point is the current one. */
  trail: [number, number][]
}

function trackOf(detailXml: string): { course: number | null; speed: number | null } {
  const at = detailXml.indexOf('<track')
  if (at < 0 || at > TRACK_SCAN_CHARS) return { course: null, speed: null }
  const tag = detailXml.slice(at, detailXml.indexOf('>', at) + 1 || at + 200).slice(0, 200)
  const num = (name: string): number | null => {
    const m = new RegExp(`\\s${name}\\s*=\\s*["']([-+0-9.eE]{1,24})["']`).exec(tag)
    const v = m ? Number(m[1]) : NaN
    return Number.isFinite(v) ? v : null
  }
  return { course: num('course'), speed: num('speed') }
}

const clip = (text: string): string => ownCopy(text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text)

export class MapPositions {
  /** networkId (where it entered) → key (source + uid) → position, in order of last update. */
  private readonly byNetwork = new Map<string, Map<string, MapPosition>>()
  /** Changed since the last drain: at most one push per device per drain. */
  private dirty = new Set<MapPosition>()

  constructor(
    private readonly budget: ByteBudget,
    private readonly now: () => number = Date.now,
    private readonly maxPerNetwork: number = MAX_MAP_POSITIONS_PER_NETWORK
  ) {}

  /** A position report was routed (only `a-` types with a point; direct messages are private and not shown). */
  record(event: CotEvent, origin: Origin): void {
    const { lat, lon } = event.point
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return
    let network = this.byNetwork.get(origin.networkId)
    if (!network) {
      network = new Map()
      this.byNetwork.set(origin.networkId, network)
    }
    const sourceId = origin.kind === 'peer' ? origin.peerId : origin.networkId
    const key = `${origin.kind}\u0000${sourceId}\u0000${event.uid}`
    const previous = network.get(key)
    const trail: [number, number][] = previous ? previous.trail.slice(-(TRAIL_POINTS - 1)) : []
    trail.push([lat, lon])
    const { course, speed } = trackOf(event.detailXml)
    const entry: MapPosition = {
      sourceKind: origin.kind === 'peer' ? 'peer' : 'network',
      sourceId,
      networkId: origin.networkId,
      uid: previous?.uid ?? clip(event.uid),
      callsign: clip(event.callsign ?? event.uid),
      type: clip(event.type),
      lat,
      lon,
      hae: event.point.hae,
      course,
      speed,
      time: event.time.slice(0, 40),
      stale: event.stale.slice(0, 40),
      seenAt: this.now(),
      trail
    }
    if (previous) {
      this.budget.release(previous)
      this.dirty.delete(previous)
      network.delete(key) // re-inserted so the map stays in order of last update
    }
    network.set(key, entry)
    this.dirty.add(entry)
    const held = network
    const bytes =
      ENTRY_OVERHEAD_BYTES + 2 * (key.length + entry.callsign.length + entry.type.length + 80) + trail.length * TRAIL_POINT_BYTES
    this.budget.charge(entry, bytes, () => this.drop(held, key, entry))
    if (network.size > this.maxPerNetwork) {
      const [oldestKey, oldest] = network.entries().next().value!
      this.budget.release(oldest)
      this.drop(network, oldestKey, oldest)
    }
  }

  private drop(network: Map<string, MapPosition>, key: string, entry: MapPosition): void {
    if (network.get(key) === entry) network.delete(key)
    this.dirty.delete(entry)
  }

  private expired(entry: MapPosition, now: number): boolean {
    const staleAt = Date.parse(entry.stale)
    return Number.isFinite(staleAt) && staleAt + STALE_GRACE_MS < now
  }

  /** What entered on `networkId` and is not past its stale time and grace; `devicesOnly` leaves out what its TAK peers sent (single hop). */
  entered(networkId: string, devicesOnly = false): MapPosition[] {
    const network = this.byNetwork.get(networkId)
    if (!network) return []
    const now = this.now()
    const out: MapPosition[] = []
    for (const [key, entry] of network) {
      if (this.expired(entry, now)) {
        this.budget.release(entry)
        this.drop(network, key, entry)
        continue
      }
      if (devicesOnly && entry.sourceKind === 'peer') continue
      out.push(entry)
    }
    return out
  }

  /** Everything changed since the last drain, once each (the caller pushes it, at most once a second). */
  drain(): MapPosition[] {
    const out = [...this.dirty]
    this.dirty = new Set()
    return out
  }

  /** Forget stale entries everywhere (called on the push timer so a quiet network does not keep them). */
  sweep(): void {
    for (const networkId of this.byNetwork.keys()) this.entered(networkId)
  }

  forgetNetwork(networkId: string): void {
    for (const entry of this.byNetwork.get(networkId)?.values() ?? []) {
      this.budget.release(entry)
      this.dirty.delete(entry)
    }
    this.byNetwork.delete(networkId)
  }

  get size(): number {
    let n = 0
    for (const network of this.byNetwork.values()) n += network.size
    return n
  }
}
