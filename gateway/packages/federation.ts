// Data packages across federations: packages crossing local federations (listed on the receiving network too), and
// packages exchanged with external TAK Servers over ROL (DP-Out: `create resource` + `announce package`; DP-In: store
// what a peer sends, announce it).

import type { CotEvent } from '../cot/event.ts'
import type { Logger } from '../log.ts'
import type { Store } from '../store/store.ts'
import type { DataPackageRecord, ExternalPeerRecord } from '../store/schema.ts'
import type { LocalLink } from '../routing/types.ts'
import { computeLocalLinks } from '../routing/local-links.ts'
import {
  announcePackageRol,
  createResourceRol,
  dispersePackageRol,
  interpretPackageRol,
  requestPackageRol,
  type RolMessage,
  type RolPackageDetails
} from './rol.ts'
import { buildFileshareEvent, martiContentUrl, parseFileshare, rewriteSenderUrl } from './fileshare.ts'
import { PackageUploadError, type PackageStore } from './store.ts'
import { isBlocked, stripBlockedEntries, ZipTooLargeError } from './zip.ts'
import { AwaitingBytes } from './awaiting.ts'
import { ENTRY_OVERHEAD_BYTES, ownCopy, type ByteBudget } from '../routing/byte-budget.ts'
import { createHash } from 'node:crypto'

/**
 * How long a package a device uploaded waits before it is offered to TAK Server peers (DP-Out). ATAK (commo) sends a
 * package to chosen contacts by uploading it without `tool` (so it is stored public) and making it private with
 * `PUT …/metadata/<hash>/tool` right after, usually within a second or two (tak-devices.md §2.2). Offered at once,
 * such a package went to every peer as a public package before the `private` arrived, and TAK has no way to take
 * it back. Operator uploads and packages from elsewhere are not held back.
 */
export const DEVICE_UPLOAD_GRACE_MS = 5_000

export interface PackageFederationOptions {
  packages: PackageStore
  store: Store
  /** Settings Packages:BlockedExtensions, read on each use. */
  blockedExtensions: () => readonly string[]
  /** Largest bytes attached to one ROL message (and largest package accepted from a peer). */
  maxRolBytes: () => number
  /** Our Marti API port as bound. */
  martiPort: () => number
  /** Host put in fileshares we create before the router rewrites them per receiver (Federation:AdvertisedHostname). */
  defaultHost: () => string
  /** Hand a CoT event to every device of a network (the router's local delivery; honours `<marti><dest>`). */
  deliverToNetwork: (networkId: string, event: CotEvent) => void
  /** A network's package list changed without an operator asking (consoles showing it refresh). Default: nothing. */
  listChanged?: (networkId: string) => void
  /** How long an announced package may wait for its bytes before the log says it never came. Default 60 s. */
  awaitBytesWarnMs?: number
  /**
   * How long after it was stored a device's upload waits before it is offered to TAK Server peers (a `private` may
   * follow, see DEVICE_UPLOAD_GRACE_MS). Default 0; startPackages() passes DEVICE_UPLOAD_GRACE_MS unless told otherwise.
   */
  deviceUploadGraceMs?: number
  /** The gateway-wide cache budget (Memory:CacheBytes) announcements waiting for their bytes are charged to. */
  cacheBudget?: ByteBudget
  log?: Logger | null
}

/**
 * A ROL message for a peer, built only when the link is ready to send it: a package's bytes are read then, one package
 * at a time (federation/tak/rol-flow.ts), never all of a network's packages at once.
 */
export interface PendingRol {
  /** While one with this key waits or is on its way to the peer, another is not queued (null: no key). */
  key: string | null
  /** Null: nothing to send after all (the package was removed, or can no longer be read as a zip). */
  build(): Promise<RolMessage | null>
  /** Once the message has gone: record this package as shared with the peer (markSharedWithPeer). */
  sharesPackage: string | null
  /** Bytes held until it is built (the link bounds what waits by them); absent: next to nothing. */
  holds?: number
}

/** A message already built (small: no package bytes). */
const built = (rol: RolMessage, key: string | null = null): PendingRol => ({
  key,
  build: async () => rol,
  sharesPackage: null,
  holds: 2 * rol.program.length + rol.payload.reduce((sum, p) => sum + p.data.length, 0)
})

