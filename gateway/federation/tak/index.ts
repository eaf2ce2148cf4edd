// TAK federation v2 inside the gateway: the server role on Federation:Port, one dialer per peer with `dial`, the
// sessions the router sees as peer endpoints, live status for the console, and the list of refused certificates.
// startGateway() calls startTakFederation(); method handlers reach the running instance with takFederationArea(gw).

import type { DiagnosisDto, PeerStatusDto, RejectedPeerDto } from '../../api/contract.ts'
import type { Services } from '../../services.ts'
import type { Router } from '../../routing/router.ts'
import type { Pki } from '../../pki/pki.ts'
import type { ExternalPeerRecord } from '../../store/schema.ts'
import type { Store } from '../../store/store.ts'
import { packagesArea, type Packages } from '../../packages/index.ts'
import { PackageFederation } from './packages.ts'
import { DEFAULT_REDIAL, type PeerDialer, type RedialPolicy } from './client.ts'
import { MAX_FRAME_SIZE } from './coreconfig.ts'
import { loadFigService, withInboundEventLimit, type FigService } from './proto.ts'
import { TakFederationServer } from './server.ts'
import type { PeerSession, SessionContext } from './session.ts'
import { RejectedPeers } from './rejected.ts'
import { PeerStatusBoard } from './status.ts'
import { peerLinkKey } from '../../events.ts'
import { DEFAULT_NOTHING_ARRIVES_MS, PeerFlows } from './diagnosis.ts'
import { SessionTable } from './session-table.ts'
import { dialerFor, syncPeers, type DialerParts, type Dialers } from './peer-sync.ts'
import { restoreContacts, saveContactsLogged } from './last-contact.ts'
import { federationHealth, startStatusPushes } from './status-push.ts'
import { fingerprintExchange, pinnedTo, startAutoSwitch } from './rotation.ts'

export interface TakFederationOptions {
  router: Router
  pki: Pki
  /** The data-package area (ROL for DP-In/DP-Out). Default: packagesArea(services). */
  packages?: Packages | null
  /** Overrides of Settings Federation:Port / Federation:BindAddress. */
  port?: number
  host?: string
  /** Where fig.proto lives in a packaged app (extraResources `proto`). Default: next to this module. */
  protoDir?: string | null
  /** Server role: end a session after this long without HealthCheck. Default 15000 (TAK's rule). */
  healthTimeoutMs?: number
  /** Client role: HealthCheck cadence. Default 3000 (TAK's default). */
  healthIntervalMs?: number
  /** Client role: reconnect delays. Default 2 s doubling to 60 s, at least 15 s after a live session dropped. */
  redial?: Partial<RedialPolicy>
  /** Cadence of `peerStatus` events (sent only when something changed). Default 1000. */
  statusIntervalMs?: number
  /** How often a connected peer's last-heard time is saved (db.json is for what operators made: rarely). Default 300000. */
  contactSaveIntervalMs?: number
  /** Refused certificates kept for the console (rejected.ts). Default MAX_REJECTED. */
  maxRejected?: number
  /** Diagnosis: a link up this long, on which we send and nothing arrives, is said to carry nothing. Default 10 min. */
  nothingArrivesMs?: number
  /** The clock of the daily certificate check (tests move it). Default: the system clock. */
  now?: () => Date
}

export interface TakFederation {
  /** Bound federation port; 0 when the server role is not running (federation settings missing). */
  readonly port: number
  /** Live figures of one peer (connected or not). */
  status(peerId: string): PeerStatusDto
  /** Why nothing (or only part) flows with this peer, or null (diagnosis.ts). */
  diagnosis(peer: ExternalPeerRecord): DiagnosisDto | null
  /** Their clock minus ours in seconds, from their recent events; null until known. */
  clockSkewSeconds(peerId: string): number | null
  /** Certificates refused because no peer is registered with their fingerprint, newest first. */
  rejected(): RejectedPeerDto[]
  /** Live sessions of a peer (tests and diagnostics). */
  sessionsOf(peerId: string): PeerSession[]
  /** After a certificate switch: new handshakes and dials present the current identity; live links stay up. */
  useCurrentIdentity(): void
  /** Re-read peers from the store: end sessions of removed peers, start/stop/restart dialers. Called on 'peersChanged'. */
  syncPeers(): void
  stop(): Promise<void>
}

