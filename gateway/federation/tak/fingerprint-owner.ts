// Who owns a TAK Server's certificate on a shared gateway: the first network to register its fingerprint gets its
// connection. Another organization asking for the same one is refused without learning whose it is, and the
// deployment admins see the conflict in the audit log, since only they can settle it (by removing one registration).

import { ApiError, conflict } from '../../api/errors.ts'
import type { DbDocument, NetworkRecord } from '../../store/schema.ts'

export type AuditFn = (action: string, target: string, details: Record<string, unknown>, organizationId: string | null) => void

/**
 * The refusal when `fingerprint` is already registered, or null when it is free. Within one organization the
 * sentence names its own peer and network; across organizations it names nothing of the other one, and the
 * conflict goes to the audit log under no organization (deployment admins only).
 */
export function fingerprintTaken(
  doc: DbDocument,
  network: NetworkRecord,
  fingerprint: string,
  displayName: string,
  audit: AuditFn,
  exceptPeerId?: string
): ApiError | null {
  // A peer's next fingerprint (rotation) is as much its own as the current one.
  const existing = doc.externalPeers.find(
    (p) => p.id !== exceptPeerId && (p.fingerprint === fingerprint || p.nextFingerprint === fingerprint)
  )
  if (!existing) return null
  const where = doc.networks.find((n) => n.id === existing.networkId)
  if (where?.organizationId === network.organizationId) {
    return conflict(
      `That certificate is already registered as peer '${existing.displayName}' on network '${where.name}'; a fingerprint can be registered on one network only.`
    )
  }
  const orgName = (id: string | undefined): string => doc.organizations.find((o) => o.id === id)?.name ?? id ?? 'unknown'
  audit(
    'externalPeerConflict',
    `fingerprint ${fingerprint}`,
    {
      registered: {
        peerId: existing.id,
        peer: existing.displayName,
        network: where?.name ?? existing.networkId,
        organization: orgName(where?.organizationId)
      },
      refused: { peer: displayName, network: network.name, networkId: network.id, organization: orgName(network.organizationId) }
    },
    null
  )
  return conflict(
    "That TAK Server's certificate is already registered on this gateway by another organization; ask the gateway's administrator."
  )
}