interface Prepared {
  hash: string
  bytes: Buffer | null
  removed: string[]
}

export class PackageFederation {
  /** Malformed ROL programs received, per peer id (shown in health, never fatal). */
  readonly malformedRol = new Map<string, number>()
  /** Packages not federated because their zip would expand too far (a zip bomb), shown in health. */
  zipBombs = 0
  /** Fileshares announced by a peer whose bytes we asked for: sha256 → where to announce once they arrive. */
  private readonly awaitingBytes: AwaitingBytes
  /**
   * Hash each package goes out to peers under (ours, or the stripped copy's), by our hash. Only a cache: stripping is
   * deterministic (entries, order and times come from the original), so after a restart it is computed again.
   */
  private readonly federatedHash = new Map<string, string>()
  /**
   * Packages a fileshare sends to a peer (`peerId packageId`), until they have gone: created there even when private.
   * A `create resource` an offer queued earlier (same key) may be the one that carries them.
   */
  private readonly sentByFileshare = new Set<string>()
  /** Fileshare events whose package we hold (fileshareForReceiver), while the event lives. */
  private readonly heldFileshares = new WeakMap<CotEvent, boolean>()

  constructor(private readonly o: PackageFederationOptions) {
    this.awaitingBytes = new AwaitingBytes(o.cacheBudget)
  }

  /** Announced packages whose bytes have not come (health, tests). */
  get awaitingAnnouncements(): number {
    return this.awaitingBytes.size
  }

  // ─── local federations ─────────────────────────────────────────────────────
  // A package that reaches another network of this gateway over a local federation is listed there too, as one from
  // the sending network (source kind 'federation', as a peer's are 'peer'), over the same file: that network's
  // operators see, download and delete what arrived, and the sender's record says where it went. What arrived stays
  // when a toggle goes off or the federation stops; the toggles decide only what passes from then on.

  /** A fileshare about to reach a device: senderUrl pointed at our Marti API on the host that device connected to. */
  fileshareForReceiver(event: CotEvent, receiverHost: string): CotEvent {
    // Only for a package we hold: one we do not would be a 404 here, where the sender's URL may still serve it.
    // Asked once per receiver: decided once per event.
    let held = this.heldFileshares.get(event)
    if (held === undefined) {
      const share = parseFileshare(event)
      held = share !== null && this.o.packages.all().some((record) => record.hash === share.sha256)
      this.heldFileshares.set(event, held)
    }
    return held ? rewriteSenderUrl(event, receiverHost, this.o.martiPort()) : event
  }

  /**
   * A fileshare crossed `link` (its packages pass) and the router handed it to devices of its far network: the package
   * it names arrived there, whatever its visibility (a device sent it). Those devices can already fetch it from the
   * sender's network over Marti; this lists it for the far network's operators. Fire and forget; unknown hashes are
   * ignored.
   */
  onFileshareCrossedLink(event: CotEvent, link: LocalLink): void {
    const share = parseFileshare(event)
    const record = share ? this.o.packages.byHash(link.from, share.sha256) : undefined
    if (!record) return
    this.carry(record.id, link, () => true).then(
      (changed) => {
        if (changed) this.listsChanged([link.from, link.to])
      },
      (err: unknown) => this.o.log?.warn(`could not list a package on the network it was sent to: ${(err as Error).message}`)
    )
  }

  /**
   * DP-Out → DP-In: public device and operator uploads (never what arrived over a federation: single hop) go to each
   * network a local federation passes packages to, once per federation, as they are created on a TAK Server peer
   * (packagesToFederate); that network's devices find them on the Marti API anyway. Not again after the far side
   * deleted its copy. With `packageId`, only that package. Call when a package is stored or made public, and when
   * federations or their toggles change.
   */
  async shareOverLocalLinks(packageId: string | null = null): Promise<void> {
    const changed = new Set<string>()
    await this.shareInto(changed, packageId)
    // One refresh per network, however many packages a federation turned on just carried.
    this.listsChanged(changed)
  }

