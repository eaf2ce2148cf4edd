// 3 → 4: every federation end and external peer gets relay settings (issue 20). Off keeps what they did before:
// single hop. The hop limit is there for when an operator turns relay on.

import { RELAY_DEFAULTS } from '../schema.ts'

export function migration004(doc: Record<string, unknown>): Record<string, unknown> {
  const withRelay = (item: unknown): void => {
    if (!item || typeof item !== 'object') return
    const record = item as Record<string, unknown>
    if (record.relay === undefined) record.relay = RELAY_DEFAULTS.relay
    if (record.maxHops === undefined) record.maxHops = RELAY_DEFAULTS.maxHops
  }
  const federations = Array.isArray(doc.federations) ? (doc.federations as Record<string, unknown>[]) : []
  for (const f of federations) if (f && Array.isArray(f.ends)) f.ends.forEach(withRelay)
  if (Array.isArray(doc.externalPeers)) doc.externalPeers.forEach(withRelay)
  doc.schemaVersion = 4
  return doc
}
