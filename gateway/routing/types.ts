// The router's view of the world: endpoints (device connections and federation peers) attached to networks,
// and directed links between networks made by local federations. See docs/ARCHITECTURE.md §6.

import type { CotEvent } from '../cot/event.ts'
import type { TypePredicate } from './traffic-filter.ts'

/** Where an event entered the gateway. */
export type Origin =
  { kind: 'device'; networkId: string; endpointId: string } | { kind: 'peer'; networkId: string; endpointId: string; peerId: string }

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
  /** A's Out filter and B's In filter by kind of traffic, compiled once (issue 20); null = everything crosses. */
  filter?: TypePredicate | null
}
