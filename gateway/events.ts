// The gateway's push channel to consoles: typed ConsoleEvents fanned out to every subscriber (SSE, IPC).

import type { ConsoleEvent, HealthDto } from './api/contract.ts'
import type { Accounts } from './accounts/accounts.ts'
import type { DbDocument, UserRecord } from './store/schema.ts'

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

/** What deciding who sees an event needs of the gateway. */
export interface EventAudience {
  accounts: Pick<Accounts, 'canSeeNetwork' | 'isOrganizationMember' | 'mayReviewRejectedPeers'>
  store: { data: Pick<DbDocument, 'externalPeers' | 'federations'> }
}

/**
 * The part of an event `user` may see: organization-scoped data only reaches that organization's members.
 * Returns null when nothing of the event is for them. Both transports (SSE, IPC) call this before pushing.
 */
export function eventForUser(event: ConsoleEvent, gw: EventAudience, user: UserRecord): ConsoleEvent | null {
  const canSee = (networkId: string | null | undefined): boolean =>
    typeof networkId === 'string' && gw.accounts.canSeeNetwork(user, networkId)
  switch (event.type) {
    case 'deviceStatus':
    case 'positions':
      return canSee(event.networkId) ? event : null
    case 'changed':
      return event.networkId === undefined || canSee(event.networkId) ? event : null
    case 'auditAppended':
      // Entries under no organization are the deployment's (users, organization conflicts): listAuditLog shows them
      // to deployment admins only, and so does the live feed.
      if (event.entry.organizationId === null) return user.deploymentAdmin ? event : null
      return gw.accounts.isOrganizationMember(user, event.entry.organizationId) ? event : null
    case 'peerStatus': {
      const peers = event.peers.filter((p) => canSee(gw.store.data.externalPeers.find((x) => x.id === p.peerId)?.networkId))
      return peers.length > 0 ? { type: 'peerStatus', peers } : null
    }
    case 'federationStats': {
      // A federation across organizations is seen by the members of either end's organization.
      const federations = event.federations.filter((f) =>
        gw.store.data.federations.find((x) => x.id === f.federationId)?.ends.some((e) => canSee(e.networkId))
      )
      return federations.length > 0 ? { type: 'federationStats', federations } : null
    }
    case 'rejectedPeer':
      return gw.accounts.mayReviewRejectedPeers(user) ? event : null
    case 'health':
      return { type: 'health', health: healthForUser(event.health, gw, user) }
    case 'historySample': {
      // Like the health view: machine-wide figures for all, backlogs and links of the networks the user may see.
      const backlogByNetwork = Object.fromEntries(Object.entries(event.health.backlogByNetwork).filter(([id]) => canSee(id)))
      const backlogBytes = Object.values(backlogByNetwork).reduce((a, b) => a + b, 0)
      const links = event.links.filter((l) => canSee(linkNetwork(l.key, gw.store.data)))
      return { type: 'historySample', health: { ...event.health, backlogByNetwork, backlogBytes }, links }
    }
  }
}

/** A link's key names a TAK peer (`peer:<id>`) or one end of a federation (`fed:<id>:<networkId>`). */
export const peerLinkKey = (peerId: string): string => `peer:${peerId}`
export const federationLinkKey = (federationId: string, networkId: string): string => `fed:${federationId}:${networkId}`

/** The network a link belongs to, or null when it names nothing that exists. */
export function linkNetwork(key: string, data: Pick<DbDocument, 'externalPeers' | 'federations'>): string | null {
  if (key.startsWith('peer:')) return data.externalPeers.find((p) => peerLinkKey(p.id) === key)?.networkId ?? null
  for (const f of data.federations) for (const end of f.ends) if (federationLinkKey(f.id, end.networkId) === key) return end.networkId
  return null
}

/** The gateway's health as `user` may see it: machine-wide figures, and the send backlogs of their organizations only. */
export function healthForUser(health: HealthDto, gw: EventAudience, user: UserRecord): HealthDto {
  return { ...health, queueDepths: health.queueDepths.filter((q) => gw.accounts.canSeeNetwork(user, q.networkId)) }
}