const running = new WeakMap<Services, TakFederation>()

/** The running TAK federation of a gateway, or null before startTakFederation(). */
export function takFederationArea(services: Services): TakFederation | null {
  return running.get(services) ?? null
}

/** Each peer's diagnosis, and what of it is news to its row (a skew only when it crosses the flag or moves by 10 s). */
function linkFacts(flows: PeerFlows, board: PeerStatusBoard, ourFingerprint: string, nothingArrivesMs = DEFAULT_NOTHING_ARRIVES_MS) {
  const diagnosis = (peer: ExternalPeerRecord): DiagnosisDto | null =>
    flows.diagnose(peer, board.status(peer.id), ourFingerprint, nothingArrivesMs)
  const rowFacts = (peer: ExternalPeerRecord): string =>
    `${diagnosis(peer)?.code ?? ''} ${Math.round((flows.clockSkewSeconds(peer.id) ?? 0) / 10)}`
  return { diagnosis, rowFacts }
}

export async function startTakFederation(services: Services, options: TakFederationOptions): Promise<TakFederation> {
  const { settings, store, log, events } = services
  const service = withInboundEventLimit(loadFigService(options.protoDir), () => settings.Streaming.MaxEventBytes)
  const board = new PeerStatusBoard()
  const ctx = sessionContext(services, options, service, board)
  const peerById = (id: string): ExternalPeerRecord | null => store.data.externalPeers.find((p) => p.id === id) ?? null
  const identity = options.pki.federation
  let stopping = false
  const saveContactsSoon = (): void => {
    if (stopping) return // stop() saves once, and waits for it
    void saveContactsLogged(store, board, log)
  }
  const sessions = new SessionTable({
    board,
    log,
    peerById,
    ourFingerprint: identity?.fingerprint ?? '',
    contactChanged: saveContactsSoon,
    stopping: () => stopping
  })
  services.healthContributors.push(federationHealth(ctx, sessions, peerById))
  services.history.linkSources.push(() => store.data.externalPeers.map((p) => ({ key: peerLinkKey(p.id), ...board.totals(p.id) })))
  const rejectedPeers = new RejectedPeers({ log, max: options.maxRejected, emit: (peer) => events.emit({ type: 'rejectedPeer', peer }) })
  const chainOf = (leafPem: string): string => `${leafPem.trim()}\n${options.pki.caCertPem.trim()}\n`
  const certChain = identity ? chainOf(identity.certPem) : ''
  // The figures a restart would lose (since when up or down, last heard, last error) are saved on the peer's record.
  restoreContacts(store, board)
  const server = await startServerRole(services, options, { ctx, service, certChain, sessions, rejectedPeers })

  const knownStatus = new Set<string>()
  const dialers: Dialers = new Map()
  const startDialer = dialerStarter(options, { ctx, service, certChain, sessions, board, contactChanged: saveContactsSoon })
  const onPeersChanged = (): void => syncPeers({ store, board, sessions, server, dialers, knownStatus, startDialer })
  const onPackageStored = (packageId: string): void => offerStoredPackage(packageId, { store, ctx, sessions, stopping: () => stopping })
  services.internal.on('peersChanged', onPeersChanged)
  services.internal.on('networkDeleted', onPeersChanged)
  services.internal.on('packageStored', onPackageStored)
  // Device uploads stored just before a restart are still in their grace: offered when it ends, as if just stored.
  for (const packageId of ctx.packages?.packagesInGrace() ?? []) onPackageStored(packageId)

  const useCurrentIdentity = (): void => {
    const current = options.pki.federation
    if (current) server?.useIdentity(current.keyPem, chainOf(current.certPem))
  }
  const stopAutoSwitch = identity
    ? startAutoSwitch({ pki: options.pki, now: options.now ?? (() => new Date()), apply: useCurrentIdentity, log })
    : () => {}
  const { diagnosis, rowFacts } = linkFacts(ctx.flows, board, identity?.fingerprint ?? '', options.nothingArrivesMs)
  const intervalMs = options.statusIntervalMs ?? 1000
  const statusTimer = startStatusPushes({ store, board, sessions, knownStatus, events, intervalMs, rowFacts })
  // Last heard moves with every event: saved every five minutes (and at the stop), not with each.
  const saveTimer = setInterval(saveContactsSoon, options.contactSaveIntervalMs ?? 300_000)
  saveTimer.unref()
  onPeersChanged()

  const federation: TakFederation = {
    get port() {
      return server?.port ?? 0
    },
    status: (peerId) => board.status(peerId),
    diagnosis,
    clockSkewSeconds: (peerId) => ctx.flows.clockSkewSeconds(peerId),
    rejected: () => rejectedPeers.list(),
    sessionsOf: (peerId) => {
      const session = sessions.byPeer.get(peerId)
      return session && !session.isEnded ? [session] : []
    },
    syncPeers: onPeersChanged,
    useCurrentIdentity,
    async stop() {
      // Once: a second stop must not save this instance's figures over those of a later one.
      if (stopping) return
      stopping = true
      clearInterval(statusTimer)
      stopAutoSwitch()
      clearInterval(saveTimer)
      services.internal.off('peersChanged', onPeersChanged)
      services.internal.off('networkDeleted', onPeersChanged)
      services.internal.off('packageStored', onPackageStored)
      await endEverything(dialers, server, sessions, board)
      await saveContactsLogged(store, board, log)
      if (running.get(services) === federation) running.delete(services)
    }
  }
  running.set(services, federation)
  return federation
}

