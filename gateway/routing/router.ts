// The router (docs/ARCHITECTURE.md §6): decides which endpoints get an event. It never parses or encodes; endpoints queue what
// they get without blocking. Also keeps per-link meters and the latest position of every uid per network for replay.

import { CONTROL_TYPES, type CotEvent } from '../cot/event.ts'
import { isDirect, isPositionReport, namesReceiver } from '../cot/parse.ts'
import { ByteBudget, cotEventBytes } from './byte-budget.ts'
import { MapPositions } from './map-positions.ts'
import { RateMeter } from './meter.ts'
import type { Endpoint, LocalLink, Origin } from './types.ts'

/** A dest callsign that means "every streaming client" (as TAK Server reads it). */
const ALL_STREAMING = 'All Streaming'
const FILESHARE_TYPE = 'b-f-t-r'
const MAX_POSITIONS_PER_NETWORK = 10_000

export interface LinkStat {
  federationId: string
  from: string
  to: string
  /** Events per second over the last few seconds that crossed this link in this direction. */
  perSecond: number
  lastActivity: string | null
  total: number
}

export interface RouterStats {
  endpoints: { devices: number; peers: number }
  eventsIn: number
  eventsInPerSecond: number
  deliveries: number
  deliveriesPerSecond: number
  /** An endpoint's deliver() threw (a bug there); the event still reached the others. */
  deliveryErrors: number
}

interface StoredPosition {
  event: CotEvent
  /** Arrived from an external peer: replayed on its own network only (single hop). */
  viaPeer: boolean
}

export class Router {
  private readonly endpoints = new Map<string, Endpoint>()
  /** Per network, copied on change so a publish in progress iterates a stable array. */
  private readonly byNetwork = new Map<string, readonly Endpoint[]>()
  private linksFrom = new Map<string, LocalLink[]>()
  private linksTo = new Map<string, LocalLink[]>()
  private readonly linkMeters = new Map<string, RateMeter>()
  /** Per directed link: events its filters kept back (issue 20). */
  private readonly linkFiltered = new Map<string, number>()
  private readonly positions = new Map<string, Map<string, StoredPosition>>()
  private readonly inMeter: RateMeter
  private readonly outMeter: RateMeter
  private deliveryErrors = 0
  /** The live map's positions (issue 18), charged to the same byte budget. */
  readonly mapPositions: MapPositions

  /** Told when a fileshare crosses a local link with packages on and reaches a device there: the package is listed there. */
  onFileshareCrossedLink: ((event: CotEvent, link: LocalLink) => void) | null = null

  /**
   * `cacheBudget`: the gateway-wide byte budget (Memory:CacheBytes) the position cache is charged to, shared with the
   * other caches remote input grows; past it the oldest positions go first.
   */
  constructor(
    private readonly now: () => number = Date.now,
    readonly cacheBudget: ByteBudget = new ByteBudget()
  ) {
    this.inMeter = new RateMeter(now)
    this.outMeter = new RateMeter(now)
    this.mapPositions = new MapPositions(cacheBudget, now)
  }

  attach(endpoint: Endpoint): void {
    if (this.endpoints.has(endpoint.id)) this.detach(endpoint.id)
    this.endpoints.set(endpoint.id, endpoint)
    this.byNetwork.set(endpoint.networkId, [...(this.byNetwork.get(endpoint.networkId) ?? []), endpoint])
  }

  detach(id: string): void {
    const endpoint = this.endpoints.get(id)
    if (!endpoint) return
    this.endpoints.delete(id)
    const rest = (this.byNetwork.get(endpoint.networkId) ?? []).filter((e) => e.id !== id)
    if (rest.length === 0) this.byNetwork.delete(endpoint.networkId)
    else this.byNetwork.set(endpoint.networkId, rest)
  }

  endpointsOn(networkId: string): readonly Endpoint[] {
    return this.byNetwork.get(networkId) ?? []
  }

