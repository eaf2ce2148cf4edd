// 0 → 1: documents from before versioning (or hand-made ones) get every collection and a deployment id.

export function migration001(doc: Record<string, unknown>): Record<string, unknown> {
  const lists = [
    'organizations',
    'users',
    'teams',
    'networks',
    'devices',
    'federations',
    'federationCodes',
    'externalPeers',
    'dataPackages'
  ]
  for (const key of lists) if (doc[key] === undefined) doc[key] = []
  const meta = (doc.meta ?? {}) as Record<string, unknown>
  if (typeof meta.deploymentId !== 'string') meta.deploymentId = globalThis.crypto.randomUUID()
  if (typeof meta.createdAt !== 'string') meta.createdAt = new Date().toISOString()
  doc.meta = meta
  doc.schemaVersion = 1
  return doc
}
