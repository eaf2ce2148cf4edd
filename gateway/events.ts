// The gateway's push channel to consoles: typed ConsoleEvents fanned out to every subscriber (SSE, IPC).

import type { ConsoleEvent } from './api/contract.ts'

export type EventListener = (event: ConsoleEvent) => void

export class EventBus {
  private readonly listeners = new Set<EventListener>()

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit(event: ConsoleEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A broken subscriber (a closed SSE socket) must not stop the others.
      }
    }
  }

  get size(): number {
    return this.listeners.size
  }
}

/**
 * The part of an event a user may see: organization-scoped data only reaches that organization's members.
 * Returns null when nothing of the event is for them. Transports call this before pushing to a session.
 */
export function eventForUser(
  event: ConsoleEvent,
  canSeeNetwork: (networkId: string) => boolean,
  isMemberOf: (organizationId: string) => boolean,
  peerNetwork: (peerId: string) => string | null
): ConsoleEvent | null {
  switch (event.type) {
    case 'deviceStatus':
      return canSeeNetwork(event.networkId) ? event : null
    case 'changed':
      return event.networkId === undefined || canSeeNetwork(event.networkId) ? event : null
    case 'auditAppended':
      return event.entry.organizationId === null || isMemberOf(event.entry.organizationId) ? event : null
    case 'peerStatus': {
      const peers = event.peers.filter((p) => {
        const networkId = peerNetwork(p.peerId)
        return networkId !== null && canSeeNetwork(networkId)
      })
      return peers.length > 0 ? { type: 'peerStatus', peers } : null
    }
    case 'federationStats':
    case 'rejectedPeer':
    case 'health':
      return event
  }
}
