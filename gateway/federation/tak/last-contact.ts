// Saves each peer's last-contact figures (since when up or down, last heard, last error) on its record, so a restart
// does not lose them; db.json is for what operators made, so this writes only what changed.

import type { Logger } from '../../log.ts'
import type { Store } from '../../store/store.ts'
import type { PeerStatusBoard } from './status.ts'

/** Saves what changed; resolves when it is on disk (callers that do not wait log a failure instead). */
function saveContacts(store: Store, board: PeerStatusBoard): Promise<void> {
  const changed = store.data.externalPeers
    .map((peer) => ({ peer, contact: board.contact(peer.id) }))
    .filter(({ peer, contact }) => JSON.stringify(peer.lastContact ?? null) !== JSON.stringify(contact))
  if (changed.length === 0) return Promise.resolve()
  return store.update((doc) => {
    for (const { peer, contact } of changed) {
      const record = doc.externalPeers.find((p) => p.id === peer.id)
      if (record) record.lastContact = contact
    }
  })
}

/** The figures saved before a restart, back on the board. */
export function restoreContacts(store: Store, board: PeerStatusBoard): void {
  for (const peer of store.data.externalPeers) if (peer.lastContact) board.restore(peer.id, peer.lastContact)
}

/** Saves without waiting; a failure is logged, not thrown. */
export function saveContactsLogged(store: Store, board: PeerStatusBoard, log: Logger): Promise<void> {
  return saveContacts(store, board).catch((err: unknown) =>
    log.warn(`TAK federation: could not save the peers' last contact: ${(err as Error).message}`)
  )
}