/**
 * grpc-js receives 4 MiB by default; TAK sends ROL messages (a create resource carries the file) up to its own limit,
 * 256 MiB by default. A message over our limit would end the whole stream (RESOURCE_EXHAUSTED), and a TAK Server that
 * dials us keeps writing into an ended ROL stream, so every later package and announcement from it would be lost. So
 * we take what TAK may send and refuse a package over Packages:MaxBytes where it is handled (counted, logged); events
 * over Streaming:MaxEventBytes are dropped undecoded (withInboundEventLimit).
 */
const MAX_MESSAGE_BYTES = MAX_FRAME_SIZE

/** What every session shares, with the package exchange started on the package area. */
function sessionContext(services: Services, options: TakFederationOptions, service: FigService, board: PeerStatusBoard): SessionContext {
  const federateId = services.settings.Federation.OurFederateId
  return {
    store: services.store,
    router: options.router,
    board,
    flows: new PeerFlows(),
    us: { federateId, name: federateId },
    log: services.log,
    packages: startPackageExchange(services, options.packages === undefined ? packagesArea(services) : options.packages, options.router),
    linkDrops: { oldestPosition: 0, full: 0, closed: 0 },
    oversizeIn: 0,
    encodeEvent: service.encodeEvent,
    encodedEvents: new WeakMap(),
    fingerprints: fingerprintExchange({
      store: services.store,
      pki: services.pki,
      log: services.log,
      changed: (networkId) => services.events.emit({ type: 'changed', area: 'peers', networkId })
    })
  }
}

type DialingParts = Omit<DialerParts, 'key' | 'redial' | 'healthIntervalMs' | 'maxMessageBytes'>

/** Starts a peer's dialer with our federation certificate; null while there is none to dial with. */
function dialerStarter(options: TakFederationOptions, parts: DialingParts): ((peer: ExternalPeerRecord) => PeerDialer) | null {
  const identity = options.pki.federation
  if (!identity) return null
  const dialing: DialerParts = {
    ...parts,
    // The identity of the moment: a certificate switch applies to the next dial.
    get key() {
      return options.pki.federation?.keyPem ?? identity.keyPem
    },
    get certChain() {
      const current = options.pki.federation ?? identity
      return `${current.certPem.trim()}\n${options.pki.caCertPem.trim()}\n`
    },
    redial: { ...DEFAULT_REDIAL, ...options.redial },
    healthIntervalMs: options.healthIntervalMs ?? 3000,
    maxMessageBytes: MAX_MESSAGE_BYTES
  }
  return (peer) => dialerFor(peer, dialing)
}

interface ServerRoleParts {
  ctx: SessionContext
  service: FigService
  certChain: string
  sessions: SessionTable
  rejectedPeers: RejectedPeers
}

