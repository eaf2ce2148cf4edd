// Brings the running federation in line with the peers in the store: sessions of removed peers end, dialers start,
// stop or restart when a peer's connection settings change, and the figures of removed peers are forgotten.

import * as grpc from '@grpc/grpc-js'
import type { Store } from '../../store/store.ts'
import type { ExternalPeerRecord } from '../../store/schema.ts'
import { PeerDialer, type RedialPolicy } from './client.ts'
import type { FigService } from './proto.ts'
import type { TakFederationServer } from './server.ts'
import type { SessionContext } from './session.ts'
import type { SessionTable } from './session-table.ts'
import type { PeerStatusBoard } from './status.ts'

/** A running dialer and the connection settings it dials with (a change restarts it). */
export type Dialers = Map<string, { dialer: PeerDialer; dialKey: string }>

export interface PeerSyncParts {
  store: Store
  board: PeerStatusBoard
  sessions: SessionTable
  server: TakFederationServer | null
  dialers: Dialers
  /** Peers whose figures have been published (so removed ones can be forgotten). */
  knownStatus: Set<string>
  /** Starts dialing a peer; null while we have no federation certificate to dial with. */
  startDialer: ((peer: ExternalPeerRecord) => PeerDialer) | null
}

export function syncPeers(parts: PeerSyncParts): void {
  const { store, board, sessions, server, dialers, knownStatus } = parts
  const live = new Map(store.data.externalPeers.map((p) => [p.id, p]))
  for (const [peerId, session] of [...sessions.byPeer]) {
    const peer = live.get(peerId)
    if (!peer || peer.networkId !== session.networkId) {
      const reason = 'This peer was removed from the network.'
      server?.endPeer(peerId, grpc.status.UNAVAILABLE, reason)
      session.end(reason, grpc.status.UNAVAILABLE)
      sessions.ended(session, reason)
    } else {
      // Out was switched on: our devices' contacts and the network's picture go out now, not at the next tick. DP-Out
      // was switched on: the network's packages go now, not at the next upload or reconnection (already queued ones are
      // not queued twice).
      session.syncContacts()
      session.syncPicture()
      session.offerPackages()
    }
  }
  for (const [peerId, entry] of [...dialers]) {
    const peer = live.get(peerId)
    const dialKey = peer?.dial ? dialKeyOf(peer) : null
    if (dialKey !== entry.dialKey) {
      entry.dialer.stop(peer ? 'The connection settings of this peer changed.' : 'This peer was removed from the network.')
      dialers.delete(peerId)
    }
  }
  // Forget the figures of peers that no longer exist.
  for (const peerId of [...knownStatus]) {
    if (live.has(peerId)) continue
    knownStatus.delete(peerId)
    board.forget(peerId)
  }
  if (!parts.startDialer) return
  for (const peer of live.values()) {
    if (!peer.dial || dialers.has(peer.id)) continue
    const dialer = parts.startDialer(peer)
    dialers.set(peer.id, { dialer, dialKey: dialKeyOf(peer) })
    dialer.start()
  }
}

export interface DialerParts {
  ctx: SessionContext
  service: FigService
  /** Our federation key and certificate chain (leaf + CA, PEM). */
  key: string
  certChain: string
  redial: RedialPolicy
  healthIntervalMs: number
  maxMessageBytes: number
  sessions: SessionTable
  board: PeerStatusBoard
  contactChanged(): void
}

/** A dialer for one peer, reporting its sessions to the table (not yet started). */
export function dialerFor(peer: ExternalPeerRecord, parts: DialerParts): PeerDialer {
  const { sessions, board } = parts
  return new PeerDialer({
    ctx: parts.ctx,
    service: parts.service,
    peerId: peer.id,
    // Read at each dial: after a certificate switch, the next connection presents the new one.
    get key() {
      return parts.key
    },
    get certChain() {
      return parts.certChain
    },
    redial: parts.redial,
    healthIntervalMs: parts.healthIntervalMs,
    maxMessageBytes: parts.maxMessageBytes,
    version: { major: 5, minor: 0, patch: 0, branch: 'fedgate', variant: 'gateway' },
    onSession: sessions.opened,
    onSessionEnded: sessions.ended,
    onError: (peerId, message) => {
      board.failed(peerId, message)
      parts.contactChanged()
    },
    peerConnected: () => {
      const current = sessions.byPeer.get(peer.id)
      return current !== undefined && !current.isEnded && current.role === 'server'
    }
  })
}

function dialKeyOf(peer: ExternalPeerRecord): string {
  // Not the fingerprints: a peer's pin changes by rotation while its link stays up (each dial reads them afresh).
  return JSON.stringify([peer.dial?.address, peer.dial?.port, peer.dial?.caPem ?? null])
}