  /**
   * A package made private or public (its device's `tool`, its peer's update). Over the local federations that pass
   * packages from its network, the far networks follow: made public, it is shared with them; made private, the copy
   * it left there is taken back. ATAK uploads what it sends to chosen contacts as public and hides it right after;
   * without this, each such package would stay listed on every federated network. A fileshare that then reaches
   * devices there lists it again (private).
   */
  async setPrivate(packageId: string, isPrivate: boolean): Promise<void> {
    const record = this.o.packages.byId(packageId)
    if (!record || record.private === isPrivate) return
    await this.o.packages.setPrivate(packageId, isPrivate)
    const changed = new Set([record.networkId])
    if (isPrivate) {
      // TAK has no way we know of to take back a package it was given (nor to hide it: `update resource` is not
      // documented as something a TAK Server acts on): the peers it went to keep it, public. Say so, once.
      const peers = record.sharedWith.filter((s) => s.kind === 'peer').map((s) => `'${s.label}'`)
      if (peers.length > 0) {
        this.o.log?.info(
          `data package '${record.name}' (${record.hash.slice(0, 12)}…) was made private after it went to TAK Server peer${peers.length === 1 ? '' : 's'} ` +
            `${peers.join(', ')}; the copy there cannot be taken back and stays as it was sent`
        )
      }
      for (const link of this.packageLinksFrom(record.networkId)) {
        if (await this.o.packages.withdrawCopy(packageId, link.to, link.federationId)) changed.add(link.to)
      }
    } else {
      await this.shareInto(changed, packageId)
    }
    this.listsChanged(changed)
  }

  /** shareOverLocalLinks, adding the networks whose lists changed to `changed`. */
  private async shareInto(changed: Set<string>, packageId: string | null): Promise<void> {
    const only = packageId === null ? null : this.o.packages.byId(packageId)
    if (packageId !== null && !only) return
    for (const link of this.packageLinksFrom(only?.networkId ?? null)) {
      const due = (record: DataPackageRecord): boolean => isLocalOrigin(record) && !record.private && !sharedOver(record, link)
      const ids = only ? [only.id] : this.o.packages.listForNetwork(link.from).map((r) => r.id)
      for (const id of ids) if (await this.carry(id, link, due)) changed.add(link.from).add(link.to)
    }
  }

  /**
   * List package `id` of `link.from` on `link.to` if `due` holds for it now, and note on it where it went. Resolves to
   * whether either list changed.
   */
  private async carry(id: string, link: LocalLink, due: (record: DataPackageRecord) => boolean): Promise<boolean> {
    const record = this.o.packages.byId(id)
    if (!record || !due(record)) return false
    const noted = sharedOver(record, link)
    const listed = this.o.packages.byHash(link.to, record.hash) !== undefined
    const copy = await this.o.packages.addCopy(
      id,
      { networkId: link.to, source: { kind: 'federation', label: this.networkName(link.from), id: link.federationId } },
      { kind: 'federation', id: link.federationId, label: this.networkName(link.to) }
    )
    return copy !== null && !(noted && listed)
  }

  private listsChanged(networkIds: Iterable<string>): void {
    for (const networkId of networkIds) this.o.listChanged?.(networkId)
  }

  /** Links of local federations that pass packages now (DP-Out → DP-In), from `networkId` or from any network. */
  private packageLinksFrom(networkId: string | null): LocalLink[] {
    return computeLocalLinks(this.o.store.data).filter((l) => l.packages && (networkId === null || l.from === networkId))
  }

  private networkName(networkId: string): string {
    return this.o.store.data.networks.find((n) => n.id === networkId)?.name ?? networkId
  }

  // ─── external TAK Servers, DP-Out ──────────────────────────────────────────

  /**
   * Packages of the peer's network that should be created on the peer and are not yet: device and operator uploads
   * (never what arrived over a federation: single hop), public ones only, a device's only once its grace has passed
   * (offerDelayMs; whoever offers must offer again then). Empty when the peer's DP-Out is off. Each is checked again
   * when it is built: one made private (or removed) meanwhile is not sent.
   */
  packagesToFederate(peer: ExternalPeerRecord): PendingRol[] {
    if (!peer.sharePackages) return []
    const out: PendingRol[] = []
    const now = Date.now()
    for (const record of this.o.packages.listForNetwork(peer.networkId)) {
      if (!isLocalOrigin(record) || record.private) continue
      if (record.sharedWith.some((s) => s.kind === 'peer' && s.id === peer.id)) continue
      if (this.graceLeft(record, now) > 0) continue
      out.push(this.pendingCreate(record, peer.id))
    }
    return out
  }

