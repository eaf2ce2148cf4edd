// Test helpers for data-package ROL: build pending messages as a federation link does when their turn comes, and read
// one back.

import type { PendingRol } from '../../gateway/federation/tak/packages.ts'
import { interpretPackageRol, type RolMessage } from '../../gateway/federation/tak/rol.ts'

/** Build pending messages as the link would when their turn comes (null ones are skipped: not sent, not shared). */
export async function built(items: PendingRol[]): Promise<RolMessage[]> {
  const out: RolMessage[] = []
  for (const item of items) {
    const message = await item.build()
    if (message) out.push(message)
  }
  return out
}

/** A ROL message as we read it; throws on one we could not. */
export function parsed(message: RolMessage): Extract<ReturnType<typeof interpretPackageRol>, { ok: true }>['value'] {
  const result = interpretPackageRol(message)
  if (!result.ok) throw new Error(result.error)
  return result.value
}
