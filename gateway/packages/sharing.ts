// Data packages across local federations: a package that reaches another network of this gateway is listed there
// too, and follows its visibility; and when a device's upload has settled enough to be offered to other servers.

import type { CotEvent } from '../cot/event.ts'
import type { Logger } from '../log.ts'
import type { Store } from '../store/store.ts'
import type { DataPackageRecord } from '../store/schema.ts'
import type { LocalLink } from '../routing/types.ts'
import { computeLocalLinks } from '../routing/local-links.ts'
import { parseFileshare, rewriteSenderUrl } from './fileshare.ts'
import type { PackageStore } from './store.ts'

/**
 * How long a package a device uploaded waits before it is offered to TAK Server peers (DP-Out). ATAK (commo) sends a
 * package to chosen contacts by uploading it without `tool` (so it is stored public) and making it private with
 * `PUT …/metadata/<hash>/tool` right after, usually within a second or two (tak-devices.md §2.2). Offered at once,
 * such a package went to every peer as a public package before the `private` arrived, and TAK has no way to take
 * it back. Operator uploads and packages from elsewhere are not held back.
 */
export const DEVICE_UPLOAD_GRACE_MS = 5_000

export interface PackageSharingOptions {
  packages: PackageStore
  store: Store
  /** Our Marti API port as bound. */
  martiPort: () => number
  /** A network's package list changed without an operator asking (consoles showing it refresh). Default: nothing. */
  listChanged?: (networkId: string) => void
  /** How long after it was stored a device's upload waits before it is offered to other servers. Default 0. */
  deviceUploadGraceMs?: number
  log?: Logger | null
}

export class PackageSharing {
  /** Fileshare events whose package we hold (fileshareForReceiver), while the event lives. */
  private readonly heldFileshares = new WeakMap<CotEvent, boolean>()

  constructor(private readonly o: PackageSharingOptions) {}

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
    return this.o.packages
      .all()
      .filter((record) => this.graceLeft(record, now) > 0)
      .map((record) => record.id)
  }

  /** Milliseconds `record` still waits at `now` before it may be offered (0: it may be now). */
  graceLeft(record: DataPackageRecord, now: number): number {
    const grace = this.o.deviceUploadGraceMs ?? 0
    if (grace <= 0 || record.source.kind !== 'device') return 0
    const storedAt = Date.parse(record.createdAt)
    if (!Number.isFinite(storedAt)) return 0
    return Math.max(0, Math.min(grace, storedAt + grace - now))
  }
}

/** Whether the package's record notes that it went over the link's federation. */
function sharedOver(record: DataPackageRecord, link: LocalLink): boolean {
  return record.sharedWith.some((s) => s.kind === 'federation' && s.id === link.federationId)
}

/** A device's or an operator's upload: what may be passed on (never what arrived over a federation: single hop). */
export function isLocalOrigin(record: DataPackageRecord): boolean {
  return record.source.kind === 'device' || record.source.kind === 'operator'
}
