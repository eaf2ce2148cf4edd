// 4 → 5: each federation end and each external peer has a filter per direction by kind of traffic (issue 20).
// Everything saved before let all traffic cross: null (no filter) keeps exactly that.

export function migration005(doc: Record<string, unknown>): Record<string, unknown> {
  const withFilters = (item: unknown): void => {
    if (!item || typeof item !== 'object') return
    const record = item as Record<string, unknown>
    if (record.inFilter === undefined) record.inFilter = null
    if (record.outFilter === undefined) record.outFilter = null
  }
  const federations = Array.isArray(doc.federations) ? (doc.federations as Record<string, unknown>[]) : []
  for (const f of federations) if (f && Array.isArray(f.ends)) for (const end of f.ends as unknown[]) withFilters(end)
  for (const peer of Array.isArray(doc.externalPeers) ? (doc.externalPeers as unknown[]) : []) withFilters(peer)
  doc.schemaVersion = 5
  return doc
}