  /**
   * Milliseconds until package `packageId` may be offered to TAK Server peers: 0 when it may be now (or it is gone).
   * Only a device's upload waits, DEVICE_UPLOAD_GRACE_MS after it was stored.
   */
  offerDelayMs(packageId: string): number {
    const record = this.o.packages.byId(packageId)
    return record ? this.graceLeft(record, Date.now()) : 0
  }

  /** Packages still in their grace (device uploads stored moments ago), in one pass over the index: for start-up. */
  packagesInGrace(): string[] {
    const now = Date.now()
    return this.o.packages.all().filter((record) => this.graceLeft(record, now) > 0).map((record) => record.id)
  }

  private graceLeft(record: DataPackageRecord, now: number): number {
    const grace = this.o.deviceUploadGraceMs ?? 0
    if (grace <= 0 || record.source.kind !== 'device') return 0
    const storedAt = Date.parse(record.createdAt)
    if (!Number.isFinite(storedAt)) return 0
    return Math.max(0, Math.min(grace, storedAt + grace - now))
  }

  async markSharedWithPeer(packageId: string, peer: Pick<ExternalPeerRecord, 'id' | 'displayName'>): Promise<void> {
    this.sentByFileshare.delete(`${peer.id} ${packageId}`)
    await this.o.packages.recordShare(packageId, { kind: 'peer', id: peer.id, label: peer.displayName })
  }

  /**
   * A fileshare CoT (b-f-t-r) from a device of the peer's network, about to go to that peer. TAK does not federate it as
   * a CoT: it becomes `create resource` (when the peer does not have the bytes yet) followed by `announce package`.
   * Returns the ROL messages to send in order; empty when DP-Out is off or the package is unknown or blocked.
   * The caller must not send the CoT itself to the peer.
   */
  fileshareToPeer(event: CotEvent, peer: ExternalPeerRecord): PendingRol[] {
    if (!peer.sharePackages) return []
    const share = parseFileshare(event)
    if (!share) return []
    const record = this.o.packages.byHash(peer.networkId, share.sha256)
    if (!record || !isLocalOrigin(record)) return []
    if (isBlocked(record.name, this.o.blockedExtensions())) return []
    const messages: PendingRol[] = []
    if (!record.sharedWith.some((s) => s.kind === 'peer' && s.id === peer.id)) {
      // Sent to someone there: created on the peer whatever its visibility (as private when it is).
      this.noteSentByFileshare(`${peer.id} ${record.id}`)
      messages.push(this.pendingCreate(record, peer.id))
    }
    // What the announcement needs, copied out of the event (up to Streaming:MaxEventBytes) so that it is all it holds
    // while it waits its turn behind packages on their way.
    const name = ownCopy(share.name || record.name)
    const filename = ownCopy(share.filename || record.name)
    const senderCallsign = ownCopy(share.senderCallsign)
    const dest = { callsigns: event.dest.callsigns.map(ownCopy), uids: event.dest.uids.map(ownCopy) }
    const chars = [name, filename, senderCallsign, ...dest.callsigns, ...dest.uids].reduce((sum, text) => sum + text.length, 0)
    messages.push({
      key: null,
      sharesPackage: null,
      holds: 2 * chars + ENTRY_OVERHEAD_BYTES,
      build: async () => {
        const hash = await this.federatedHashOf(record)
        if (hash === null) return null
        return announcePackageRol({
          sha256: hash,
          name,
          filename,
          senderUrl: '',
          sizeInBytes: record.size,
          senderCallsign,
          dest,
          tsStored: Date.parse(record.createdAt) || null
        })
      }
    })
    return messages
  }

  // ─── external TAK Servers, DP-In (and requests from a peer) ────────────────

