// The data-package store: files kept by SHA-256 under <dataDir>/packages/, one index record per network in db.json.
// An upload streams to a temp file while it is hashed; it becomes a package only when complete and matching.

import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Store } from '../store/store.ts'
import { isDiskFull, StoreWriteError } from '../store/write-error.ts'
import type { DataPackageRecord, DbDocument } from '../store/schema.ts'
import type { AuditLog } from '../audit/audit.ts'
import type { InternalEvents } from '../internal.ts'
import type { Logger } from '../log.ts'
import { HIDDEN_CHARACTER } from '../api/schema/fields.ts'

export type PackageSourceRecord = DataPackageRecord['source']
export type ShareTarget = { kind: 'federation' | 'peer'; id: string; label: string }

export const SHA256_HEX = /^[0-9a-f]{64}$/

/** Why an upload did not become a package. `status` is the HTTP answer the Marti API gives for it. */
export class PackageUploadError extends Error {
  constructor(
    readonly reason: 'too_large' | 'hash_mismatch' | 'aborted' | 'empty' | 'invalid' | 'disk_full',
    message: string
  ) {
    super(message)
    this.name = 'PackageUploadError'
  }

  get status(): number {
    if (this.reason === 'too_large') return 413
    if (this.reason === 'aborted') return 499
    if (this.reason === 'disk_full') return 507
    return 400
  }
}

export interface IngestMeta {
  networkId: string
  /** Display name (file name as the uploader gave it); never used as a path. */
  name: string
  mimeType?: string
  /** Lowercase hex SHA-256 the uploader announced; the upload fails if the bytes differ. */
  expectedHash?: string | null
  source: PackageSourceRecord
  private?: boolean
  /** A device upload's `creatorUid` (its CoT uid). */
  creatorUid?: string | null
}

export interface PackageStoreOptions {
  dataDir: string
  store: Store
  /** Largest package in bytes (Settings Packages:MaxBytes); read on every upload so a settings change applies. */
  maxBytes: () => number
  audit?: AuditLog | null
  internal?: InternalEvents | null
  log?: Logger | null
  now?: () => Date
}

const DEFAULT_MIME = 'application/x-zip-compressed'

export class PackageStore {
  readonly dir: string
  private readonly tmpDir: string
  private readonly now: () => Date

