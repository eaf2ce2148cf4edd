// Starts the data-package area inside startGateway(): the store, the Marti API for devices, sharing over local
// federations, and the hooks the router calls. One instance per gateway, reachable through packagesArea(gw).

import type tls from 'node:tls'
import type { CotEvent } from '../cot/event.ts'
import type { Services } from '../services.ts'
import type { LocalLink } from '../routing/types.ts'
import { computeLocalLinks } from '../routing/local-links.ts'
import { startMartiServer, type DeviceIdentity, type MartiServer } from './marti.ts'
import { PackageStore, type ShareTarget } from './store.ts'
import { DEVICE_UPLOAD_GRACE_MS, PackageSharing } from './sharing.ts'
// Only its type: the exchange with TAK Server peers is made by federation/tak, which hands it to usePeerExchange().
import type { PackageFederation } from '../federation/tak/packages.ts'

export interface StartPackagesOptions {
  /** Marti server identity: pki.server.keyPem, pki.server.certPem (+ CA chain), pki.caCertPem. Null: no Marti API. */
  tls: { key: string; cert: string; ca: string | string[] } | null
  /** Default: the enrolled, unrevoked device whose certificate fingerprint matches. */
  authorize?: (peerCert: tls.PeerCertificate) => DeviceIdentity | null
  /** The router's delivery to a network's own devices (packages another server sent are announced with it). Default: dropped. */
  deliverToNetwork?: (networkId: string, event: CotEvent) => void
  /** Overrides of Settings Marti:Port / Marti:BindAddress (tests). */
  port?: number
  host?: string
  /**
   * How long a device's upload waits before it is offered to other servers, for the `private` ATAK may send right
   * after it. Default DEVICE_UPLOAD_GRACE_MS (tests shorten it).
   */
  deviceUploadGraceMs?: number
}

export interface Packages {
  store: PackageStore
  /** Packages across local federations, and when a device's upload may be offered to other servers. */
  sharing: PackageSharing
  /** The exchange with TAK Server peers, once the TAK federation has started (reading it before then throws). */
  readonly federation: PackageFederation
  /** Bound Marti port (0 when the API is not running). */
  martiPort: number
  /** Hands an event to a network's own devices (the router's delivery given at start). */
  deliverToNetwork(networkId: string, event: CotEvent): void
  /** Networks whose packages devices of `networkId` see: own + local federations with sharePackages → acceptPackages. */
  visibleNetworks(networkId: string): string[]
  /** Router: a b-f-t-r about to reach a device connected to us at `receiverHost`; returns the event to deliver. */
  fileshareForReceiver(event: CotEvent, receiverHost: string): CotEvent
  /**
   * Router: a fileshare crossed a local link (link.packages was true) and reached a device of the far network: the
   * package is listed there too (from the sending network) and its record notes where it went.
   */
  onFileshareCrossedLink(event: CotEvent, link: LocalLink): void
  /** federation/tak at its start: the exchange with TAK Server peers that `federation` returns. */
  usePeerExchange(exchange: PackageFederation): void
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
    const from = computeLocalLinks(services.store.data)
      .filter((l) => l.to === networkId && l.packages)
      .map((l) => l.from)
    return [networkId, ...new Set(from)]
  }

  let marti: MartiServer | null = null
  const sharing = new PackageSharing({
    packages: store,
    store: services.store,
    martiPort: () => marti?.port ?? 0,
    listChanged: (networkId) => services.events.emit({ type: 'changed', area: 'packages', networkId }),
    deviceUploadGraceMs: options.deviceUploadGraceMs ?? DEVICE_UPLOAD_GRACE_MS,
    log
  })

  if (options.tls) {
    marti = await startMartiServer({
      port: options.port ?? settings.Marti.Port,
      host: options.host ?? settings.Marti.BindAddress,
      tls: options.tls,
      authorize: options.authorize ?? ((cert) => deviceByCertificate(services, cert)),
      packages: store,
      visibleNetworks,
      setPrivate: (packageId, isPrivate) => sharing.setPrivate(packageId, isPrivate),
      listeners: services.listeners,
      log
    })
    services.ports.marti = marti.port
    log.info(`Marti API for data packages listening on port ${marti.port}`)
  }
  const unlisten = followStoreChanges(services, store, sharing)
  // And what a stop halfway through left undone (no pending work is kept), or an older version never listed.
  await sharing
    .shareOverLocalLinks()
    .catch((err: unknown) => log.warn(`packages could not be shared over a local federation: ${(err as Error).message}`))

  let peerExchange: PackageFederation | null = null
  const area: Packages = {
    store,
    sharing,
    get federation(): PackageFederation {
      if (!peerExchange) throw new Error('The TAK federation has not started: there is no package exchange with peers.')
      return peerExchange
    },
    martiPort: marti?.port ?? 0,
    deliverToNetwork:
      options.deliverToNetwork ?? ((): void => log.warn('a package from a peer could not be announced: no router is attached')),
    visibleNetworks,
    fileshareForReceiver: (event, host) => sharing.fileshareForReceiver(event, host),
    onFileshareCrossedLink: (event, link) => sharing.onFileshareCrossedLink(event, link),
    usePeerExchange(exchange) {
      peerExchange = exchange
    },
    useIdentity: (tls) => marti?.useIdentity(tls),
    async stop() {
      unlisten()
      started.delete(services)
      await marti?.close()
    }
  }
  started.set(services, area)
  return area
}