  /**
   * A ROL message from peer `peerId` on network `networkId`. Stores packages when the peer has DP-In, announces to the
   * network's devices those the peer announces (a fileshare on its side), and answers requests when it has DP-Out. Returns ROL messages to send back to the peer.
   * Never throws for bad input: malformed ROL is logged and counted.
   */
  async onPeerRol(peerId: string, networkId: string, rol: { program: unknown; payload?: unknown }): Promise<PendingRol[]> {
    const peer = this.o.store.data.externalPeers.find((p) => p.id === peerId && p.networkId === networkId)
    if (!peer) return []
    const parsed = interpretPackageRol(rol)
    if (!parsed.ok) {
      this.malformedRol.set(peerId, (this.malformedRol.get(peerId) ?? 0) + 1)
      this.o.log?.warn(`peer '${peer.displayName}' sent malformed ROL: ${parsed.error}`)
      return []
    }
    const msg = parsed.value
    try {
      switch (msg.kind) {
        case 'createResource': {
          if (!peer.acceptPackages) return []
          if (!msg.bytes) return [built(requestPackageRol(msg.meta.hash), `request:${msg.meta.hash}`)]
          await this.storeFromPeer(peer, msg.bytes, {
            hash: msg.meta.hash,
            name: msg.meta.filename || msg.meta.name,
            mimeType: msg.meta.mimeType,
            private: msg.meta.tool === 'private',
            creatorUid: msg.meta.creatorUid
          })
          // Stored and listed (devices find it in the server's packages), announced to no one: TAK federates every
          // Enterprise Sync upload this way, and tells clients of a package only with the `announce package` that a
          // fileshare becomes (spec §5.3), naming its recipients. Announcing here too offered each shared package
          // twice, and a package ATAK sends to chosen contacts to everyone first.
          return []
        }
        case 'dispersePackage': {
          if (!peer.acceptPackages || !msg.bytes) return []
          const record = await this.storeFromPeer(peer, msg.bytes, { hash: msg.details.sha256, name: msg.details.filename, private: false })
          const waiting = record && this.awaitingBytes.take(msg.details.sha256, networkId)
          if (record && waiting) this.announceToDevices(record, peer, waiting.details)
          return []
        }
        case 'announcePackage': {
          if (!peer.acceptPackages) return []
          const record = this.o.packages.byHash(networkId, msg.details.sha256)
          if (record) {
            this.announceToDevices(record, peer, msg.details)
            return []
          }
          this.rememberAwaiting(networkId, msg.details, peer.displayName)
          return [built(requestPackageRol(msg.details.sha256), `request:${msg.details.sha256}`)]
        }
        case 'requestPackage': {
          if (!peer.sharePackages) return []
          const record = await this.findFederatedRecord(networkId, msg.sha256)
          if (!record || !isLocalOrigin(record)) return []
          // Asked again while the answer waits or is on its way: one answer (a peer cannot make us read it N times).
          return [{ key: `disperse:${record.id}`, sharesPackage: null, build: () => this.disperseFor(record) }]
        }
        case 'updateResource': {
          if (!peer.acceptPackages || msg.tool === null) return []
          const record = this.o.packages.byHash(networkId, msg.hash)
          if (record && record.source.kind === 'peer' && record.source.id === peer.id) {
            await this.setPrivate(record.id, msg.tool.toLowerCase() === 'private')
          }
          return []
        }
        case 'ignored':
          return []
      }
    } catch (err) {
      this.o.log?.warn(`ROL from peer '${peer.displayName}' could not be handled: ${(err as Error).message}`)
      return []
    }
  }

  // ─── helpers ───────────────────────────────────────────────────────────────

  /**
   * `create resource` for a package of ours to peer `peerId`, read when it is built; recorded as shared once it has
   * gone. When its turn comes the record is read again: removed, or made private (ATAK's `tool` call) and not sent to
   * someone on that peer by a fileshare, nothing is built, so nothing goes and it is not recorded as shared.
   */
  private pendingCreate(record: DataPackageRecord, peerId: string): PendingRol {
    return {
      key: `create:${record.id}`,
      sharesPackage: record.id,
      build: async () => {
        const current = this.o.packages.byId(record.id)
        if (!current) return null
        if (current.private && !this.sentByFileshare.has(`${peerId} ${record.id}`)) return null
        return this.createResourceFor(current)
      }
    }
  }

