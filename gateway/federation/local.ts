// Local federations between networks of this deployment: the router's links kept equal to the store's
// relationships, and the per-federation figures the console shows.

import type { DiagnosisDto, FederationDto, FederationEndDto, FederationStatsDto } from '../api/contract.ts'
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
    ours: endDto(gw, oursRecord, theirsRecord),
    theirs: endDto(gw, theirsRecord, oursRecord),
    stats: federationStats(f, networkId, meter)
  }
}

const networkName = (gw: Services, id: string): string => gw.store.data.networks.find((n) => n.id === id)?.name ?? '(deleted network)'

/**
 * Why traffic does not flow both ways, seen from `end`'s network: a pause on either side, or only one direction on
 * because the other side's switch is off (both networks share this machine's clock: no clock or silence to diagnose).
 */
export function endDiagnosis(gw: Services, end: FederationEndRecord, other: FederationEndRecord): DiagnosisDto | null {
  const them = `'${networkName(gw, other.networkId)}'`
  if (!end.incoming && !end.outgoing)
    return { code: 'paused', message: 'Paused on this side: In and Out are both off, so nothing passes. Turn either on to resume.' }
  if (!other.incoming && !other.outgoing)
    return { code: 'paused', message: `${them} paused this federation (In and Out off on their side): ask its operators to turn them on.` }
  if (end.incoming && end.outgoing && (!other.outgoing || !other.incoming))
    return {
      code: 'one-way',
      message: !other.outgoing
        ? `Only one direction flows: nothing comes from ${them} because Out is off on their side. Ask its operators to turn it on.`
        : `Only one direction flows: our traffic does not reach ${them} because In is off on their side. Ask its operators to turn it on.`
    }
  return null
}

function endDto(gw: Services, end: FederationEndRecord, other: FederationEndRecord): FederationEndDto {
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
    diagnosis: endDiagnosis(gw, end, other),
    relay: end.relay,
    maxHops: end.maxHops,
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
  router: { setLocalLinks(links: LocalLink[]): void; setPeerRelay(on: boolean): void; linkStats(): LinkStat[] } & LinkMeter
): () => void {
  const apply = (): void => router.setLocalLinks(computeLocalLinks(gw.store.data))
  // The router keeps relay bookkeeping only while some end or peer relays (issue 20).
  const applyPeers = (): void => router.setPeerRelay(gw.store.data.externalPeers.some((p) => p.relay))
  apply()
  applyPeers()
  gw.internal.on('federationsChanged', apply)
  gw.internal.on('peersChanged', applyPeers)
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
    gw.internal.off('peersChanged', applyPeers)
  }
}
