// The revocation journal, pki/revocations.ndjson: every revoked device certificate and every removed TAK Server
// peer, appended and fsync'd before the change answers ok. db.json can go back in time (restored from its backup);
// this file does not, so at start it is replayed onto the document and the TLS checks consult it directly.

import fs from 'node:fs'
import path from 'node:path'
import { ApiError } from '../api/errors.ts'
import type { DbDocument, DeviceRecord, ExternalPeerRecord } from '../store/schema.ts'
import type { Store } from '../store/store.ts'
import { isDiskFull, StoreWriteError } from '../store/write-error.ts'
import { normalizeFingerprint } from './certificates.ts'

export type RevocationEntry =
  | { kind: 'device'; at: string; fingerprint: string; deviceId: string; callsign: string; networkId: string }
  /** A peer is named by its id: the same fingerprint may be registered again later, as a new peer. */
  | { kind: 'peer'; at: string; fingerprint: string; peerId: string; displayName: string; networkId: string }

/** What a replay changed in the document, in words for the recovery notice. */
export interface Replayed {
  devices: string[]
  peers: string[]
}

/** One line is a few hundred bytes; a longer one is not ours and is skipped rather than held. */
const MAX_LINE = 4096

export class RevocationJournal {
  readonly file: string
  private readonly devices = new Map<string, RevocationEntry & { kind: 'device' }>()
  private readonly peers = new Map<string, RevocationEntry & { kind: 'peer' }>()
  /** Lines that could not be read at open (a torn last line after a crash, or damage). */
  readonly unreadable: number
  /** A crash left the last line without its newline: the next append starts a new line so no entry is spoiled. */
  private torn: boolean