  private noteSentByFileshare(key: string): void {
    // Entries leave once their package has gone (markSharedWithPeer); bounded for those that never go.
    if (this.sentByFileshare.size >= 10_000 && !this.sentByFileshare.has(key)) {
      const oldest = this.sentByFileshare.values().next().value
      if (oldest !== undefined) this.sentByFileshare.delete(oldest)
    }
    this.sentByFileshare.add(key)
  }

  private async disperseFor(record: DataPackageRecord): Promise<RolMessage | null> {
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

  private async createResourceFor(record: DataPackageRecord): Promise<RolMessage | null> {
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
        this.o.log?.info(`package '${record.name}' goes to peers without ${removed.length} blocked entr${removed.length === 1 ? 'y' : 'ies'}`)
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
  private async federatedHashOf(record: DataPackageRecord): Promise<string | null> {
    return this.federatedHash.get(record.hash) ?? (await this.prepare(record))?.hash ?? null
  }

  /**
   * A record by the hash a peer knows it under (ours, or the stripped copy's). After a restart the stripped hashes
   * are computed again for this network's own packages, once each, until one matches.
   */
  private async findFederatedRecord(networkId: string, hash: string): Promise<DataPackageRecord | undefined> {
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

  private async storeFromPeer(
    peer: ExternalPeerRecord,
    bytes: Buffer,
    meta: { hash: string; name: string; mimeType?: string; private: boolean; creatorUid?: string }
  ): Promise<DataPackageRecord | null> {
    if (bytes.length > this.o.maxRolBytes()) {
      this.o.log?.warn(`peer '${peer.displayName}' sent a package larger than the limit; it was not stored`)
      return null
    }
    try {
      return await this.o.packages.ingestBuffer(bytes, {
        networkId: peer.networkId,
        name: meta.name,
        mimeType: meta.mimeType,
        expectedHash: meta.hash,
        source: { kind: 'peer', label: peer.displayName, id: peer.id },
        creatorUid: meta.creatorUid || null,
        private: meta.private
      })
    } catch (err) {
      if (err instanceof PackageUploadError) {
        this.o.log?.warn(`peer '${peer.displayName}' sent a package that was not stored: ${err.message}`)
        return null
      }
      throw err
    }
  }

  private announceToDevices(record: DataPackageRecord, peer: ExternalPeerRecord, details: RolPackageDetails | null): void {
    const event = buildFileshareEvent({
      sha256: record.hash,
      filename: details?.filename || record.name,
      name: details?.name || record.name,
      sizeInBytes: record.size,
      senderUrl: martiContentUrl(this.o.defaultHost(), this.o.martiPort(), record.hash),
      senderUid: peer.id,
      senderCallsign: details?.senderCallsign || peer.displayName,
      dest: details?.dest
    })
    this.o.deliverToNetwork(record.networkId, event)
  }

  private rememberAwaiting(networkId: string, details: RolPackageDetails, peerName: string): void {
    // A TAK Server never answers `request package` (it sends bytes only with `create resource`, spec §5.3.3): when
    // it announced a package it did not send (one over a size limit, for example), the devices it was meant for never
    // get it. Say so once, so an operator can ask the other side instead of waiting.
    // The warning reads the kept copy (`kept`), so the peer's whole ROL program is not held until it runs.
    this.awaitingBytes.remember(networkId, details, this.o.awaitBytesWarnMs ?? 60_000, ({ details: kept }) => {
      // Arrived meanwhile (a create resource came after the announcement): nothing to say.
      if (this.o.packages.byHash(networkId, kept.sha256)) return
      this.o.log?.warn(
        `peer '${peerName}' announced data package ${JSON.stringify(kept.filename || kept.name)} (${kept.sha256.slice(0, 12)}…) but did not send it; ` +
          'TAK Servers send a package only once, with its announcement, so ask them to send it again'
      )
    })
  }
}

/** Whether the package's record notes that it went over the link's federation. */
function sharedOver(record: DataPackageRecord, link: LocalLink): boolean {
  return record.sharedWith.some((s) => s.kind === 'federation' && s.id === link.federationId)
}

function isLocalOrigin(record: DataPackageRecord): boolean {
  return record.source.kind === 'device' || record.source.kind === 'operator'
}