/** Keeps the package area in step with the store: garbage after a network goes, sharing after stores and toggles. */
function followStoreChanges(services: Services, store: PackageStore, sharing: PackageSharing): () => void {
  const { log } = services
  const shareOverLocalLinks = (packageId: string | null): void => {
    sharing
      .shareOverLocalLinks(packageId)
      .catch((err: unknown) => log.warn(`packages could not be shared over a local federation: ${(err as Error).message}`))
  }
  const onNetworkDeleted = (): void => {
    store.collectGarbage().catch((err: unknown) => log.warn(`package clean-up failed: ${(err as Error).message}`))
  }
  const onPackageStored = (packageId: string): void => {
    const record = store.byId(packageId)
    // Device and peer uploads change a network's list: consoles showing it refresh (operator uploads announce
    // themselves, and so does whatever lists packages received over a local federation, once for all of them).
    if (record && (record.source.kind === 'device' || record.source.kind === 'peer')) {
      services.events.emit({ type: 'changed', area: 'packages', networkId: record.networkId })
    }
    shareOverLocalLinks(packageId)
  }
  // A federation started or a toggle turned on: what the far network's devices can now fetch is listed there too.
  const onFederationsChanged = (): void => shareOverLocalLinks(null)
  services.internal.on('networkDeleted', onNetworkDeleted)
  services.internal.on('packageStored', onPackageStored)
  services.internal.on('federationsChanged', onFederationsChanged)
  return () => {
    services.internal.off('networkDeleted', onNetworkDeleted)
    services.internal.off('packageStored', onPackageStored)
    services.internal.off('federationsChanged', onFederationsChanged)
  }
}

/** The enrolled, unrevoked device a verified client certificate belongs to. */
function deviceByCertificate(services: Services, cert: tls.PeerCertificate): DeviceIdentity | null {
  const fingerprint = normalize(cert.fingerprint256 ?? '')
  if (!fingerprint || services.pki.revocations.deviceRevoked(fingerprint)) return null
  const device = services.store.data.devices.find((d) => d.revokedAt === null && normalize(d.fingerprint) === fingerprint)
  if (!device || !services.store.data.networks.some((n) => n.id === device.networkId)) return null
  return { deviceId: device.id, networkId: device.networkId, callsign: device.callsign }
}

function normalize(fingerprint: string): string {
  return fingerprint.replace(/[^0-9a-fA-F]/g, '').toLowerCase()
}

export { PackageStore, type DeviceIdentity, type ShareTarget }
