// Starts the data-package area inside startGateway(): the store, the Marti API for devices, and the hooks the router
// and the TAK federation call. One instance per gateway, reachable from method handlers through packagesOf(gw).

import type tls from 'node:tls'
import type { CotEvent } from '../cot/event.ts'
import type { Services } from '../services.ts'
import type { ExternalPeerRecord } from '../store/schema.ts'
import type { LocalLink } from '../routing/types.ts'
import { computeLocalLinks } from '../routing/local-links.ts'
import { startMartiServer, type DeviceIdentity, type MartiServer } from './marti.ts'
import { PackageStore, type ShareTarget } from './store.ts'
import { DEVICE_UPLOAD_GRACE_MS, PackageFederation, type PendingRol } from './federation.ts'
import type { RolMessage } from './rol.ts'

export interface StartPackagesOptions {
  /** Marti server identity: pki.server.keyPem, pki.server.certPem (+ CA chain), pki.caCertPem. Null: no Marti API. */
  tls: { key: string; cert: string; ca: string | string[] } | null
  /** Default: the enrolled, unrevoked device whose certificate fingerprint matches. */
  authorize?: (peerCert: tls.PeerCertificate) => DeviceIdentity | null
  /** The router's delivery to a network's own devices (used to announce packages a peer sent). Default: dropped. */
  deliverToNetwork?: (networkId: string, event: CotEvent) => void
  /** Overrides of Settings Marti:Port / Marti:BindAddress (tests). */
  port?: number
  host?: string
  /**
   * How long a device's upload waits before it is offered to TAK Server peers, for the `private` ATAK may send right
   * after it. Default DEVICE_UPLOAD_GRACE_MS (tests shorten it).
   */
  deviceUploadGraceMs?: number
}

export interface Packages {
  store: PackageStore
  federation: PackageFederation
  /** Bound Marti port (0 when the API is not running). */
  martiPort: number
  /** Networks whose packages devices of `networkId` see: own + local federations with sharePackages → acceptPackages. */
  visibleNetworks(networkId: string): string[]
  /** Router: a b-f-t-r about to reach a device connected to us at `receiverHost`; returns the event to deliver. */
  fileshareForReceiver(event: CotEvent, receiverHost: string): CotEvent
  /**
   * Router: a fileshare crossed a local link (link.packages was true) and reached a device of the far network: the
   * package is listed there too (from the sending network) and its record notes where it went.
   */
  onFileshareCrossedLink(event: CotEvent, link: LocalLink): void
  /** TAK federation: a ROL message from a peer; resolves to ROL messages to send back. Never rejects. */
  onPeerRol(peerId: string, networkId: string, rol: { program: unknown; payload?: unknown }): Promise<PendingRol[]>
  /**
   * TAK federation (on connect, and on internal 'packageStored'): `create resource` for each package the peer should
   * have and does not; once one has gone, markSharedWithPeer(its sharesPackage). A device's upload is left out until
   * offerDelayMs(its id) has passed: offer again then.
   */
  packagesToFederate(peer: ExternalPeerRecord): PendingRol[]
  /** TAK federation: milliseconds until a stored package may be offered to peers (0: now). */
  offerDelayMs(packageId: string): number
  /** TAK federation at start: packages whose offer still waits (offerDelayMs > 0). */
  packagesInGrace(): string[]
  markSharedWithPeer(packageId: string, peer: Pick<ExternalPeerRecord, 'id' | 'displayName'>): Promise<void>
  /** TAK federation: a b-f-t-r going to a peer becomes these ROL messages instead of a CoT (empty: send nothing). */
  fileshareToPeer(event: CotEvent, peer: ExternalPeerRecord): PendingRol[]
  /** The router, once running: how to hand an event to a network's own devices. */
  attachDelivery(deliverToNetwork: (networkId: string, event: CotEvent) => void): void
  /** The Marti API serves new connections with this key and chain (the server certificate was reissued). */
  useIdentity(tls: { key: string; cert: string }): void
  stop(): Promise<void>
}

const registry = new WeakMap<Services, PackageStore>()
const started = new WeakMap<Services, Packages>()

/** The running package area of a gateway (router and TAK federation reach it here), or null before startPackages(). */
export function packagesArea(gw: Services): Packages | null {
  return started.get(gw) ?? null
}

/** The package store of a gateway: the started one, or a store over the same files when the area was not started. */
export function packagesOf(gw: Services): PackageStore {
  let store = registry.get(gw)
  if (!store) {
    store = new PackageStore({
      dataDir: gw.dataDir,
      store: gw.store,
      maxBytes: () => gw.settings.Packages.MaxBytes,
      audit: gw.audit,
      internal: gw.internal,
      log: gw.log
    })
    registry.set(gw, store)
  }
  return store
}

