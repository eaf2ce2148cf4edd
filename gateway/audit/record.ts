// One line of audit.ndjson as written, and the names kept with it: what an id was called when the change was made.

import type { DbDocument } from '../store/schema.ts'

export interface AuditRecord {
  at: string
  actor: string
  action: string
  target: string
  organizationId: string | null
  details: Record<string, unknown>
  /** The actor's display name at the time (absent in entries written before names were kept). */
  actorName?: string
  /** id → name at the time, for every id in the details and the organization. */
  names?: Record<string, string>
}

/** At most this many names per entry: details are ours and small, but a list of grants is bounded by nothing else. */
const MAX_NAMES = 200

/** The names of the ids an entry mentions, read from the store as it is now (just after the change). */
export function namesAtTheTime(doc: DbDocument, record: AuditRecord): Pick<AuditRecord, 'actorName' | 'names'> {
  const names: Record<string, string> = {}
  const lookup = (id: string): string | undefined => {
    const network = (networkId: string): string | undefined => doc.networks.find((n) => n.id === networkId)?.name
    const federation = doc.federations.find((f) => f.id === id)
    if (federation) return federation.ends.map((end) => network(end.networkId) ?? 'a removed network').join(' ↔ ')
    return (
      network(id) ??
      doc.organizations.find((o) => o.id === id)?.name ??
      doc.teams.find((t) => t.id === id)?.name ??
      doc.users.find((u) => u.id === id)?.displayName ??
      doc.externalPeers.find((p) => p.id === id)?.displayName ??
      doc.devices.find((d) => d.id === id)?.callsign ??
      doc.deviceEnrollments.find((d) => d.id === id)?.callsign ??
      doc.dataPackages.find((p) => p.id === id)?.name
    )
  }
  const visit = (value: unknown, depth: number): void => {
    if (Object.keys(names).length >= MAX_NAMES || depth > 4) return
    if (typeof value === 'string') {
      if (value.length > 100 || value in names) return
      const name = lookup(value)
      if (name !== undefined) names[value] = name
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1)
    } else if (value !== null && typeof value === 'object') {
      for (const item of Object.values(value)) visit(item, depth + 1)
    }
  }
  visit(record.organizationId, 0)
  visit(record.details, 0)
  const actorName = doc.users.find((u) => u.username === record.actor)?.displayName
  return { ...(actorName ? { actorName } : {}), ...(Object.keys(names).length ? { names } : {}) }
}
