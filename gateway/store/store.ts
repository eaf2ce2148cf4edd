// The local store: one lowdb document in db.json, one writer per data directory.
// Mutations are synchronous in memory; `commit()` resolves only once the change is durable on disk
// (temp file, fsync, rename, fsync of the directory). Writes are debounced and coalesced; a write that fails rolls
// memory back to what db.json holds, so a change is only ever applied once it is saved.

import { Low } from 'lowdb'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { emptyDocument, type DbDocument } from './schema.ts'
import { migrate, StoreFormatError } from './migrate.ts'
import { acquireLock, type DataDirLock } from './lock.ts'
import type { StoreRecoveryNotice } from '../api/contract.ts'
import { describeWriteError, StoreWriteError } from './write-error.ts'

export interface StoreOptions {
  /** Directory holding db.json, db.json.bak and db.lock. */
  dir: string
  /** Delay before a change is written; changes inside the window share one write. Default 50 ms. */
  debounceMs?: number
  /** Called with operator-readable messages (recovery, write failures). */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void
}

/** lowdb adapter that parses through the migrations and writes durably. */
class DurableJsonFile {
  constructor(private readonly file: string) {}

  async read(): Promise<DbDocument | null> {
    let text: string
    try {
      text = await fsp.readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    return migrate(JSON.parse(text))
  }

  async write(data: DbDocument): Promise<void> {
    await writeFileDurably(this.file, JSON.stringify(data))
  }
}

/** Write `content` to `file` so that after a crash the file holds either the old or the new content, whole. */
async function writeFileDurably(file: string, content: string | Buffer): Promise<void> {
  const dir = path.dirname(file)
  const tmp = tempFileFor(file)
  try {
    const handle = await fsp.open(tmp, 'w', 0o600)
    try {
      await handle.writeFile(content)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fsp.rename(tmp, file)
  } catch (err) {
    // A half-written temp file only takes space (on a full disk, the space the next attempt needs).
    await fsp.rm(tmp, { force: true }).catch(() => {})
    throw err
  }
  await syncDirectory(dir)
}

/**
 * The same, synchronously, with the file created in `mode` from the start (keys: 0600): for the few files written
 * before anything else runs (certificates and keys, the federation-code key).
 */
export function writeFileDurablySync(file: string, content: string | Buffer, mode: number): void {
  const tmp = tempFileFor(file)
  try {
    fs.rmSync(tmp, { force: true })
    const fd = fs.openSync(tmp, 'wx', mode)
    try {
      fs.writeFileSync(fd, content)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.chmodSync(tmp, mode) // the umask may have narrowed it
    fs.renameSync(tmp, file)
  } catch (err) {
    fs.rmSync(tmp, { force: true })
    throw err
  }
  syncDirectorySync(path.dirname(file))
}

/** The temp file a durable write of `file` goes through (hidden, per process, in the same folder for the rename). */
function tempFileFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
}

/** Temp files of writes that a crash interrupted (any pid): safe to remove once we hold the lock. */
async function removeStaleTempFiles(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    if (/^\.db\.json(\.bak)?\.\d+\.tmp$/.test(name)) await fsp.rm(path.join(dir, name), { force: true })
  }
}

/** Some filesystems (and Windows) refuse fsync on a directory; the rename is still atomic there. */
const directorySyncRefused = (err: unknown): boolean =>
  ['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')

async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined
  try {
    handle = await fsp.open(dir, 'r')
    await handle.sync()
  } catch (err) {
    if (!directorySyncRefused(err)) throw err
  } finally {
    await handle?.close()
  }
}

