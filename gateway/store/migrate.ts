// Walks a parsed db.json from its schemaVersion up to SCHEMA_VERSION, one numbered step at a time,
// and checks the result's shape. A file written by a newer Fedgate is refused, never rewritten.

import { SCHEMA_VERSION, type DbDocument } from './schema.ts'
import { migration001 } from './migrations/001-initial.ts'
import { migration002 } from './migrations/002-device-enrollments.ts'
import { migration003 } from './migrations/003-tak-groups.ts'
import { migration004 } from './migrations/004-relay.ts'
import { migration005 } from './migrations/005-traffic-filters.ts'

export class StoreFormatError extends Error {
  constructor(
    message: string,
    readonly fromNewerVersion = false
  ) {
    super(message)
    this.name = 'StoreFormatError'
  }
}

/** migrations[n] turns a version-n document into version n+1. Version 0 = before versioning. */
const MIGRATIONS: Record<number, (doc: Record<string, unknown>) => Record<string, unknown>> = {
  0: migration001,
  1: migration002,
  2: migration003,
  3: migration004,
  4: migration005
}

export function migrate(raw: unknown): DbDocument {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new StoreFormatError('db.json does not hold a JSON object')
  }
  let doc = raw as Record<string, unknown>
  // Only an absent schemaVersion means "before versioning"; any other non-integer is damage, not version 0.
  const stated = doc.schemaVersion === undefined ? 0 : doc.schemaVersion
  if (typeof stated !== 'number' || !Number.isInteger(stated) || stated < 0)
    throw new StoreFormatError(`db.json has an invalid schemaVersion (${String(doc.schemaVersion)})`)
  let version = stated
  if (version > SCHEMA_VERSION) {
    throw new StoreFormatError(
      `db.json was written by a newer version of Fedgate (schema ${version}; this version reads up to ${SCHEMA_VERSION}). Upgrade Fedgate; the file was left untouched.`,
      true
    )
  }
  while (version < SCHEMA_VERSION) {
    const step = MIGRATIONS[version]
    if (!step) throw new StoreFormatError(`No migration from schema ${version}`)
    doc = step(structuredClone(doc))
    version = doc.schemaVersion as number
  }
  checkShape(doc)
  return doc as unknown as DbDocument
}

const COLLECTIONS = [
  'organizations',
  'users',
  'teams',
  'networks',
  'devices',
  'federations',
  'federationCodes',
  'externalPeers',
  'dataPackages',
  'deviceEnrollments'
] as const

function checkShape(doc: Record<string, unknown>): void {
  for (const key of COLLECTIONS) {
    const value = doc[key]
    if (!Array.isArray(value)) throw new StoreFormatError(`db.json: '${key}' is not a list`)
    for (const item of value) {
      if (item === null || typeof item !== 'object' || typeof (item as { id?: unknown }).id !== 'string') {
        throw new StoreFormatError(`db.json: an entry of '${key}' has no id`)
      }
    }
  }
  const meta = doc.meta as { deploymentId?: unknown } | undefined
  if (!meta || typeof meta.deploymentId !== 'string') throw new StoreFormatError("db.json: 'meta.deploymentId' is missing")
}
