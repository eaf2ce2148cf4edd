// What every TAK federation session shares from the gateway: the store, the router, the status board, our identity
// and the per-gateway caches, built once by the federation area (index.ts) and handed to each session.

import type { CotEvent } from '../../cot/event.ts'
import type { Logger } from '../../log.ts'
import type { Router } from '../../routing/router.ts'
import type { Store } from '../../store/store.ts'
import type { PeerFlows } from './diagnosis.ts'
import type { OurIdentity } from './mapping.ts'
import type { DropReason } from './outbox.ts'
import type { PackageFederation } from './packages.ts'
import type { FederatedEventMessage } from './proto.ts'
import type { FingerprintExchange } from './rotation.ts'
import type { PeerStatusBoard } from './status.ts'

/** What a session needs from the gateway, shared by every session. */
export interface SessionContext {
  store: Store
  router: Router
  board: PeerStatusBoard
  /** When events last went each way per peer, and their clocks (diagnosis.ts). */
  flows: PeerFlows
  us: OurIdentity
  log: Logger
  /** The exchange of data packages with peers (ROL), or null when the package area is not running. */
  packages: PackageFederation | null
  /** Messages dropped on all links since start, by reason (outbox.ts), for the health view. */
  linkDrops: Record<DropReason, number>
  /** Peers' events over Streaming:MaxEventBytes, not decoded (proto.ts withInboundEventLimit), on all links. */
  oversizeIn: number
  /** Protobuf bytes of a FederatedEvent (proto.ts encodeEvent); streams send them as they are. */
  encodeEvent(message: FederatedEventMessage): Buffer
  /** Bytes already encoded per event, for this gateway (they differ only by toggles, applied before). */
  encodedEvents: WeakMap<CotEvent, Buffer | null>
  /** Certificate rotation between Fedgates (rotation.ts); absent in tests that build a context by hand. */
  fingerprints?: FingerprintExchange
}