function syncDirectorySync(dir: string): void {
  let fd: number | undefined
  try {
    fd = fs.openSync(dir, 'r')
    fs.fsyncSync(fd)
  } catch (err) {
    if (!directorySyncRefused(err)) throw err
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/** Where an unreadable file is moved so nothing overwrites it: `<file>.corrupt-<time>`. */
function keptAsideName(file: string): string {
  return `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`
}

/** How old db.json.bak may get while Fedgate runs (it is also taken at every start). */
const BACKUP_REFRESH_MS = 60 * 60 * 1000

export class Store {
  readonly file: string
  readonly backupFile: string
  /** Set when the last open had to recover from an unreadable db.json. */
  recovery: StoreRecoveryNotice | null = null

  private readonly db: Low<DbDocument>
  private readonly debounceMs: number
  private readonly log: NonNullable<StoreOptions['log']>
  private lock: DataDirLock | null = null
  private timer: NodeJS.Timeout | null = null
  private dirty = false
  private writing: Promise<void> | null = null
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = []
  private closed = false
  /** The document as db.json holds it: what memory returns to when a write fails. Never mutated (update() copies). */
  private durable: DbDocument = emptyDocument()
  /** The last failed write, until a write succeeds again. */
  lastWriteError: Error | null = null
  /** When db.json.bak was last written (null: not in this run yet). */
  private backupTakenAt: number | null = null

  private constructor(private readonly options: StoreOptions) {
    this.file = path.join(options.dir, 'db.json')
    this.backupFile = `${this.file}.bak`
    this.db = new Low<DbDocument>(new DurableJsonFile(this.file), emptyDocument())
    this.debounceMs = options.debounceMs ?? 50
    this.log = options.log ?? (() => {})
  }

  /** Open (or create) the store in `dir`. Throws `StoreLockedError` if another process holds it. */
  static async open(options: StoreOptions): Promise<Store> {
    await fsp.mkdir(options.dir, { recursive: true })
    const store = new Store(options)
    store.lock = await acquireLock(path.join(options.dir, 'db.lock'))
    try {
      await removeStaleTempFiles(options.dir)
      await store.load()
      store.durable = store.db.data
    } catch (err) {
      await store.lock.release()
      throw err
    }
    return store
  }

  /** The live document. Mutate it only inside `update()`. */
  get data(): Readonly<DbDocument> {
    return this.db.data
  }

  /**
   * Apply `mutate` to the document now and resolve once the change is on disk.
   * If `mutate` throws, the document is left as it was (the change is applied to a copy first).
   */
  async update<T>(mutate: (doc: DbDocument) => T): Promise<T> {
    if (this.closed) throw new Error('The store is closed')
    const draft = structuredClone(this.db.data)
    const result = mutate(draft)
    this.db.data = draft
    await this.commit()
    return result
  }

  /** Resolve when everything changed so far is durable (or reject if that write fails). */
  commit(): Promise<void> {
    this.dirty = true
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
    if (!this.timer && !this.writing) this.timer = setTimeout(() => void this.flushNow(), this.debounceMs)
    return done
  }

  /** Write pending changes now (used at shutdown and by tests). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    while (this.writing) await this.writing.catch(() => {})
    if (this.dirty) await this.flushNow()
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.flush().catch(() => {})
    this.closed = true
    await this.lock?.release()
    this.lock = null
  }

  private async flushNow(): Promise<void> {
    // flush() may get here while a debounce timer is still pending; that timer must not write again later
    // (possibly after close() released the lock).
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.writing) return
    if (!this.dirty && this.waiters.length === 0) return
    const waiters = this.waiters
    this.waiters = []
    this.dirty = false
    // `writing` covers the backup too: flush() and close() wait for all of it.
    const run = this.writeAndBackUp(waiters)
    this.writing = run
    try {
      await run
    } finally {
      this.writing = null
    }
    if (this.waiters.length > 0 && !this.timer) this.timer = setTimeout(() => void this.flushNow(), this.debounceMs)
  }

  private async writeAndBackUp(waiters: { resolve: () => void; reject: (err: Error) => void }[]): Promise<void> {
    const written = this.db.data
    try {
      await this.db.write()
    } catch (err) {
      const error = new StoreWriteError(this.file, err as Error)
      this.lastWriteError = error
      this.log('error', error.message)
      // Undo the batch, and the changes made on top of it while it was being written: their callers are told
      // nothing was changed, and what they see afterwards is what db.json holds.
      this.db.data = this.durable
      const layered = this.waiters
      this.waiters = []
      this.dirty = false
      for (const w of [...waiters, ...layered]) w.reject(error)
      return
    }
    this.durable = written
    this.lastWriteError = null
    for (const w of waiters) w.resolve()
    await this.refreshBackup()
  }

  private async load(): Promise<void> {
    let doc: DbDocument | null
    try {
      doc = await this.db.adapter.read()
    } catch (err) {
      if (err instanceof StoreFormatError && err.fromNewerVersion) throw err
      await this.recoverFromCorruptFile(err as Error)
      return
    }
    // The file read cleanly: a failure from here on is an I/O problem (disk full, permissions), not corruption,
    // so it fails the open and leaves db.json where it is.
    if (doc === null) {
      // A missing db.json with a backup present means the file was lost, not a first start.
      if (fs.existsSync(this.backupFile)) {
        await this.restoreFromBackup('db.json was missing')
        return
      }
      this.db.data = emptyDocument()
      await this.db.write()
      return
    }
    this.db.data = doc
    if (doc.schemaVersion !== (await this.fileSchemaVersion())) await this.db.write()
    // It becomes the backup of the last good state.
    await writeFileDurably(this.backupFile, JSON.stringify(doc))
    this.backupTakenAt = Date.now()
  }

  /**
   * After a successful write: a first run (which had no backup at open) gets one at once, a long run one an hour.
   * A failed backup is logged and leaves the write acknowledged: db.json itself is on disk.
   */
  private async refreshBackup(): Promise<void> {
    if (this.backupTakenAt !== null && Date.now() - this.backupTakenAt < BACKUP_REFRESH_MS) return
    this.backupTakenAt = Date.now()
    try {
      await writeFileDurably(this.backupFile, JSON.stringify(this.db.data))
    } catch (err) {
      this.log('error', `The backup ${this.backupFile} could not be written: ${describeWriteError(err as Error)}`)
    }
  }

  private async fileSchemaVersion(): Promise<number | null> {
    try {
      const raw = JSON.parse(await fsp.readFile(this.file, 'utf8')) as { schemaVersion?: unknown }
      return typeof raw.schemaVersion === 'number' ? raw.schemaVersion : null
    } catch {
      return null
    }
  }

  private async recoverFromCorruptFile(cause: Error): Promise<void> {
    const movedTo = keptAsideName(this.file)
    await fsp.rename(this.file, movedTo)
    this.log('error', `db.json could not be read (${cause.message}); it was moved to ${movedTo}`)
    await this.restoreFromBackup(`db.json could not be read (${cause.message})`, movedTo)
  }

  private async restoreFromBackup(reason: string, movedTo = ''): Promise<void> {
    let restoredFrom: 'backup' | 'empty' = 'empty'
    let doc: DbDocument = emptyDocument()
    const takenAt = await fsp.stat(this.backupFile).then(
      (s) => s.mtime.toISOString(),
      () => null
    )
    try {
      doc = migrate(JSON.parse(await fsp.readFile(this.backupFile, 'utf8')))
      restoredFrom = 'backup'
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Kept for whoever wants to dig in: the next backup must not overwrite it.
        const keptAs = keptAsideName(this.backupFile)
        await fsp.rename(this.backupFile, keptAs).catch(() => {})
        this.log('error', `The backup ${this.backupFile} could not be read either (${(err as Error).message}); it was moved to ${keptAs}`)
      }
    }
    this.db.data = doc
    await this.db.write()
    const message =
      restoredFrom === 'backup'
        ? `${reason}. Fedgate restored the last good copy from ${path.basename(this.backupFile)}; changes made after it was taken (${takenAt}) are missing.`
        : `${reason}, and no readable backup exists. Fedgate started with an empty store.`
    this.recovery = { at: new Date().toISOString(), movedTo, restoredFrom, message }
    this.log('error', message)
  }
}

export { StoreFormatError }
export { StoreLockedError } from './lock.ts'
