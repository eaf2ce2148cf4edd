// The router (docs/ARCHITECTURE.md §6): decides which endpoints get an event. It never parses or encodes; endpoints queue what
// they get without blocking. Also keeps per-link meters and each network's current picture (latest-events.ts) for
// whoever joins later: a device that connects, a TAK peer session that opens, a local federation that starts or resumes.

import { CONTROL_TYPES, type CotEvent } from '../cot/event.ts'
import { isDirect, namesReceiver } from '../cot/parse.ts'
import { ByteBudget } from './byte-budget.ts'
import { LatestEvents } from './latest-events.ts'
import { MapPositions } from './map-positions.ts'
import { RateMeter } from './meter.ts'
import { extendTrail, SeenRecently } from './relay.ts'
import type { Endpoint, LocalLink, Origin, RelayTrail } from './types.ts'

/** A dest callsign that means "every streaming client" (as TAK Server reads it). */
const ALL_STREAMING = 'All Streaming'
const FILESHARE_TYPE = 'b-f-t-r'

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

export class Router {
  private readonly endpoints = new Map<string, Endpoint>()
  /** Per network, copied on change so a publish in progress iterates a stable array. */
  private readonly byNetwork = new Map<string, readonly Endpoint[]>()
  private linksFrom = new Map<string, LocalLink[]>()
  private linksTo = new Map<string, LocalLink[]>()
  private readonly linkMeters = new Map<string, RateMeter>()
  private readonly latest: LatestEvents
  /** Per directed link: events its filters kept back (issue 20). */
  private readonly linkFiltered = new Map<string, number>()
  private readonly inMeter: RateMeter
  private readonly outMeter: RateMeter
  private deliveryErrors = 0
  /** Some federation end relays (issue 20); peers' relay is told by setPeerRelay. Off: single hop, no bookkeeping. */
  private localRelay = false
  private peerRelay = false
  /** Arrivals over federations, remembered only while something relays: copies that come by another way are dropped. */
  readonly seen: SeenRecently
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
    this.latest = new LatestEvents(cacheBudget, now)
    this.seen = new SeenRecently(now)
  }

  /** Whether any TAK peer relays (the federation area says so whenever peers change). */
  setPeerRelay(on: boolean): void {
    this.peerRelay = on
  }

  private get relaying(): boolean {
    return this.localRelay || this.peerRelay
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

  /**
   * Replace the directed links of local federations (call again whenever federations or toggles change). A link that
   * starts carrying CoT (a new federation, or one resumed) gives the far network's devices the near network's picture.
   */
  setLocalLinks(links: LocalLink[]): void {
    const carried = new Set<string>()
    for (const list of this.linksFrom.values()) for (const l of list) if (l.cot) carried.add(linkKey(l))
    const from = new Map<string, LocalLink[]>()
    const to = new Map<string, LocalLink[]>()
    for (const link of links) {
      if (link.from === link.to) continue
      from.set(link.from, [...(from.get(link.from) ?? []), link])
      to.set(link.to, [...(to.get(link.to) ?? []), link])
    }
    this.linksFrom = from
    this.linksTo = to
    this.localRelay = links.some((l) => l.relay && l.cot)
    for (const link of links) if (link.cot && link.from !== link.to && !carried.has(linkKey(link))) this.givePicture(link)
  }

  /** The near network's own picture (not what its peers sent: single hop) to every device on the far network. */
  private givePicture(link: LocalLink): void {
    const devices = (this.byNetwork.get(link.to) ?? []).filter((e) => e.kind === 'device')
    if (devices.length === 0) return
    const origin: Origin = { kind: 'device', networkId: link.from, endpointId: '' }
    for (const event of this.latestPicture(link.from)) {
      for (const device of devices) {
        try {
          device.deliver(event, origin)
        } catch {
          this.deliveryErrors++
        }
      }
    }
  }

  /** Route one event; returns the number of endpoints it was handed to. */
  publish(event: CotEvent, origin: Origin): number {
    if (CONTROL_TYPES.has(event.type)) return 0
    this.inMeter.add()
    // Came over a federation while something relays: a copy that reached this network another way goes no further.
    const relaying = this.relaying
    if (origin.trail && relaying && this.seen.repeat(origin.networkId, event)) return 0
    const direct = isDirect(event) && !event.dest.callsigns.includes(ALL_STREAMING)
    // The picture given to whoever joins later holds only what went to everyone.
    if (!direct) this.latest.record(origin.networkId, event, origin.kind === 'peer')
    // The map shows every atom that went to everyone, with or without a contact endpoint (TAK peers often strip it).
    if (!direct && event.type.startsWith('a-')) this.mapPositions.record(event, origin)
    let delivered = 0
    // Events from a device go to its network (devices and peers); from a peer, only to that network's devices.
    delivered += this.deliverOn(origin.networkId, event, origin, direct, origin.kind === 'device')
    const onward: { networkId: string; trail: RelayTrail }[] = []
    if (origin.kind === 'device') {
      const fileshare = event.type === FILESHARE_TYPE
      for (const link of this.linksFrom.get(origin.networkId) ?? []) {
        if (!(fileshare ? link.packages : link.cot)) continue
        if (link.filter && !link.filter(event.type)) {
          this.countFiltered(link)
          continue
        }
        this.meterOf(link.federationId, link.from, link.to).add()
        // Remembered so a copy relayed back in by another way is not delivered twice.
        if (relaying) this.seen.repeat(link.to, event)
        // Over a link, only the far network's devices; its peers and further links only by relay (below).
        const reached = this.deliverOn(link.to, event, origin, direct, false)
        // A package counts as shared with the far network only when one of its devices was handed the fileshare (one
        // sent to the sender's own contacts crosses every link, yet reaches nobody there).
        if (fileshare && reached > 0) this.onFileshareCrossedLink?.(event, link)
        delivered += reached
        if (relaying && !fileshare && link.cot)
          onward.push({ networkId: link.to, trail: { hops: 1, federates: [], networks: [origin.networkId, link.to] } })
      }
    } else if (origin.trail && relaying && event.type !== FILESHARE_TYPE) {
      onward.push({ networkId: origin.networkId, trail: origin.trail })
    }
    if (onward.length > 0) delivered += this.relay(onward, event, origin, direct)
    if (delivered > 0) this.outMeter.add(delivered)
    return delivered
  }

  /**
   * Relay (issue 20), breadth first so each network is reached by its shortest way: from each network an event reached
   * over a federation, to its peers (each applies its own relay switch and limit) and over local links whose end
   * relays, while the event has crossed fewer links than that end's limit and never into a network on its trail.
   */
  private relay(queue: { networkId: string; trail: RelayTrail }[], event: CotEvent, origin: Origin, direct: boolean): number {
    let delivered = 0
    for (let i = 0; i < queue.length; i++) {
      const { networkId, trail } = queue[i]!
      const relayed: Origin = { ...origin, trail }
      for (const endpoint of this.byNetwork.get(networkId) ?? []) {
        if (endpoint.kind !== 'peer' || endpoint.id === origin.endpointId) continue
        if (direct && !endpoint.reaches?.(event.dest)) continue
        delivered += this.handTo(endpoint, event, relayed)
      }
      for (const link of this.linksFrom.get(networkId) ?? []) {
        if (!link.cot || !link.relay || trail.hops >= (link.maxHops ?? 0) || trail.networks.includes(link.to)) continue
        if (this.seen.repeat(link.to, event)) continue
        this.meterOf(link.federationId, link.from, link.to).add()
        const next = extendTrail(trail, link.to)
        delivered += this.deliverOn(link.to, event, { ...origin, trail: next }, direct, false)
        queue.push({ networkId: link.to, trail: next })
      }
    }
    return delivered
  }

  private handTo(endpoint: Endpoint, event: CotEvent, origin: Origin): number {
    try {
      endpoint.deliver(event, origin)
      return 1
    } catch {
      this.deliveryErrors++
      return 0
    }
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
      count += this.handTo(endpoint, event, origin)
    }
    return count
  }

  private isNamed(endpoint: Endpoint, event: CotEvent): boolean {
    return namesReceiver(event.dest, endpoint.callsign, endpoint.uid)
  }

  /**
   * The latest position of every uid a new device on `networkId` can see: its own network's, plus those of networks
   * with a CoT link into it (not what those networks got from their peers). Stale ones are left out and forgotten.
   */
  latestPositions(networkId: string): CotEvent[] {
    const out: CotEvent[] = []
    for (const stored of this.latest.current(networkId)) if (stored.position) out.push(stored.event)
    for (const link of this.linksTo.get(networkId) ?? []) {
      if (!link.cot) continue
      for (const stored of this.latest.current(link.from))
        if (stored.position && !stored.viaPeer && (!link.filter || link.filter(stored.event.type))) out.push(stored.event)
    }
    return out
  }

  /**
   * What `networkId`'s own devices put on the map and is not stale: each one's latest position, and the markers,
   * shapes and active alerts they placed (not chats, not what came from TAK peers). Given to a TAK peer session
   * when it opens and to a network whose federation with `networkId` starts or resumes.
   */
  latestPicture(networkId: string): CotEvent[] {
    const out: CotEvent[] = []
    for (const stored of this.latest.current(networkId)) if (!stored.viaPeer) out.push(stored.event)
    return out
  }

  /**
   * Forget a uid's position (its device went away; with viaPeerOnly, a peer's contact left and a device of ours with
   * the same uid keeps its own). Returns the last position event, if any was forgotten.
   */
  forgetPosition(networkId: string, uid: string, options: { viaPeerOnly?: boolean } = {}): CotEvent | null {
    return this.latest.forget(networkId, uid, options)
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
    this.latest.forgetNetwork(networkId)
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

function linkKey(link: LocalLink): string {
  return `${link.federationId}\u0000${link.from}\u0000${link.to}`
}
