// The copy of one of our packages a TAK Server peer receives: without blocked zip entries, nothing above the size
// limit, no zip bomb; the hash the peer then knows it under, and the ROL message that carries it.

import { createHash } from 'node:crypto'
import type { Logger } from '../../log.ts'
import type { DataPackageRecord } from '../../store/schema.ts'
import { isLocalOrigin } from '../../packages/sharing.ts'
import type { PackageStore } from '../../packages/store.ts'
import { isBlocked, stripBlockedEntries, ZipTooLargeError } from '../../packages/zip.ts'
import { createResourceRol, dispersePackageRol, type RolMessage, type RolPackageDetails } from './rol.ts'

export interface PeerCopiesOptions {
  packages: PackageStore
  /** Settings Packages:BlockedExtensions, read on each use. */
  blockedExtensions: () => readonly string[]
  /** Largest bytes attached to one ROL message. */
  maxRolBytes: () => number
  log?: Logger | null
}

interface Prepared {
  hash: string
  bytes: Buffer | null
  removed: string[]
}

export class PeerCopies {
  /** Packages not federated because their zip would expand too far (a zip bomb), shown in health. */
  zipBombs = 0
  /**
   * Hash each package goes out to peers under (ours, or the stripped copy's), by our hash. Only a cache: stripping is
   * deterministic (entries, order and times come from the original), so after a restart it is computed again.
   */
  private readonly federatedHash = new Map<string, string>()

  constructor(private readonly o: PeerCopiesOptions) {}

  async disperseFor(record: DataPackageRecord): Promise<RolMessage | null> {
    const prepared = await this.prepare(record)
    if (!prepared) return null
    const details: RolPackageDetails = {
      sha256: prepared.hash,
      name: record.name,
      filename: record.name,
      senderUrl: '',
      sizeInBytes: prepared.bytes?.length ?? record.size,
      senderCallsign: record.source.label,
      dest: { callsigns: [], uids: [] },
      tsStored: Date.parse(record.createdAt) || null
    }
    return dispersePackageRol(details, prepared.bytes)
  }

  async createResourceFor(record: DataPackageRecord): Promise<RolMessage | null> {
    const prepared = await this.prepare(record)
    if (!prepared) return null
    return createResourceRol(
      {
        hash: prepared.hash,
        name: record.name,
        filename: record.name,
        mimeType: record.mimeType,
        keywords: ['missionpackage'],
        submissionTime: record.createdAt,
        submitter: record.source.label,
        uid: record.id,
        creatorUid: record.creatorUid ?? '',
        size: prepared.bytes?.length ?? record.size,
        tool: record.private ? 'private' : 'public'
      },
      prepared.bytes
    )
  }

  /**
   * The bytes a peer receives: without blocked zip entries (TAK's fileFilter), and none at all above the size limit
   * (TAK skips the attachment too). Null when the package has been removed (messages to peers are built when their
   * turn comes, maybe well after they were queued), has a blocked extension, or cannot be read as a zip.
   */
  private async prepare(record: DataPackageRecord): Promise<Prepared | null> {
    if (!this.o.packages.byId(record.id)) return null
    const blocked = this.o.blockedExtensions()
    if (isBlocked(record.name, blocked)) return null
    if (record.size > this.o.maxRolBytes()) return { hash: record.hash, bytes: null, removed: [] }
    const original = await this.o.packages.readBytes(record)
    try {
      const { bytes, removed } = await stripBlockedEntries(original, blocked, this.o.maxRolBytes() * 4)
      const hash = removed.length > 0 ? createHash('sha256').update(bytes).digest('hex') : record.hash
      this.federatedHash.set(record.hash, hash)
      if (removed.length > 0) {
        this.o.log?.info(
          `package '${record.name}' goes to peers without ${removed.length} blocked entr${removed.length === 1 ? 'y' : 'ies'}`
        )
      }
      return { hash, bytes, removed }
    } catch (err) {
      if (err instanceof ZipTooLargeError) {
        this.zipBombs++
        this.o.log?.warn(`package '${record.name}' is kept here but not federated: ${err.message} (code zip_too_large)`)
      } else {
        this.o.log?.warn(`package '${record.name}' is not federated: its zip could not be checked (${(err as Error).message})`)
      }
      return null
    }
  }

  /** The hash peers know our package under; null when it is not federated at all (blocked, unreadable). */
  async federatedHashOf(record: DataPackageRecord): Promise<string | null> {
    return this.federatedHash.get(record.hash) ?? (await this.prepare(record))?.hash ?? null
  }

  /**
   * A record by the hash a peer knows it under (ours, or the stripped copy's). After a restart the stripped hashes
   * are computed again for this network's own packages, once each, until one matches.
   */
  async findFederatedRecord(networkId: string, hash: string): Promise<DataPackageRecord | undefined> {
    const direct = this.o.packages.byHash(networkId, hash)
    if (direct) return direct
    for (const [ours, federated] of this.federatedHash) {
      const record = federated === hash ? this.o.packages.byHash(networkId, ours) : undefined
      if (record) return record
    }
    for (const record of this.o.packages.listForNetwork(networkId)) {
      if (!isLocalOrigin(record) || this.federatedHash.has(record.hash)) continue
      if ((await this.federatedHashOf(record)) === hash) return record
    }
    return undefined
  }
}
