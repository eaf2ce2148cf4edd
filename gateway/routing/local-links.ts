// Local federations as the router sees them: each federation's two ends turned into directed links, and the
// live rate the router measures on each link.

import type { DbDocument, FederationEndRecord } from '../store/schema.ts'
import type { LocalLink } from './types.ts'
import { bothFilters } from './traffic-filter.ts'

/** Both directed links of every federation: A → B carries CoT iff A.outgoing && B.incoming (docs/ARCHITECTURE.md §6). */
export function computeLocalLinks(doc: Pick<DbDocument, 'federations'>): LocalLink[] {
  const links: LocalLink[] = []
  for (const f of doc.federations) {
    const [a, b] = f.ends
    links.push(linkBetween(f.id, a, b), linkBetween(f.id, b, a))
  }
  return links
}

function linkBetween(federationId: string, from: FederationEndRecord, to: FederationEndRecord): LocalLink {
  return {
    federationId,
    from: from.networkId,
    to: to.networkId,
    cot: from.outgoing && to.incoming,
    packages: from.sharePackages && to.acceptPackages,
    relay: from.relay,
    maxHops: from.maxHops,
    filter: bothFilters(from.outFilter, to.inFilter)
  }
}

/** Live figures per federation, as seen from one network: `in` = arriving at that network. */
export interface LinkMeter {
  /** Events per second from `from` to `to` over the last few seconds, and when the last one passed. */
  rate(federationId: string, from: string, to: string): { perSecond: number; lastActivity: string | null }
  /** Events the link's filters kept from crossing from `from` to `to` since start. */
  filtered(federationId: string, from: string, to: string): number
}
