// What the console sees of TAK federation without asking: `peerStatus` events when a figure changed, and the
// drops and backlogs federation adds to the health figures.

import type { HealthDto } from '../../api/contract.ts'
import type { EventBus } from '../../events.ts'
import type { Store } from '../../store/store.ts'
import type { ExternalPeerRecord } from '../../store/schema.ts'
import type { SessionContext } from './session.ts'
import type { SessionTable } from './session-table.ts'
import type { PeerStatusBoard } from './status.ts'

export interface StatusPushParts {
  store: Store
  board: PeerStatusBoard
  sessions: SessionTable
  /** Filled with every peer whose figures were published (peer-sync.ts forgets removed ones). */
  knownStatus: Set<string>
  events: EventBus
  intervalMs: number
  /** What the peer row says beyond its status (diagnosis, flagged clock): a change makes consoles reload the peers. */
  rowFacts(peer: ExternalPeerRecord): string
}

/** Status pushes and contact upkeep on a timer (unref'd); the caller clears it. */
export function startStatusPushes(parts: StatusPushParts): NodeJS.Timeout {
  const { store, board, sessions, knownStatus, events } = parts
  let lastStatus = ''
  const lastFacts = new Map<string, string>()
  const tick = (): void => {
    for (const session of sessions.byPeer.values()) session.syncContacts()
    const peers = store.data.externalPeers.map((p) => {
      knownStatus.add(p.id)
      const facts = parts.rowFacts(p)
      if (lastFacts.has(p.id) && lastFacts.get(p.id) !== facts) events.emit({ type: 'changed', area: 'peers', networkId: p.networkId })
      lastFacts.set(p.id, facts)
      return board.status(p.id)
    })
    const text = JSON.stringify(peers)
    if (text !== lastStatus) {
      lastStatus = text
      events.emit({ type: 'peerStatus', peers })
    }
  }
  const statusTimer = setInterval(tick, parts.intervalMs)
  statusTimer.unref()
  return statusTimer
}

/** Like devices.*: what links to TAK federates dropped, by reason, and what waits for each peer now. */
export function federationHealth(
  ctx: SessionContext,
  sessions: SessionTable,
  peerById: (id: string) => ExternalPeerRecord | null
): (health: HealthDto) => void {
  return (health) => {
    for (const [reason, count] of Object.entries(ctx.linkDrops)) if (count > 0) health.dropsByReason[`federation.${reason}`] = count
    if (ctx.oversizeIn > 0) health.dropsByReason['federation.oversize'] = ctx.oversizeIn
    health.staleOnArrival += ctx.flows.staleOnArrival
    for (const session of sessions.byPeer.values()) {
      const { messages, bytes } = session.backlog()
      const peer = peerById(session.peerId)
      if (!peer) continue
      if (messages > 0)
        health.queueDepths.push({ id: session.id, label: `${peer.displayName} (federation peer)`, bytes, networkId: peer.networkId })
      const packages = session.rolBacklog()
      if (packages.messages > 0 || packages.bytes > 0) {
        health.queueDepths.push({
          id: `${session.id}-rol`,
          label: `${peer.displayName} (data packages to federation peer)`,
          bytes: packages.bytes,
          networkId: peer.networkId
        })
      }
    }
  }
}
