// The router's view of the world: endpoints (device connections and federation peers) attached to networks,
// and directed links between networks made by local federations. See docs/ARCHITECTURE.md §6.

import type { CotEvent } from '../cot/event.ts'
import type { TypePredicate } from './traffic-filter.ts'

/**
 * The way an event came over federations (issue 20), present only once it crossed one: links crossed so far, the TAK
 * federates it passed (its federateProvenance) and our networks it has been on. Never copied for events that stay home.
 */
export interface RelayTrail {
  hops: number
  federates: readonly { federationServerId: string; federationServerName: string }[]
  networks: readonly string[]
}

/** Where an event entered the gateway; `trail` when it reached the network it is being delivered on over a federation. */
export type Origin =
  | { kind: 'device'; networkId: string; endpointId: string; trail?: RelayTrail }
  | { kind: 'peer'; networkId: string; endpointId: string; peerId: string; trail?: RelayTrail }

/** A receiver of routed events: one device connection, or one live TAK federation session. */
export interface Endpoint {
  /** Unique per connection / session. */
  readonly id: string
  readonly networkId: string
  readonly kind: 'device' | 'peer'
  /** For direct messages (`<marti><dest>`): the device's callsign and CoT uid once known; null for peers. */
  readonly callsign: string | null
  readonly uid: string | null
  /**
   * Take one event. Never blocks: the endpoint queues it (bounded) and drops the oldest position reports
   * when full. A peer endpoint applies its own Out toggle and mapping here.
   */
  deliver(event: CotEvent, origin: Origin): void
  /**
   * Peers only: whether a direct message for these targets should go to this peer (a contact it knows lives there).
   * Without it a peer gets no direct messages: their dest elements are already removed, so the far side would broadcast.
   */
  reaches?(dest: { callsigns: string[]; uids: string[] }): boolean
}

/** A directed link A → B from a local federation: A's end has Out (cot) / DP-Out (packages), B's end In / DP-In. */
export interface LocalLink {
  federationId: string
  from: string
  to: string
  /** CoT passes (A.outgoing && B.incoming). */
  cot: boolean
  /** Data packages and fileshare CoT pass (A.sharePackages && B.acceptPackages). */
  packages: boolean
  /** A's end relays (issue 20): CoT that reached A over another federation may cross, within A's `maxHops` links. */
  relay?: boolean
  maxHops?: number
  /** A's Out filter and B's In filter by kind of traffic, compiled once (issue 20); null = everything crosses. */
  filter?: TypePredicate | null
}