/** The server role on Federation:Port, or null (port 0) until the federation settings give us a certificate. */
async function startServerRole(
  services: Services,
  options: TakFederationOptions,
  parts: ServerRoleParts
): Promise<TakFederationServer | null> {
  const { settings, store, log } = services
  const identity = options.pki.federation
  if (!identity) {
    services.ports.federation = 0
    log.info('TAK federation is off until Federation:AdvertisedHostname and Federation:OurFederateId are set.')
    return null
  }
  const server = new TakFederationServer({
    ctx: parts.ctx,
    service: parts.service,
    key: identity.keyPem,
    certChain: parts.certChain,
    host: options.host ?? settings.Federation.BindAddress,
    port: options.port ?? settings.Federation.Port,
    healthTimeoutMs: options.healthTimeoutMs ?? 15_000,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    // A removed peer stays refused even if db.json could not save its removal (the journal has it).
    peerByFingerprint: (fingerprint) =>
      store.data.externalPeers.find((p) => pinnedTo(p, fingerprint) && !options.pki.revocations.peerRemoved(p.id)) ?? null,
    onSession: parts.sessions.opened,
    onSessionEnded: parts.sessions.ended,
    onRejected: (attempt) => parts.rejectedPeers.note(attempt),
    // Handshake failures are logged below with advice; the guard only closes them.
    guard: (tlsServer) => services.listeners.guard(tlsServer, 'federation', log, 'TAK federation', { logHandshakeFailures: false })
  })
  await server.start()
  services.ports.federation = server.port
  return server
}

interface StoredPackageParts {
  store: Store
  ctx: SessionContext
  sessions: SessionTable
  stopping(): boolean
}

/** Offers a package just stored on a network to the live sessions of that network's peers. */
function offerStoredPackage(packageId: string, parts: StoredPackageParts): void {
  if (parts.stopping()) return
  const record = parts.store.data.dataPackages.find((p) => p.id === packageId)
  if (!record) return
  // A device's upload is held back a moment (ATAK makes a package it sends to chosen contacts private right after
  // uploading it, packages/sharing.ts DEVICE_UPLOAD_GRACE_MS): offered when that has passed, by this same path.
  // Sessions that start or peers that turn DP-Out on meanwhile leave it out too (packagesToFederate).
  const wait = parts.ctx.packages?.offerDelayMs(packageId) ?? 0
  if (wait > 0) {
    setTimeout(() => offerStoredPackage(packageId, parts), wait).unref()
    return
  }
  for (const session of parts.sessions.byPeer.values()) if (session.networkId === record.networkId) session.offerPackages()
}

/** Our side of a shutdown: dialers stop, the server role closes, every session ends as no error of the peer's. */
async function endEverything(
  dialers: Dialers,
  server: TakFederationServer | null,
  sessions: SessionTable,
  board: PeerStatusBoard
): Promise<void> {
  for (const { dialer } of dialers.values()) dialer.stop('The gateway is shutting down.')
  dialers.clear()
  await server?.stop()
  for (const session of sessions.byPeer.values()) session.end('The gateway is shutting down.', null)
  for (const session of [...sessions.byPeer.values()]) board.disconnected(session.peerId, null)
  sessions.byPeer.clear()
}

/** Data packages with peers over ROL, on the package area's store; null without a package area. */
function startPackageExchange(services: Services, area: Packages | null, router: Router): PackageFederation | null {
  if (!area) return null
  const exchange = new PackageFederation({
    packages: area.store,
    sharing: area.sharing,
    store: services.store,
    blockedExtensions: () => services.settings.Packages.BlockedExtensions,
    maxRolBytes: () => services.settings.Packages.MaxBytes,
    martiPort: () => area.martiPort,
    defaultHost: () => services.settings.Federation.AdvertisedHostname || '127.0.0.1',
    deliverToNetwork: (networkId, event) => area.deliverToNetwork(networkId, event),
    cacheBudget: router.cacheBudget,
    log: services.log
  })
  area.usePeerExchange(exchange)
  services.healthContributors.push((health) => {
    let malformed = 0
    for (const n of exchange.malformedRol.values()) malformed += n
    if (malformed > 0) health.dropsByReason['malformed ROL'] = malformed
    if (exchange.zipBombs > 0) health.dropsByReason['packages.zipTooLarge'] = exchange.zipBombs
  })
  return exchange
}
