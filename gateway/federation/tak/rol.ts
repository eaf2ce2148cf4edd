// ROL ("Resource Operation Language") programs as TAK federation v2 carries them for files and data packages:
// "<operation> <resource>\n<JSON object>;". Pure text building and parsing; malformed input is an error value.

/** A ROL message as it travels on ServerROLStream / ClientROLStream: the program text plus binary attachments. */
export interface RolMessage {
  program: string
  payload: { data: Buffer; type?: number; description?: string }[]
}

export const ROL_OPERATIONS = [
  'create',
  'add',
  'remove',
  'update',
  'assign',
  'revoke',
  'get',
  'post',
  'put',
  'delete',
  'contains',
  'request',
  'announce',
  'disperse',
  'store',
  'enable',
  'disable'
] as const
export const ROL_RESOURCES = [
  'query',
  'subscription',
  'staticsubscription',
  'role',
  'priority',
  'resource',
  'package',
  'mission',
  'input',
  'federation',
  'federate',
  'federated_connection',
  'data_feed'
] as const

export type RolOperation = (typeof ROL_OPERATIONS)[number]
export type RolResource = (typeof ROL_RESOURCES)[number]

export interface RolProgram {
  operation: RolOperation
  resource: RolResource
  params: Record<string, unknown>
}

export type RolParse = { ok: true; value: RolProgram } | { ok: false; error: string }

/** Programs larger than this are refused unread (the JSON of a package program is a few hundred bytes). */
export const MAX_PROGRAM_CHARS = 256 * 1024

export function buildRol(operation: RolOperation, resource: RolResource, params: Record<string, unknown>): string {
  return `${operation} ${resource}\n${JSON.stringify(params)};`
}

export function parseRol(program: unknown): RolParse {
  if (typeof program !== 'string') return { ok: false, error: 'the ROL program is not text' }
  if (program.length > MAX_PROGRAM_CHARS) return { ok: false, error: `the ROL program is longer than ${MAX_PROGRAM_CHARS} characters` }
  const text = program.trim()
  const head = /^([a-z_]+)[ \t]+([a-z_]+)[ \t]*(?:\r?\n|[ \t])\s*/.exec(text)
  if (!head) return { ok: false, error: 'the ROL program does not start with "<operation> <resource>"' }
  const operation = head[1] as RolOperation
  const resource = head[2] as RolResource
  if (!ROL_OPERATIONS.includes(operation)) return { ok: false, error: `unknown ROL operation '${operation.slice(0, 40)}'` }
  if (!ROL_RESOURCES.includes(resource)) return { ok: false, error: `unknown ROL resource '${resource.slice(0, 40)}'` }
  let body = text.slice(head[0].length)
  if (!body.endsWith(';')) return { ok: false, error: 'the ROL program does not end with ";"' }
  body = body.slice(0, -1).trim()
  if (!body.startsWith('{')) return { ok: false, error: 'the ROL parameters are not a JSON object' }
  let params: unknown
  try {
    params = JSON.parse(body)
  } catch (err) {
    return { ok: false, error: `the ROL parameters are not valid JSON (${(err as Error).message.slice(0, 120)})` }
  }
  if (params === null || typeof params !== 'object' || Array.isArray(params))
    return { ok: false, error: 'the ROL parameters are not a JSON object' }
  return { ok: true, value: { operation, resource, params: params as Record<string, unknown> } }
}

// ─── package programs ─────────────────────────────────────────────────────────

/** Enterprise Sync resource metadata, as `create resource` carries it (TAK's `Resource` JSON). */
export interface RolResourceMeta {
  hash: string
  name: string
  filename: string
  mimeType: string
  keywords: string[]
  submissionTime: string
  submitter: string
  uid: string
  creatorUid: string
  size: number
  tool: string
}

/** A fileshare as `announce package` / `disperse package` carry it (TAK's `ResourceDetails` JSON). */
export interface RolPackageDetails {
  sha256: string
  name: string
  filename: string
  senderUrl: string
  sizeInBytes: number
  senderCallsign: string
  /** Destinations the fileshare was addressed to; both empty = everyone. */
  dest: { callsigns: string[]; uids: string[] }
  tsStored: number | null
}

export function createResourceRol(meta: RolResourceMeta, bytes: Buffer | null): RolMessage {
  return {
    program: buildRol('create', 'resource', { ...meta }),
    payload: bytes ? [{ data: bytes }] : []
  }
}

export function announcePackageRol(details: RolPackageDetails): RolMessage {
  return { program: buildRol('announce', 'package', detailsJson(details)), payload: [] }
}

export function requestPackageRol(sha256: string): RolMessage {
  return { program: buildRol('request', 'package', { sha256 }), payload: [] }
}

export function dispersePackageRol(details: RolPackageDetails, bytes: Buffer | null): RolMessage {
  return { program: buildRol('disperse', 'package', detailsJson(details)), payload: bytes ? [{ data: bytes }] : [] }
}

function detailsJson(d: RolPackageDetails): Record<string, unknown> {
  // TAK nests the destinations as a JSON string inside senderUid.
  return {
    sha256: d.sha256,
    senderUid: JSON.stringify({ callsigns: d.dest.callsigns, uids: d.dest.uids }),
    name: d.name,
    filename: d.filename,
    senderUrl: d.senderUrl,
    sizeInBytes: d.sizeInBytes,
    senderCallsign: d.senderCallsign,
    tsStored: d.tsStored ?? Date.now()
  }
}