  private constructor(dir: string) {
    this.file = path.join(dir, 'revocations.ndjson')
    let text = ''
    try {
      // Only a regular file: a device in its place (/dev/zero) would be read forever.
      if (!fs.statSync(this.file).isFile())
        throw new Error(`${this.file} is not a regular file; move it away so Fedgate can keep its revocations there.`)
      text = fs.readFileSync(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    let unreadable = 0
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      const entry = line.length <= MAX_LINE ? parseEntry(line) : null
      if (entry) this.remember(entry)
      else unreadable++
    }
    this.unreadable = unreadable
    this.torn = text.length > 0 && !text.endsWith('\n')
  }

  static open(pkiDir: string): RevocationJournal {
    return new RevocationJournal(pkiDir)
  }

  /** Whether a device certificate with this SHA-256 fingerprint was ever revoked (or its device deleted). */
  deviceRevoked(fingerprint: string): boolean {
    const key = normalizeFingerprint(fingerprint)
    return key !== null && this.devices.has(key)
  }

  peerRemoved(peerId: string): boolean {
    return this.peers.has(peerId)
  }

  /**
   * Append `entries` and fsync before returning: only then may the revocation be reported done. A full disk
   * refuses the whole change (`unavailable`) before anything else is touched.
   */
  record(entries: RevocationEntry[]): void {
    const fresh = entries.filter((e) => (e.kind === 'device' ? !this.deviceRevoked(e.fingerprint) : !this.peerRemoved(e.peerId)))
    if (fresh.length === 0) return
    const created = !fs.existsSync(this.file)
    try {
      const fd = fs.openSync(this.file, 'a', 0o600)
      try {
        fs.writeFileSync(fd, (this.torn ? '\n' : '') + fresh.map((e) => `${JSON.stringify(e)}\n`).join(''))
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
      this.torn = false
      if (created) syncDirectory(path.dirname(this.file))
    } catch (err) {
      throw new ApiError(
        'unavailable',
        isDiskFull(err)
          ? "The data directory's disk is full, so the revocation could not be recorded; nothing was changed. Free some space and try again."
          : `The revocation could not be recorded in ${this.file} (${(err as Error).message}); nothing was changed.`
      )
    }
    for (const entry of fresh) this.remember(entry)
  }

  /** Re-apply every recorded revocation to `doc` (which may be an older copy): returns what it had to change. */
  replay(doc: DbDocument): Replayed {
    const replayed: Replayed = { devices: [], peers: [] }
    for (const device of doc.devices) {
      const entry = device.revokedAt === null ? this.devices.get(normalizeFingerprint(device.fingerprint) ?? '') : undefined
      if (!entry) continue
      device.revokedAt = entry.at
      replayed.devices.push(`device '${device.callsign}' (revoked ${entry.at})`)
    }
    const kept = doc.externalPeers.filter((peer) => {
      const entry = this.peers.get(peer.id)
      if (entry) replayed.peers.push(`TAK Server '${peer.displayName}' (removed ${entry.at})`)
      return !entry
    })
    doc.externalPeers = kept
    return replayed
  }

  private remember(entry: RevocationEntry): void {
    if (entry.kind === 'device') {
      const key = normalizeFingerprint(entry.fingerprint)
      if (key) this.devices.set(key, entry)
    } else this.peers.set(entry.peerId, entry)
  }
}

export const deviceRevocation = (d: DeviceRecord, at: string): RevocationEntry => ({
  kind: 'device',
  at,
  fingerprint: d.fingerprint,
  deviceId: d.id,
  callsign: d.callsign,
  networkId: d.networkId
})

export const peerRemoval = (p: ExternalPeerRecord, at: string): RevocationEntry => ({
  kind: 'peer',
  at,
  fingerprint: p.fingerprint,
  peerId: p.id,
  displayName: p.displayName,
  networkId: p.networkId
})

/**
 * Journal `entries`, then make the change in db.json. The journal comes first because it is what a restore cannot
 * undo; if db.json then cannot be saved, the revocation is still in force (the TLS checks read the journal) and the
 * operator is told the list will show it after the next start.
 */
export async function revokeThen<T>(journal: RevocationJournal, entries: RevocationEntry[], change: () => Promise<T>): Promise<T> {
  journal.record(entries)
  try {
    return await change()
  } catch (err) {
    if (!(err instanceof StoreWriteError)) throw err
    throw new ApiError(
      'unavailable',
      `${err.diskFull ? "The data directory's disk is full" : 'db.json could not be written'}: the revocation is recorded and in force ` +
        'from now on, but the lists show it only once Fedgate can save it (it is applied again at the next start).'
    )
  }
}

/**
 * At start: put every journaled revocation back into db.json (a restored backup, or a save that failed after the
 * journal entry). After a recovery the notice says what was re-applied; otherwise a warning does.
 */
export async function replayRevocations(store: Store, journal: RevocationJournal, log: (message: string) => void): Promise<Replayed> {
  const preview = journal.replay(structuredClone(store.data) as DbDocument)
  if (preview.devices.length + preview.peers.length === 0) return preview
  const replayed = await store.update((doc) => journal.replay(doc))
  const what = [...replayed.devices, ...replayed.peers].join(', ')
  const sentence = `Re-applied from pki/revocations.ndjson, so they stay revoked or removed: ${what}.`
  if (store.recovery) store.recovery = { ...store.recovery, message: `${store.recovery.message} ${sentence}` }
  log(sentence)
  return replayed
}

function parseEntry(line: string): RevocationEntry | null {
  try {
    const raw = JSON.parse(line) as Record<string, unknown>
    const str = (k: string): boolean => typeof raw[k] === 'string'
    if (!str('at') || !str('fingerprint') || !str('networkId')) return null
    if (raw.kind === 'device' && str('deviceId') && str('callsign')) return raw as RevocationEntry
    if (raw.kind === 'peer' && str('peerId') && str('displayName')) return raw as RevocationEntry
  } catch {
    // A torn last line: counted by the caller.
  }
  return null
}

function syncDirectory(dir: string): void {
  let fd: number | undefined
  try {
    fd = fs.openSync(dir, 'r')
    fs.fsyncSync(fd)
  } catch {
    // Some filesystems refuse fsync on a directory; the file itself is synced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}
