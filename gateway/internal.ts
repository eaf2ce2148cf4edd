// Notifications between gateway areas (not for consoles): a change in the store that live parts must act on,
// such as cutting connections of a deleted network or re-reading federation toggles.

import { EventEmitter } from 'node:events'

export interface InternalEventMap {
  /** A network and everything on it was removed from the store. */
  networkDeleted: [networkId: string]
  /** A device certificate was revoked: its live connections must close at once. */
  deviceRevoked: [deviceId: string]
  /** Local federations or their toggles changed: the router must re-read its links. */
  federationsChanged: []
  /** External peers were added, changed or removed. */
  peersChanged: [peerId: string]
  /** A data package became visible on a network. */
  packageStored: [packageId: string]
  /** pki.server was reissued (machine addresses changed): TLS servers take it for new connections. */
  serverIdentityChanged: []
}

export class InternalEvents extends EventEmitter<InternalEventMap> {}