  /** Replace the directed links of local federations (call again whenever federations or toggles change). */
  setLocalLinks(links: LocalLink[]): void {
    const from = new Map<string, LocalLink[]>()
    const to = new Map<string, LocalLink[]>()
    for (const link of links) {
      if (link.from === link.to) continue
      from.set(link.from, [...(from.get(link.from) ?? []), link])
      to.set(link.to, [...(to.get(link.to) ?? []), link])
    }
    this.linksFrom = from
    this.linksTo = to
  }

  /** Route one event; returns the number of endpoints it was handed to. */
  publish(event: CotEvent, origin: Origin): number {
    if (CONTROL_TYPES.has(event.type)) return 0
    this.inMeter.add()
    const direct = isDirect(event) && !event.dest.callsigns.includes(ALL_STREAMING)
    // Replayed to every device that connects later: only what went to everyone.
    if (isPositionReport(event) && !direct) this.remember(origin.networkId, event, origin.kind === 'peer')
    // The map shows every atom that went to everyone, with or without a contact endpoint (TAK peers often strip it).
    if (!direct && event.type.startsWith('a-')) this.mapPositions.record(event, origin)
    let delivered = 0
    // Events from a device go to its network (devices and peers); from a peer, only to that network's devices.
    delivered += this.deliverOn(origin.networkId, event, origin, direct, origin.kind === 'device')
    if (origin.kind === 'device') {
      const fileshare = event.type === FILESHARE_TYPE
      for (const link of this.linksFrom.get(origin.networkId) ?? []) {
        if (!(fileshare ? link.packages : link.cot)) continue
        if (link.filter && !link.filter(event.type)) {
          this.countFiltered(link)
          continue
        }
        this.meterOf(link.federationId, link.from, link.to).add()
        // Single hop: over a link, only the far network's devices; never its peers, never a further link.
        const reached = this.deliverOn(link.to, event, origin, direct, false)
        // A package counts as shared with the far network only when one of its devices was handed the fileshare (one
        // sent to the sender's own contacts crosses every link, yet reaches nobody there).
        if (fileshare && reached > 0) this.onFileshareCrossedLink?.(event, link)
        delivered += reached
      }
    }
    if (delivered > 0) this.outMeter.add(delivered)
    return delivered
  }

  private deliverOn(networkId: string, event: CotEvent, origin: Origin, direct: boolean, includePeers: boolean): number {
    let count = 0
    for (const endpoint of this.byNetwork.get(networkId) ?? []) {
      if (endpoint.id === origin.endpointId) continue
      if (endpoint.kind === 'peer') {
        if (!includePeers) continue
        if (direct && !endpoint.reaches?.(event.dest)) continue
      } else if (direct && !this.isNamed(endpoint, event)) {
        continue
      }
      try {
        endpoint.deliver(event, origin)
        count++
      } catch {
        this.deliveryErrors++
      }
    }
    return count
  }

  private isNamed(endpoint: Endpoint, event: CotEvent): boolean {
    return namesReceiver(event.dest, endpoint.callsign, endpoint.uid)
  }

  private remember(networkId: string, event: CotEvent, viaPeer: boolean): void {
    let network = this.positions.get(networkId)
    if (!network) {
      network = new Map()
      this.positions.set(networkId, network)
    }
    const uid = event.uid
    const previous = network.get(uid)
    if (previous) {
      this.cacheBudget.release(previous)
      network.delete(uid) // re-insert so the map stays in order of last update
    }
    const stored: StoredPosition = { event, viaPeer }
    network.set(uid, stored)
    const held = network
    this.cacheBudget.charge(stored, cotEventBytes(event), () => {
      if (held.get(uid) === stored) held.delete(uid)
    })
    if (network.size > MAX_POSITIONS_PER_NETWORK) {
      const [oldestUid, oldest] = network.entries().next().value!
      network.delete(oldestUid)
      this.cacheBudget.release(oldest)
    }
  }