/** What a peer sent us about data packages, checked field by field. */
export type PackageRol =
  | { kind: 'createResource'; meta: RolResourceMeta; bytes: Buffer | null }
  | { kind: 'updateResource'; hash: string; tool: string | null; mimeType: string | null }
  | { kind: 'announcePackage'; details: RolPackageDetails }
  | { kind: 'requestPackage'; sha256: string }
  | { kind: 'dispersePackage'; details: RolPackageDetails; bytes: Buffer | null }
  /** A well-formed program we do not act on (missions, data feeds, …). */
  | { kind: 'ignored'; operation: RolOperation; resource: RolResource }

export type PackageRolParse = { ok: true; value: PackageRol } | { ok: false; error: string }

const HEX64 = /^[0-9a-fA-F]{64}$/

export function interpretPackageRol(message: { program: unknown; payload?: unknown }): PackageRolParse {
  const parsed = parseRol(message.program)
  if (!parsed.ok) return parsed
  const { operation, resource, params } = parsed.value
  const bytes = firstPayload(message.payload)
  const key = `${operation} ${resource}`
  try {
    switch (key) {
      case 'create resource':
        return { ok: true, value: { kind: 'createResource', meta: resourceMeta(params), bytes } }
      case 'update resource':
        return {
          ok: true,
          value: { kind: 'updateResource', hash: hash(params.hash, 'hash'), tool: optText(params.tool), mimeType: optText(params.mimeType) }
        }
      case 'announce package':
        return { ok: true, value: { kind: 'announcePackage', details: packageDetails(params) } }
      case 'request package':
        return { ok: true, value: { kind: 'requestPackage', sha256: hash(params.sha256, 'sha256') } }
      case 'disperse package':
        return { ok: true, value: { kind: 'dispersePackage', details: packageDetails(params), bytes } }
      default:
        return { ok: true, value: { kind: 'ignored', operation, resource } }
    }
  } catch (err) {
    if (err instanceof RolFieldError) return { ok: false, error: `${key}: ${err.message}` }
    throw err
  }
}

class RolFieldError extends Error {}

function firstPayload(payload: unknown): Buffer | null {
  if (!Array.isArray(payload) || payload.length === 0) return null
  const data = (payload[0] as { data?: unknown } | null)?.data
  if (Buffer.isBuffer(data)) return data.length > 0 ? data : null
  if (data instanceof Uint8Array) return data.length > 0 ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : null
  return null
}

function hash(value: unknown, field: string): string {
  if (typeof value !== 'string' || !HEX64.test(value)) throw new RolFieldError(`'${field}' is not a SHA-256 hash`)
  return value.toLowerCase()
}

function text(value: unknown, field: string, fallback?: string): string {
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback
    throw new RolFieldError(`'${field}' is missing`)
  }
  if (typeof value !== 'string') throw new RolFieldError(`'${field}' is not text`)
  return value.slice(0, 1000)
}

function optText(value: unknown): string | null {
  return typeof value === 'string' ? value.slice(0, 1000) : null
}

function size(value: unknown, field: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new RolFieldError(`'${field}' is not a size in bytes`)
  return n
}

function resourceMeta(p: Record<string, unknown>): RolResourceMeta {
  const name = text(p.name ?? p.filename, 'name')
  const keywords = Array.isArray(p.keywords) ? p.keywords.filter((k): k is string => typeof k === 'string').slice(0, 50) : []
  return {
    hash: hash(p.hash, 'hash'),
    name,
    filename: text(p.filename, 'filename', name),
    mimeType: text(p.mimeType, 'mimeType', ''),
    keywords,
    submissionTime: typeof p.submissionTime === 'string' ? p.submissionTime : '',
    submitter: text(p.submitter, 'submitter', ''),
    uid: text(p.uid, 'uid', ''),
    creatorUid: text(p.creatorUid, 'creatorUid', ''),
    size: p.size === undefined ? -1 : size(p.size, 'size'),
    tool: text(p.tool, 'tool', 'public')
  }
}

function packageDetails(p: Record<string, unknown>): RolPackageDetails {
  const name = text(p.name ?? p.filename, 'name')
  return {
    sha256: hash(p.sha256, 'sha256'),
    name,
    filename: text(p.filename, 'filename', name),
    senderUrl: text(p.senderUrl, 'senderUrl', ''),
    sizeInBytes: p.sizeInBytes === undefined ? -1 : size(p.sizeInBytes, 'sizeInBytes'),
    senderCallsign: text(p.senderCallsign, 'senderCallsign', ''),
    dest: destinations(p.senderUid),
    tsStored: typeof p.tsStored === 'number' ? p.tsStored : null
  }
}

/** `senderUid` holds `{"callsigns":[…],"uids":[…]}` as a JSON string; anything else means "no destinations". */
function destinations(value: unknown): { callsigns: string[]; uids: string[] } {
  const none = { callsigns: [], uids: [] }
  if (typeof value !== 'string' || !value.trim().startsWith('{')) return none
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    throw new RolFieldError("'senderUid' holds malformed JSON")
  }
  if (parsed === null || typeof parsed !== 'object') return none
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 500) : [])
  const obj = parsed as { callsigns?: unknown; uids?: unknown }
  return { callsigns: list(obj.callsigns), uids: list(obj.uids) }
}
