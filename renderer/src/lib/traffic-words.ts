// Filters by kind of traffic (issue 20) in the operator's words: the kinds' names, a filter's one-line summary, and
// the filter a new editor starts from (every kind ticked, so emergencies cross until someone unticks them).

import { TRAFFIC_KINDS, type TrafficFilterDto, type TrafficKind } from '../../../gateway/api/contract.ts'

/** What an update may carry besides the toggles: absent = unchanged, null = everything crosses. */
export interface FilterChanges {
  inFilter?: TrafficFilterDto | null
  outFilter?: TrafficFilterDto | null
}

export const KIND_LABELS: Record<TrafficKind, string> = {
  positions: 'Positions',
  chat: 'Chat',
  markers: 'Markers and shapes',
  emergencies: 'Emergencies',
  packages: 'Data-package announcements',
  other: 'Everything else'
}

export const KIND_HINTS: Record<TrafficKind, string> = {
  positions: 'Where each device is (a-…)',
  chat: 'GeoChat messages and their receipts (b-t-f)',
  markers: 'Points, routes and drawings (b-m-…, u-d-…)',
  emergencies: '911, ring-the-bell, troops in contact (b-a-…)',
  packages: 'Offers of a data package (b-f-t-r); the package follows only with the DP switches on',
  other: 'Any other kind of CoT'
}

/** The start of a new filter: everything ticked; the operator unticks what must stay home. */
export const newFilter = (): TrafficFilterDto => ({ kinds: [...TRAFFIC_KINDS] })

/** What a filter lets cross, in a few words ("Everything", "All but positions", "Only chat, emergencies"). */
export function filterSummary(filter: TrafficFilterDto | null | undefined): string {
  if (!filter) return 'Everything'
  const prefixes = filter.typePrefixes ?? []
  const missing = TRAFFIC_KINDS.filter((k) => !filter.kinds.includes(k))
  const more = prefixes.length ? ` + ${prefixes.length} type${prefixes.length === 1 ? '' : 's'}` : ''
  if (missing.length === 0) return 'Everything'
  if (filter.kinds.length === 0) return prefixes.length ? `Only ${prefixes.join(', ')}` : 'Nothing'
  if (missing.length <= 2) return `All but ${missing.map((k) => KIND_LABELS[k].toLowerCase()).join(', ')}${more}`
  return `Only ${filter.kinds.map((k) => KIND_LABELS[k].toLowerCase()).join(', ')}${more}`
}