  constructor(private readonly options: PackageStoreOptions) {
    this.dir = path.join(options.dataDir, 'packages')
    this.tmpDir = path.join(this.dir, 'tmp')
    this.now = options.now ?? (() => new Date())
    fs.mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 })
  }

  /** Remove temp files a crash left behind. Call once at start, before uploads are accepted. */
  async cleanTemp(): Promise<number> {
    let removed = 0
    for (const name of await fsp.readdir(this.tmpDir).catch(() => [] as string[])) {
      await fsp.rm(path.join(this.tmpDir, name), { force: true })
      removed++
    }
    return removed
  }

  /** Temp files currently present (tests check that a failed upload leaves none). */
  async tempFiles(): Promise<string[]> {
    return fsp.readdir(this.tmpDir).catch(() => [])
  }

  get maxBytes(): number {
    return this.options.maxBytes()
  }

  /** Where the bytes of `hash` live. The hash is checked, so no caller-supplied text reaches a path. */
  filePath(hash: string): string {
    if (!SHA256_HEX.test(hash)) throw new Error('not a SHA-256 hash')
    return path.join(this.dir, hash)
  }

  all(): readonly DataPackageRecord[] {
    return this.options.store.data.dataPackages
  }

  byId(id: string): DataPackageRecord | undefined {
    return this.all().find((p) => p.id === id)
  }

  byHash(networkId: string, hash: string): DataPackageRecord | undefined {
    return this.all().find((p) => p.networkId === networkId && p.hash === hash)
  }

  listForNetwork(networkId: string): DataPackageRecord[] {
    return this.all()
      .filter((p) => p.networkId === networkId)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  }

  /**
   * Stream `input` into the store. Resolves with the package record (an existing one when the same bytes are
   * already on that network). Rejects with PackageUploadError; nothing is visible and no temp file remains then.
   */
  async ingest(input: Readable, meta: IngestMeta): Promise<DataPackageRecord> {
    const expected = meta.expectedHash ? meta.expectedHash.toLowerCase() : null
    if (expected !== null && !SHA256_HEX.test(expected)) {
      input.resume()
      throw new PackageUploadError('invalid', 'The hash must be 64 hexadecimal characters (SHA-256).')
    }
    const limit = this.maxBytes
    const tmp = path.join(this.tmpDir, `${randomBytes(12).toString('hex')}.part`)
    const meter = new HashingMeter(limit)
    /** The file this upload put in place, to take back if its record cannot be saved. */
    let placed: string | null = null
    try {
      await pipeline(input, meter, fs.createWriteStream(tmp, { mode: 0o600, flags: 'wx' }))
      if (meter.bytes === 0) throw new PackageUploadError('empty', 'The upload was empty.')
      const hash = meter.digest()
      if (expected !== null && hash !== expected) {
        throw new PackageUploadError('hash_mismatch', `The uploaded bytes do not match the announced hash ${expected}.`)
      }
      const target = this.filePath(hash)
      if (fs.existsSync(target)) await fsp.rm(tmp, { force: true })
      else {
        await fsp.rename(tmp, target)
        placed = target
      }
      return await this.addRecord(hash, meter.bytes, meta)
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => {})
      if (placed && !this.all().some((p) => path.join(this.dir, p.hash) === placed)) await fsp.rm(placed, { force: true }).catch(() => {})
      if (err instanceof PackageUploadError) throw err
      if (isDiskFull(err) || (err instanceof StoreWriteError && err.diskFull)) {
        throw new PackageUploadError(
          'disk_full',
          "The data directory's disk is full, so the package was not stored. Free some space and send it again."
        )
      }
      if (meter.tooLarge) throw tooLarge(limit)
      if (isAbort(err)) throw new PackageUploadError('aborted', 'The upload was interrupted before it completed.')
      throw err
    }
  }

  /** Store bytes already in memory (operator uploads, packages arriving over ROL). */
  async ingestBuffer(bytes: Buffer, meta: IngestMeta): Promise<DataPackageRecord> {
    return this.ingest(Readable.from([bytes]), meta)
  }

  /** Read a whole package into memory (operator download, ROL create resource). Size is bounded by MaxBytes. */
  async readBytes(record: DataPackageRecord): Promise<Buffer> {
    return fsp.readFile(this.filePath(record.hash))
  }

  openRead(record: DataPackageRecord, range?: { start: number; end: number }): fs.ReadStream {
    return fs.createReadStream(this.filePath(record.hash), range ? { start: range.start, end: range.end } : {})
  }

  async setPrivate(id: string, isPrivate: boolean): Promise<void> {
    await this.options.store.update((doc) => {
      const rec = doc.dataPackages.find((p) => p.id === id)
      if (rec) rec.private = isPrivate
    })
  }

  /** Record that a package (or a fileshare for it) crossed a federation or went to a peer. Idempotent per target. */
  async recordShare(id: string, target: ShareTarget): Promise<void> {
    const existing = this.byId(id)
    if (!existing || isSharedWith(existing, target)) return
    await this.options.store.update((doc) => {
      const rec = doc.dataPackages.find((p) => p.id === id)
      if (rec) this.noteShare(rec, target)
    })
  }

  /**
   * A package reached another network of this gateway over a local federation: list it there too, with a record of
   * that network's own over the same file (deleting either record leaves the other and the file), and note on the
   * package where it went, in one change. Idempotent: one record per network and hash, one note per federation.
   * Null when the package is gone meanwhile (its file may be gone with it).
   */
  async addCopy(
    id: string,
    copy: { networkId: string; source: PackageSourceRecord },
    target: ShareTarget
  ): Promise<DataPackageRecord | null> {
    const original = this.byId(id)
    if (!original) return null
    const listed = this.byHash(copy.networkId, original.hash)
    // Shared again (a fileshare sent twice): nothing to write.
    if (listed && isSharedWith(original, target)) return listed
    // No await before the update below: the package cannot be removed in between.
    const meta = {
      networkId: copy.networkId,
      name: original.name,
      mimeType: original.mimeType,
      source: copy.source,
      private: original.private
    }
    return this.addRecord(original.hash, original.size, meta, (doc) => {
      const rec = doc.dataPackages.find((p) => p.id === id)
      if (rec) this.noteShare(rec, target)
    })
  }

  /**
   * Take back the copy a package left on `networkId` over local federation `federationId` (addCopy), and the note that
   * it went there. Records of that network with other sources stay. The file stays: the package itself uses it.
   * Resolves to whether anything changed.
   */
  async withdrawCopy(id: string, networkId: string, federationId: string): Promise<boolean> {
    return this.options.store.update((doc) => {
      const rec = doc.dataPackages.find((p) => p.id === id)
      if (!rec) return false
      const isCopy = (p: DataPackageRecord): boolean =>
        p.networkId === networkId && p.hash === rec.hash && p.source.kind === 'federation' && p.source.id === federationId
      const records = doc.dataPackages.filter((p) => !isCopy(p))
      const notes = rec.sharedWith.filter((s) => !(s.kind === 'federation' && s.id === federationId))
      const changed = records.length !== doc.dataPackages.length || notes.length !== rec.sharedWith.length
      doc.dataPackages = records
      rec.sharedWith = notes
      return changed
    })
  }

  /** Delete a package record (and its file once no network refers to the hash). Audited. */
  async remove(id: string, actor: { name: string; organizationId?: string | null }): Promise<DataPackageRecord | null> {
    const removed = await this.options.store.update((doc) => {
      const index = doc.dataPackages.findIndex((p) => p.id === id)
      if (index < 0) return null
      return doc.dataPackages.splice(index, 1)[0] ?? null
    })
    if (!removed) return null
    this.options.audit?.append({
      actor: actor.name,
      action: 'deleteDataPackage',
      target: removed.name,
      details: { packageId: removed.id, networkId: removed.networkId, hash: removed.hash, size: removed.size },
      organizationId: actor.organizationId ?? null
    })
    await this.removeFileIfUnused(removed.hash)
    return removed
  }

  /** Drop records of networks that no longer exist and files no record refers to. */
  async collectGarbage(): Promise<void> {
    const networks = new Set(this.options.store.data.networks.map((n) => n.id))
    const orphans = this.all().filter((p) => !networks.has(p.networkId))
    if (orphans.length > 0) {
      await this.options.store.update((doc) => {
        doc.dataPackages = doc.dataPackages.filter((p) => networks.has(p.networkId))
      })
    }
    const used = new Set(this.all().map((p) => p.hash))
    for (const name of await fsp.readdir(this.dir).catch(() => [] as string[])) {
      if (SHA256_HEX.test(name) && !used.has(name)) await fsp.rm(path.join(this.dir, name), { force: true })
    }
  }

  private async removeFileIfUnused(hash: string): Promise<void> {
    if (this.all().some((p) => p.hash === hash)) return
    await fsp.rm(this.filePath(hash), { force: true })
  }

  private noteShare(rec: DataPackageRecord, target: ShareTarget): void {
    if (!isSharedWith(rec, target))
      rec.sharedWith.push({ kind: target.kind, id: target.id, label: target.label, at: this.now().toISOString() })
  }

  /** `alongside`: a further change of the same update (it runs whether the record is new or already there). */
  private async addRecord(hash: string, size: number, meta: IngestMeta, alongside?: (doc: DbDocument) => void): Promise<DataPackageRecord> {
    const record: DataPackageRecord = {
      id: `pkg_${randomBytes(9).toString('base64url')}`,
      networkId: meta.networkId,
      hash,
      name: displayName(meta.name),
      size,
      mimeType: cleanMime(meta.mimeType),
      createdAt: this.now().toISOString(),
      source: meta.source,
      ...(meta.creatorUid ? { creatorUid: meta.creatorUid } : {}),
      private: meta.private ?? false,
      sharedWith: []
    }
    const stored = await this.options.store.update((doc) => {
      alongside?.(doc)
      // Dedupe per network: the same bytes uploaded twice on one network are one package.
      const existing = doc.dataPackages.find((p) => p.networkId === meta.networkId && p.hash === hash)
      if (existing) return { record: structuredClone(existing), created: false }
      doc.dataPackages.push(record)
      return { record, created: true }
    })
    if (stored.created) {
      this.options.log?.info(`data package '${record.name}' (${size} bytes, ${hash.slice(0, 12)}…) stored on network ${meta.networkId}`)
      this.options.internal?.emit('packageStored', record.id)
    }
    return stored.record
  }
}

