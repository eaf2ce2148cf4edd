// The one live session of each TAK peer, whichever end dialed, and TAK's duplicate rule that decides which of two
// sessions of a peer carries the federation. Both roles (server.ts, client.ts) report their sessions here.

import * as grpc from '@grpc/grpc-js'
import type { Logger } from '../../log.ts'
import type { ExternalPeerRecord } from '../../store/schema.ts'
import type { PeerSession } from './session.ts'
import type { PeerStatusBoard } from './status.ts'

export interface SessionTableOptions {
  board: PeerStatusBoard
  log: Logger
  peerById(id: string): ExternalPeerRecord | null
  /** Our federation certificate's fingerprint ('' without one): it settles a dial from both ends at once. */
  ourFingerprint: string
  /** A peer's contact figures changed (the caller saves them soon). */
  contactChanged(): void
  /** True once the federation stops: our own shutdown is not the peer's error. */
  stopping(): boolean
}

export class SessionTable {
  /** The live session of each peer, by peer id. */
  readonly byPeer = new Map<string, PeerSession>()

  constructor(private readonly o: SessionTableOptions) {}

  /** Arrow functions: handed as callbacks to both roles. */
  readonly opened = (session: PeerSession): void => {
    const { board, log, peerById } = this.o
    const previous = this.byPeer.get(session.peerId)
    if (previous && previous !== session && !previous.isEnded && previous.role !== session.role) {
      // Both ends dialed at the same moment. Both keep the connection dialed by the end whose federation certificate
      // has the smaller fingerprint (each end knows both), so neither replaces the other's choice back and forth.
      const peerFingerprint = peerById(session.peerId)?.fingerprint ?? ''
      const ourDialWins = this.o.ourFingerprint < peerFingerprint
      const keep = (ourDialWins ? 'client' : 'server') === session.role ? session : previous
      const drop = keep === session ? previous : session
      this.byPeer.set(session.peerId, keep)
      drop.end(`Both ends dialed; the connection ${ourDialWins ? 'we' : 'they'} dialed carries the federation.`, grpc.status.ABORTED)
      if (keep === previous) return
    } else {
      this.byPeer.set(session.peerId, session)
      // One session per peer (TAK's duplicate rule): the newest wins, the older one ends with an error status.
      if (previous && previous !== session && !previous.isEnded)
        previous.end('A newer connection from this peer replaced it.', grpc.status.ABORTED)
    }
    board.connected(session.peerId)
    this.o.contactChanged()
    log.info(
      `TAK federation: peer '${peerById(session.peerId)?.displayName ?? session.peerId}' connected (${session.role} role, ${session.remote})`
    )
  }

  readonly ended = (session: PeerSession, reason: string): void => {
    if (this.byPeer.get(session.peerId) !== session) return
    this.byPeer.delete(session.peerId)
    // Our own shutdown is not the peer's error: it reads "down since" the stop, with the error it had before.
    this.o.board.disconnected(session.peerId, this.o.stopping() ? null : reason)
    this.o.contactChanged()
    this.o.log.info(`TAK federation: peer '${this.o.peerById(session.peerId)?.displayName ?? session.peerId}' disconnected: ${reason}`)
  }
}