  /**
   * The latest position of every uid a new device on `networkId` can see: its own network's, plus those of networks
   * with a CoT link into it (not what those networks got from their peers). Stale ones are left out and forgotten.
   */
  latestPositions(networkId: string): CotEvent[] {
    const now = this.now()
    const out: CotEvent[] = []
    const collect = (from: string, includePeerEvents: boolean, filter: ((type: string) => boolean) | null = null): void => {
      const network = this.positions.get(from)
      if (!network) return
      for (const [uid, stored] of network) {
        const staleAt = Date.parse(stored.event.stale)
        if (Number.isFinite(staleAt) && staleAt < now) {
          network.delete(uid)
          this.cacheBudget.release(stored)
          continue
        }
        if (stored.viaPeer && !includePeerEvents) continue
        if (filter && !filter(stored.event.type)) continue
        out.push(stored.event)
      }
    }
    collect(networkId, true)
    for (const link of this.linksTo.get(networkId) ?? []) if (link.cot) collect(link.from, false, link.filter)
    return out
  }

  /**
   * Forget a uid's position (its device went away; with viaPeerOnly, a peer's contact left and a device of ours with
   * the same uid keeps its own). Returns the last position event, if any was forgotten.
   */
  forgetPosition(networkId: string, uid: string, options: { viaPeerOnly?: boolean } = {}): CotEvent | null {
    const network = this.positions.get(networkId)
    const stored = network?.get(uid)
    if (!stored || (options.viaPeerOnly && !stored.viaPeer)) return null
    network!.delete(uid)
    this.cacheBudget.release(stored)
    return stored.event
  }

  /** Networks whose devices' CoT reaches `networkId`'s devices over a local federation. */
  cotLinksInto(networkId: string): string[] {
    return (this.linksTo.get(networkId) ?? []).filter((l) => l.cot).map((l) => l.from)
  }

  /** Networks whose devices get `networkId`'s devices' CoT over a local federation. */
  cotLinksFrom(networkId: string): string[] {
    return (this.linksFrom.get(networkId) ?? []).filter((l) => l.cot).map((l) => l.to)
  }

  /** A network was deleted: forget its positions (its endpoints are detached by their owners). */
  forgetNetwork(networkId: string): void {
    this.mapPositions.forgetNetwork(networkId)
    for (const stored of this.positions.get(networkId)?.values() ?? []) this.cacheBudget.release(stored)
    this.positions.delete(networkId)
  }

  private meterOf(federationId: string, from: string, to: string): RateMeter {
    const key = `${federationId}\u0000${from}\u0000${to}`
    let meter = this.linkMeters.get(key)
    if (!meter) {
      meter = new RateMeter(this.now)
      this.linkMeters.set(key, meter)
    }
    return meter
  }

  /** LinkMeter (routing/local-links.ts): events per second from `from` to `to` over a federation. */
  rate(federationId: string, from: string, to: string): { perSecond: number; lastActivity: string | null } {
    const meter = this.linkMeters.get(`${federationId}\u0000${from}\u0000${to}`)
    return meter ? { perSecond: meter.perSecond(), lastActivity: meter.lastActivity() } : { perSecond: 0, lastActivity: null }
  }

  private countFiltered(link: LocalLink): void {
    const key = `${link.federationId}\u0000${link.from}\u0000${link.to}`
    this.linkFiltered.set(key, (this.linkFiltered.get(key) ?? 0) + 1)
  }

  /** LinkMeter: events the filters of a federation kept from crossing from `from` to `to`. */
  filtered(federationId: string, from: string, to: string): number {
    return this.linkFiltered.get(`${federationId}\u0000${from}\u0000${to}`) ?? 0
  }

  /** Every directed link that carried traffic, for the console's federation figures. */
  linkStats(): LinkStat[] {
    const out: LinkStat[] = []
    for (const [key, meter] of this.linkMeters) {
      const [federationId, from, to] = key.split('\u0000') as [string, string, string]
      out.push({ federationId, from, to, perSecond: meter.perSecond(), lastActivity: meter.lastActivity(), total: meter.total })
    }
    return out
  }

  stats(): RouterStats {
    let devices = 0
    let peers = 0
    for (const endpoint of this.endpoints.values()) {
      if (endpoint.kind === 'device') devices++
      else peers++
    }
    return {
      endpoints: { devices, peers },
      eventsIn: this.inMeter.total,
      eventsInPerSecond: this.inMeter.perSecond(),
      deliveries: this.outMeter.total,
      deliveriesPerSecond: this.outMeter.perSecond(),
      deliveryErrors: this.deliveryErrors
    }
  }
}
