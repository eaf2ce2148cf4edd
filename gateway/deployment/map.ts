// The live map (issue 18): listPositions for a network or an organization, and the once-a-second push of what moved,
// each batch addressed to one network so the event stream shows it only to those who may see that network.

import type { PositionDto } from '../api/contract.ts'
import { notFound } from '../api/errors.ts'
import type { MapPosition } from '../routing/map-positions.ts'
import type { Router } from '../routing/router.ts'
import { defineMethods, type Services } from '../services.ts'

/** Positions per pushed event: a burst of thousands is split so one SSE message stays small. */
const MAX_PER_EVENT = 1000
const PUSH_EVERY_MS = 1000

type MapRouter = Pick<Router, 'mapPositions' | 'cotLinksInto' | 'cotLinksFrom'>

function sourceName(gw: Services, p: MapPosition): string {
  if (p.sourceKind === 'peer') return gw.store.data.externalPeers.find((x) => x.id === p.sourceId)?.displayName ?? 'TAK peer'
  return gw.store.data.networks.find((n) => n.id === p.sourceId)?.name ?? '(deleted network)'
}

function toDto(gw: Services, p: MapPosition, viewNetworkId: string): PositionDto {
  return {
    key: `${p.sourceKind}:${p.sourceId}:${p.uid}`,
    networkId: viewNetworkId,
    sourceKind: p.sourceKind,
    sourceId: p.sourceId,
    sourceName: sourceName(gw, p),
    uid: p.uid,
    callsign: p.callsign,
    type: p.type,
    lat: p.lat,
    lon: p.lon,
    hae: p.hae,
    course: p.course,
    speed: p.speed,
    time: p.time,
    stale: p.stale,
    seenAt: new Date(p.seenAt).toISOString(),
    trail: p.trail.map(([a, b]) => [a, b] as [number, number])
  }
}

/** Every position a device on `networkId` sees: its own network's and its TAK peers', plus what local federations bring in. */
export function positionsOn(gw: Services, router: MapRouter, networkId: string): PositionDto[] {
  const out = router.mapPositions.entered(networkId).map((p) => toDto(gw, p, networkId))
  for (const from of router.cotLinksInto(networkId)) {
    // Single hop: what the far network got from its own TAK peers does not cross.
    for (const p of router.mapPositions.entered(from, true)) out.push(toDto(gw, p, networkId))
  }
  return out
}

export const mapMethods = defineMethods({
  listPositions: {
    auth: 'user',
    run({ gw, args, user }) {
      if ('networkId' in args) {
        if (!gw.accounts.canSeeNetwork(user, args.networkId)) throw notFound('There is no network with that id that you can see.')
        return positionsOn(gw, gw.router, args.networkId)
      }
      if (!gw.accounts.isOrganizationMember(user, args.organizationId))
        throw notFound('There is no organization with that id that you belong to.')
      const networks = gw.store.data.networks.filter(
        (n) => n.organizationId === args.organizationId && gw.accounts.canSeeNetwork(user, n.id)
      )
      // A device shown on two federated networks of the organization is listed once.
      const seen = new Set<string>()
      const out: PositionDto[] = []
      for (const n of networks) {
        for (const p of positionsOn(gw, gw.router, n.id)) {
          if (seen.has(p.key)) continue
          seen.add(p.key)
          out.push(p)
        }
      }
      return out
    }
  }
})

/** Push what moved, once a second, one event per network whose map shows it. */
export function startPositionFeed(gw: Services, router: MapRouter): () => void {
  const timer = setInterval(() => {
    router.mapPositions.sweep()
    const changed = router.mapPositions.drain()
    if (changed.length === 0 || gw.events.size === 0) return
    const byView = new Map<string, PositionDto[]>()
    for (const p of changed) {
      const views = p.sourceKind === 'network' ? [p.networkId, ...router.cotLinksFrom(p.networkId)] : [p.networkId]
      for (const view of views) {
        let list = byView.get(view)
        if (!list) byView.set(view, (list = []))
        list.push(toDto(gw, p, view))
      }
    }
    for (const [networkId, positions] of byView) {
      for (let i = 0; i < positions.length; i += MAX_PER_EVENT) {
        gw.events.emit({ type: 'positions', networkId, positions: positions.slice(i, i + MAX_PER_EVENT) })
      }
    }
  }, PUSH_EVERY_MS)
  timer.unref()
  return () => clearInterval(timer)
}
