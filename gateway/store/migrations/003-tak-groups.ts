// 2 → 3: each external peer names the TAK groups its federate entry lists (issue 16 §1). Peers saved before were
// pasted with the one snippet there was, which put our federate in __ANON__ both ways: keep exactly that.

export const ANON_GROUP = '__ANON__'

export function migration003(doc: Record<string, unknown>): Record<string, unknown> {
  const peers = Array.isArray(doc.externalPeers) ? (doc.externalPeers as Record<string, unknown>[]) : []
  for (const peer of peers) {
    if (peer && typeof peer === 'object' && peer.takGroups === undefined) peer.takGroups = { inbound: [ANON_GROUP], outbound: [ANON_GROUP] }
  }
  doc.schemaVersion = 3
  return doc
}