export async function startPackages(services: Services, options: StartPackagesOptions): Promise<Packages> {
  const { settings, log } = services
  const store = packagesOf(services)
  const stale = await store.cleanTemp()
  if (stale > 0) log.info(`Removed ${stale} unfinished package upload(s) left from the last run`)
  await store.collectGarbage().catch((err: unknown) => log.warn(`package clean-up failed: ${(err as Error).message}`))

  const visibleNetworks = (networkId: string): string[] => {
    const from = computeLocalLinks(services.store.data).filter((l) => l.to === networkId && l.packages).map((l) => l.from)
    return [networkId, ...new Set(from)]
  }

  let marti: MartiServer | null = null
  let deliver = options.deliverToNetwork ?? ((): void => log.warn('a package from a peer could not be announced: no router is attached'))
  const listChanged = (networkId: string): void => services.events.emit({ type: 'changed', area: 'packages', networkId })
  const federation = new PackageFederation({
    packages: store,
    store: services.store,
    blockedExtensions: () => services.settings.Packages.BlockedExtensions,
    maxRolBytes: () => services.settings.Packages.MaxBytes,
    martiPort: () => marti?.port ?? 0,
    defaultHost: () => services.settings.Federation.AdvertisedHostname || '127.0.0.1',
    deliverToNetwork: (networkId, event) => deliver(networkId, event),
    listChanged,
    deviceUploadGraceMs: options.deviceUploadGraceMs ?? DEVICE_UPLOAD_GRACE_MS,
    cacheBudget: services.router.cacheBudget,
    log
  })
  const shareOverLocalLinks = (packageId: string | null): void => {
    federation.shareOverLocalLinks(packageId).catch((err: unknown) => log.warn(`packages could not be shared over a local federation: ${(err as Error).message}`))
  }

  if (options.tls) {
    marti = await startMartiServer({
      port: options.port ?? settings.Marti.Port,
      host: options.host ?? settings.Marti.BindAddress,
      tls: options.tls,
      authorize: options.authorize ?? ((cert) => deviceByCertificate(services, cert)),
      packages: store,
      visibleNetworks,
      setPrivate: (packageId, isPrivate) => federation.setPrivate(packageId, isPrivate),
      listeners: services.listeners,
      log
    })
    services.ports.marti = marti.port
    log.info(`Marti API for data packages listening on port ${marti.port}`)
  }
  const martiPort = marti?.port ?? 0

  const onNetworkDeleted = (): void => {
    store.collectGarbage().catch((err: unknown) => log.warn(`package clean-up failed: ${(err as Error).message}`))
  }
  services.internal.on('networkDeleted', onNetworkDeleted)
  const onPackageStored = (packageId: string): void => {
    const record = store.byId(packageId)
    // Device and peer uploads change a network's list: consoles showing it refresh (operator uploads announce
    // themselves, and so does whatever lists packages received over a local federation, once for all of them).
    if (record && (record.source.kind === 'device' || record.source.kind === 'peer')) listChanged(record.networkId)
    shareOverLocalLinks(packageId)
  }
  services.internal.on('packageStored', onPackageStored)
  // A federation started or a toggle turned on: what the far network's devices can now fetch is listed there too.
  const onFederationsChanged = (): void => shareOverLocalLinks(null)
  services.internal.on('federationsChanged', onFederationsChanged)
  // And what a stop halfway through left undone (no pending work is kept), or an older version never listed.
  await federation.shareOverLocalLinks().catch((err: unknown) => log.warn(`packages could not be shared over a local federation: ${(err as Error).message}`))
  services.healthContributors.push((health) => {
    let malformed = 0
    for (const n of federation.malformedRol.values()) malformed += n
    if (malformed > 0) health.dropsByReason['malformed ROL'] = malformed
    if (federation.zipBombs > 0) health.dropsByReason['packages.zipTooLarge'] = federation.zipBombs
  })

  const area: Packages = {
    store,
    federation,
    martiPort,
    visibleNetworks,
    fileshareForReceiver: (event, host) => federation.fileshareForReceiver(event, host),
    onFileshareCrossedLink: (event, link) => federation.onFileshareCrossedLink(event, link),
    onPeerRol: (peerId, networkId, rol) => federation.onPeerRol(peerId, networkId, rol),
    packagesToFederate: (peer) => federation.packagesToFederate(peer),
    offerDelayMs: (packageId) => federation.offerDelayMs(packageId),
    packagesInGrace: () => federation.packagesInGrace(),
    markSharedWithPeer: (id, peer) => federation.markSharedWithPeer(id, peer),
    fileshareToPeer: (event, peer) => federation.fileshareToPeer(event, peer),
    attachDelivery(fn) {
      deliver = fn
    },
    useIdentity: (tls) => marti?.useIdentity(tls),
    async stop() {
      services.internal.off('networkDeleted', onNetworkDeleted)
      services.internal.off('packageStored', onPackageStored)
      services.internal.off('federationsChanged', onFederationsChanged)
      started.delete(services)
      await marti?.close()
    }
  }
  started.set(services, area)
  return area
}

/** The enrolled, unrevoked device a verified client certificate belongs to. */
export function deviceByCertificate(services: Services, cert: tls.PeerCertificate): DeviceIdentity | null {
  const fingerprint = normalize(cert.fingerprint256 ?? '')
  if (!fingerprint || services.pki.revocations.deviceRevoked(fingerprint)) return null
  const device = services.store.data.devices.find((d) => d.revokedAt === null && normalize(d.fingerprint) === fingerprint)
  if (!device || !services.store.data.networks.some((n) => n.id === device.networkId)) return null
  return { deviceId: device.id, networkId: device.networkId, callsign: device.callsign }
}

function normalize(fingerprint: string): string {
  return fingerprint.replace(/[^0-9a-fA-F]/g, '').toLowerCase()
}

export { PackageStore, type DeviceIdentity, type ShareTarget, type PendingRol, type RolMessage }
