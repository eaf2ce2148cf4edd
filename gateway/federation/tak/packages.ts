// Data packages exchanged with TAK Server peers over ROL (DP-Out: `create resource` + `announce package`; DP-In: store
// what a peer sends, announce it to the network's devices). What crosses local federations is packages/sharing.ts.

import type { CotEvent } from '../../cot/event.ts'
import type { Logger } from '../../log.ts'
import type { Store } from '../../store/store.ts'
import type { DataPackageRecord, ExternalPeerRecord } from '../../store/schema.ts'
import type { LocalLink } from '../../routing/types.ts'
import { announcePackageRol, interpretPackageRol, requestPackageRol, type RolMessage, type RolPackageDetails } from './rol.ts'
import { buildFileshareEvent, martiContentUrl, parseFileshare } from '../../packages/fileshare.ts'
import { PackageSharing, isLocalOrigin } from '../../packages/sharing.ts'
import { PackageUploadError, type PackageStore } from '../../packages/store.ts'
import { isBlocked } from '../../packages/zip.ts'
import { AwaitingBytes } from './awaiting.ts'
import { PeerCopies } from './package-copies.ts'
import { ENTRY_OVERHEAD_BYTES, ownCopy, type ByteBudget } from '../../routing/byte-budget.ts'

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
   * follow, see DEVICE_UPLOAD_GRACE_MS). Default 0. Unused with `sharing`, which has its own.
   */
  deviceUploadGraceMs?: number
  /** The package area's local sharing (it answers visibility changes and upload grace). Default: one of our own. */
  sharing?: PackageSharing
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

export class PackageFederation {
  /** Malformed ROL programs received, per peer id (shown in health, never fatal). */
  readonly malformedRol = new Map<string, number>()
  /** Fileshares announced by a peer whose bytes we asked for: sha256 → where to announce once they arrive. */
  private readonly awaitingBytes: AwaitingBytes
  /**
   * Packages a fileshare sends to a peer (`peerId packageId`), until they have gone: created there even when private.
   * A `create resource` an offer queued earlier (same key) may be the one that carries them.
   */
  private readonly sentByFileshare = new Set<string>()
  private readonly sharing: PackageSharing
  private readonly copies: PeerCopies

  constructor(private readonly o: PackageFederationOptions) {
    this.awaitingBytes = new AwaitingBytes(o.cacheBudget)
    this.sharing = o.sharing ?? new PackageSharing(o)
    this.copies = new PeerCopies(o)
  }

  /** Packages not federated because their zip would expand too far (a zip bomb), shown in health. */
  get zipBombs(): number {
    return this.copies.zipBombs
  }

  /** Announced packages whose bytes have not come (health, tests). */
  get awaitingAnnouncements(): number {
    return this.awaitingBytes.size
  }

  // ─── what packages/sharing.ts decides, for callers that hold only this ─────

  fileshareForReceiver(event: CotEvent, receiverHost: string): CotEvent {
    return this.sharing.fileshareForReceiver(event, receiverHost)
  }

  onFileshareCrossedLink(event: CotEvent, link: LocalLink): void {
    this.sharing.onFileshareCrossedLink(event, link)
  }

  shareOverLocalLinks(packageId: string | null = null): Promise<void> {
    return this.sharing.shareOverLocalLinks(packageId)
  }

  setPrivate(packageId: string, isPrivate: boolean): Promise<void> {
    return this.sharing.setPrivate(packageId, isPrivate)
  }

  offerDelayMs(packageId: string): number {
    return this.sharing.offerDelayMs(packageId)
  }

  packagesInGrace(): string[] {
    return this.sharing.packagesInGrace()
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
      if (this.sharing.graceLeft(record, now) > 0) continue
      out.push(this.pendingCreate(record, peer.id))
    }
    return out
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
        const hash = await this.copies.federatedHashOf(record)
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
          const record = await this.copies.findFederatedRecord(networkId, msg.sha256)
          if (!record || !isLocalOrigin(record)) return []
          // Asked again while the answer waits or is on its way: one answer (a peer cannot make us read it N times).
          return [{ key: `disperse:${record.id}`, sharesPackage: null, build: () => this.copies.disperseFor(record) }]
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
        return this.copies.createResourceFor(current)
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
