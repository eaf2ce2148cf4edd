// Local federations between networks of this deployment: the router's links kept equal to the store's
// relationships, and the per-federation figures the console shows.

import type { FederationDto, FederationEndDto, FederationStatsDto } from '../api/contract.ts'
import type { Services } from '../services.ts'
import type { DbDocument, FederationEndRecord, FederationRecord } from '../store/schema.ts'
import { computeLocalLinks, type LinkMeter } from '../routing/local-links.ts'
import type { LocalLink } from '../routing/types.ts'
import type { LinkStat } from '../routing/router.ts'
import type { LinkTotals } from '../deployment/history.ts'
import { federationLinkKey } from '../events.ts'

/** Each federation end's totals for the charts: in = into its network. Drops happen at the receiving devices, not here. */
function federationLinkTotals(doc: Pick<DbDocument, 'federations'>, stats: LinkStat[]): LinkTotals[] {
  const totals = new Map(stats.map((s) => [`${s.federationId}\u0000${s.from}\u0000${s.to}`, s.total]))
  const total = (federationId: string, from: string, to: string): number => totals.get(`${federationId}\u0000${from}\u0000${to}`) ?? 0
  return doc.federations.flatMap((f) =>
    f.ends.map((end, i) => {
      const other = f.ends[1 - i]!.networkId
      return {
        key: federationLinkKey(f.id, end.networkId),
        in: total(f.id, other, end.networkId),
        out: total(f.id, end.networkId, other),
        drops: null
      }
    })
  )
}

export function federationStats(f: FederationRecord, networkId: string, meter: LinkMeter): FederationStatsDto {
  const ours = f.ends.find((e) => e.networkId === networkId) ?? f.ends[0]
  const theirs = f.ends.find((e) => e !== ours) ?? f.ends[1]
  const incoming = meter.rate(f.id, theirs.networkId, ours.networkId)
  const outgoing = meter.rate(f.id, ours.networkId, theirs.networkId)
  const last =
    [incoming.lastActivity, outgoing.lastActivity]
      .filter((x): x is string => x !== null)
      .sort()
      .pop() ?? null
  return {
    federationId: f.id,
    networkId: ours.networkId,
    inPerSecond: incoming.perSecond,
    outPerSecond: outgoing.perSecond,
    lastActivity: last,
    inFiltered: meter.filtered(f.id, theirs.networkId, ours.networkId),
    outFiltered: meter.filtered(f.id, ours.networkId, theirs.networkId)
  }
}

export function federationDto(gw: Services, f: FederationRecord, networkId: string, meter: LinkMeter): FederationDto {
  const oursRecord = f.ends.find((e) => e.networkId === networkId) ?? f.ends[0]
  const theirsRecord = f.ends.find((e) => e !== oursRecord) ?? f.ends[1]
  return {
    id: f.id,
    kind: f.kind,
    createdAt: f.createdAt,
    ours: endDto(gw, oursRecord),
    theirs: endDto(gw, theirsRecord),
    stats: federationStats(f, networkId, meter)
  }
}

function endDto(gw: Services, end: FederationEndRecord): FederationEndDto {
  const network = gw.store.data.networks.find((n) => n.id === end.networkId)
  const org = gw.store.data.organizations.find((o) => o.id === network?.organizationId)
  return {
    networkId: end.networkId,
    networkName: network?.name ?? '(deleted network)',
    organizationId: org?.id ?? '',
    organizationName: org?.name ?? '',
    incoming: end.incoming,
    outgoing: end.outgoing,
    acceptPackages: end.acceptPackages,
    sharePackages: end.sharePackages,
    inFilter: end.inFilter ?? null,
    outFilter: end.outFilter ?? null
  }
}

/** Whether two networks already federate with each other. */
export function findFederationBetween(doc: Pick<DbDocument, 'federations'>, a: string, b: string): FederationRecord | undefined {
  return doc.federations.find((f) => f.ends.some((e) => e.networkId === a) && f.ends.some((e) => e.networkId === b))
}

/**
 * Keep the router's links equal to the store's federations (toggle changes apply to live connections at once)
 * and push `federationStats` every second while any link carries traffic, plus once when it goes quiet.
 */
export function startLocalFederation(
  gw: Services,
  router: { setLocalLinks(links: LocalLink[]): void; linkStats(): LinkStat[] } & LinkMeter
): () => void {
  const apply = (): void => router.setLocalLinks(computeLocalLinks(gw.store.data))
  apply()
  gw.internal.on('federationsChanged', apply)
  gw.history.linkSources.push(() => federationLinkTotals(gw.store.data, router.linkStats()))
  let wasActive = false
  const timer = setInterval(() => {
    const stats = gw.store.data.federations.map((f) => federationStats(f, f.ends[0].networkId, router))
    const active = stats.some((s) => s.inPerSecond > 0 || s.outPerSecond > 0)
    if (active || wasActive) gw.events.emit({ type: 'federationStats', federations: stats })
    wasActive = active
  }, 1000)
  timer.unref()
  return () => {
    clearInterval(timer)
    gw.internal.off('federationsChanged', apply)
  }
}