function isSharedWith(record: DataPackageRecord, target: ShareTarget): boolean {
  return record.sharedWith.some((s) => s.kind === target.kind && s.id === target.id)
}

/** Counts and hashes bytes on their way to disk; fails as soon as the count passes the limit. */
class HashingMeter extends Transform {
  bytes = 0
  tooLarge = false
  private readonly hash = createHash('sha256')

  constructor(private readonly limit: number) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.limit) {
      this.tooLarge = true
      done(tooLarge(this.limit))
      return
    }
    this.hash.update(chunk)
    done(null, chunk)
  }

  digest(): string {
    return this.hash.digest('hex')
  }
}

function tooLarge(limit: number): PackageUploadError {
  return new PackageUploadError('too_large', `The data package is larger than the limit of ${formatBytes(limit)}.`)
}

function isAbort(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'ABORT_ERR' || (err as Error)?.message === 'aborted'
}

export function formatBytes(n: number): string {
  if (n >= 1_048_576) return `${Math.round((n / 1_048_576) * 10) / 10} MiB`
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KiB`
  return `${n} bytes`
}

/** What a shown name must not carry: the names' rule (controls, direction overrides, invisible marks) and quotes. */
const UNSHOWABLE = new RegExp(`${HIDDEN_CHARACTER.source}|"`, 'gu')

/**
 * A name fit for display and Content-Disposition: no directories, bounded length, and nothing that hides or reorders
 * text ("Invoice\u202Efdp.exe" would read as an .exe-looking name in every list that shows it).
 */
export function displayName(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? ''
  const clean = base.replace(UNSHOWABLE, '').trim().slice(0, 200)
  return clean && clean !== '.' && clean !== '..' ? clean : 'package.zip'
}

function cleanMime(raw: string | undefined): string {
  const value = (raw ?? '').trim().toLowerCase()
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(value) && value.length <= 100 ? value : DEFAULT_MIME
}
