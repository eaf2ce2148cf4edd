// TAK federation v2 inside the gateway: the server role on Federation:Port, one dialer per peer with `dial`, the
// sessions the router sees as peer endpoints, live status for the console, and the list of refused certificates.
// startGateway() calls startTakFederation(); method handlers reach the running instance with takFederationArea(gw).

import * as grpc from '@grpc/grpc-js'
import type { PeerStatusDto, RejectedPeerDto } from '../../api/contract.ts'
import type { Services } from '../../services.ts'
import type { Router } from '../../routing/router.ts'
import type { Pki } from '../../pki/pki.ts'
import type { ExternalPeerRecord } from '../../store/schema.ts'
import { packagesArea, type Packages } from '../../packages/index.ts'
import { PackageFederation } from './packages.ts'
import { DEFAULT_REDIAL, PeerDialer, type RedialPolicy } from './client.ts'
import { MAX_FRAME_SIZE } from './coreconfig.ts'
import { loadFigService, withInboundEventLimit } from './proto.ts'
import { TakFederationServer } from './server.ts'
import type { PeerSession, SessionContext } from './session.ts'
import { RejectedPeers } from './rejected.ts'
import { PeerStatusBoard } from './status.ts'

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
}

export interface TakFederation {
  /** Bound federation port; 0 when the server role is not running (federation settings missing). */
  readonly port: number
  /** Live figures of one peer (connected or not). */
  status(peerId: string): PeerStatusDto
  /** Certificates refused because no peer is registered with their fingerprint, newest first. */
  rejected(): RejectedPeerDto[]
  /** Live sessions of a peer (tests and diagnostics). */
  sessionsOf(peerId: string): PeerSession[]
  /** Re-read peers from the store: end sessions of removed peers, start/stop/restart dialers. Called on 'peersChanged'. */
  syncPeers(): void
  stop(): Promise<void>
}

const running = new WeakMap<Services, TakFederation>()

/** The running TAK federation of a gateway, or null before startTakFederation(). */
export function takFederationArea(services: Services): TakFederation | null {
  return running.get(services) ?? null
}

export async function startTakFederation(services: Services, options: TakFederationOptions): Promise<TakFederation> {
  const { settings, store, log, events } = services
  const service = withInboundEventLimit(loadFigService(options.protoDir), () => settings.Streaming.MaxEventBytes)
  const board = new PeerStatusBoard()
  const federateId = settings.Federation.OurFederateId
  const ctx: SessionContext = {
    store,
    router: options.router,
    board,
    us: { federateId, name: federateId },
    log,
    packages: startPackageExchange(services, options.packages === undefined ? packagesArea(services) : options.packages, options.router),
    linkDrops: { oldestPosition: 0, full: 0, closed: 0 },
    oversizeIn: 0,
    encodeEvent: service.encodeEvent,
    encodedEvents: new WeakMap()
  }
  const sessions = new Map<string, PeerSession>()
  services.healthContributors.push((health) => {
    // Like devices.*: what links to TAK federates dropped, by reason, and what waits for each peer now.
    for (const [reason, count] of Object.entries(ctx.linkDrops)) if (count > 0) health.dropsByReason[`federation.${reason}`] = count
    if (ctx.oversizeIn > 0) health.dropsByReason['federation.oversize'] = ctx.oversizeIn
    for (const session of sessions.values()) {
      const { messages, bytes } = session.backlog()
      const peer = peerById(session.peerId)
      if (!peer) continue
      if (messages > 0)
        health.queueDepths.push({ id: session.id, label: `${peer.displayName} (federation peer)`, bytes, networkId: peer.networkId })
      const packages = session.rolBacklog()
      if (packages.messages > 0 || packages.bytes > 0) {
        health.queueDepths.push({
          id: `${session.id}-rol`,
          label: `${peer.displayName} (data packages to federation peer)`,
          bytes: packages.bytes,
          networkId: peer.networkId
        })
      }
    }
  })
  const rejectedPeers = new RejectedPeers({ log, max: options.maxRejected, emit: (peer) => events.emit({ type: 'rejectedPeer', peer }) })
  const dialers = new Map<string, { dialer: PeerDialer; dialKey: string }>()
  /**
   * grpc-js receives 4 MiB by default; TAK sends ROL messages (a create resource carries the file) up to its own limit,
   * 256 MiB by default. A message over our limit would end the whole stream (RESOURCE_EXHAUSTED), and a TAK Server that
   * dials us keeps writing into an ended ROL stream, so every later package and announcement from it would be lost. So
   * we take what TAK may send and refuse a package over Packages:MaxBytes where it is handled (counted, logged); events
   * over Streaming:MaxEventBytes are dropped undecoded (withInboundEventLimit).
   */
  const maxMessageBytes = MAX_FRAME_SIZE
  const identity = options.pki.federation
  const certChain = identity ? `${identity.certPem.trim()}\n${options.pki.caCertPem.trim()}\n` : ''
  const redial: RedialPolicy = { ...DEFAULT_REDIAL, ...options.redial }

  const peerById = (id: string): ExternalPeerRecord | null => store.data.externalPeers.find((p) => p.id === id) ?? null

  // The figures a restart would lose (since when up or down, last heard, last error) are saved on the peer's record.
  for (const peer of store.data.externalPeers) if (peer.lastContact) board.restore(peer.id, peer.lastContact)
  let stopping = false
  /** Saves what changed; resolves when it is on disk (callers that do not wait log a failure instead). */
  const saveContacts = (): Promise<void> => {
    const changed = store.data.externalPeers
      .map((peer) => ({ peer, contact: board.contact(peer.id) }))
      .filter(({ peer, contact }) => JSON.stringify(peer.lastContact ?? null) !== JSON.stringify(contact))
    if (changed.length === 0) return Promise.resolve()
    return store.update((doc) => {
      for (const { peer, contact } of changed) {
        const record = doc.externalPeers.find((p) => p.id === peer.id)
        if (record) record.lastContact = contact
      }
    })
  }
  const saveContactsSoon = (): void => {
    if (stopping) return // stop() saves once, and waits for it
    saveContacts().catch((err: unknown) => log.warn(`TAK federation: could not save the peers' last contact: ${(err as Error).message}`))
  }

  const onSession = (session: PeerSession): void => {
    const previous = sessions.get(session.peerId)
    if (previous && previous !== session && !previous.isEnded && previous.role !== session.role) {
      // Both ends dialed at the same moment. Both keep the connection dialed by the end whose federation certificate
      // has the smaller fingerprint (each end knows both), so neither replaces the other's choice back and forth.
      const peerFingerprint = peerById(session.peerId)?.fingerprint ?? ''
      const ourDialWins = (identity?.fingerprint ?? '') < peerFingerprint
      const keep = (ourDialWins ? 'client' : 'server') === session.role ? session : previous
      const drop = keep === session ? previous : session
      sessions.set(session.peerId, keep)
      drop.end(`Both ends dialed; the connection ${ourDialWins ? 'we' : 'they'} dialed carries the federation.`, grpc.status.ABORTED)
      if (keep === previous) return
    } else {
      sessions.set(session.peerId, session)
      // One session per peer (TAK's duplicate rule): the newest wins, the older one ends with an error status.
      if (previous && previous !== session && !previous.isEnded)
        previous.end('A newer connection from this peer replaced it.', grpc.status.ABORTED)
    }
    board.connected(session.peerId)
    saveContactsSoon()
    log.info(
      `TAK federation: peer '${peerById(session.peerId)?.displayName ?? session.peerId}' connected (${session.role} role, ${session.remote})`
    )
  }
  const onSessionEnded = (session: PeerSession, reason: string): void => {
    if (sessions.get(session.peerId) !== session) return
    sessions.delete(session.peerId)
    // Our own shutdown is not the peer's error: it reads "down since" the stop, with the error it had before.
    board.disconnected(session.peerId, stopping ? null : reason)
    saveContactsSoon()
    log.info(`TAK federation: peer '${peerById(session.peerId)?.displayName ?? session.peerId}' disconnected: ${reason}`)
  }
  let server: TakFederationServer | null = null
  if (identity) {
    server = new TakFederationServer({
      ctx,
      service,
      key: identity.keyPem,
      certChain,
      host: options.host ?? settings.Federation.BindAddress,
      port: options.port ?? settings.Federation.Port,
      healthTimeoutMs: options.healthTimeoutMs ?? 15_000,
      maxMessageBytes,
      // A removed peer stays refused even if db.json could not save its removal (the journal has it).
      peerByFingerprint: (fingerprint) =>
        store.data.externalPeers.find((p) => p.fingerprint === fingerprint && !options.pki.revocations.peerRemoved(p.id)) ?? null,
      onSession,
      onSessionEnded,
      onRejected: (attempt) => rejectedPeers.note(attempt),
      // Handshake failures are logged below with advice; the guard only closes them.
      guard: (tlsServer) => services.listeners.guard(tlsServer, 'federation', log, 'TAK federation', { logHandshakeFailures: false })
    })
    await server.start()
    services.ports.federation = server.port
  } else {
    services.ports.federation = 0
    log.info('TAK federation is off until Federation:AdvertisedHostname and Federation:OurFederateId are set.')
  }

  /** Peers whose figures have been published (so removed ones can be forgotten). */
  const knownStatus = new Set<string>()
  const syncPeers = (): void => {
    const live = new Map(store.data.externalPeers.map((p) => [p.id, p]))
    for (const [peerId, session] of [...sessions]) {
      const peer = live.get(peerId)
      if (!peer || peer.networkId !== session.networkId) {
        const reason = 'This peer was removed from the network.'
        server?.endPeer(peerId, grpc.status.UNAVAILABLE, reason)
        session.end(reason, grpc.status.UNAVAILABLE)
        onSessionEnded(session, reason)
      } else {
        // Out was switched on: our devices' contacts go out now, not at the next tick. DP-Out was switched on: the
        // network's packages go now, not at the next upload or reconnection (already queued ones are not queued twice).
        session.syncContacts()
        session.offerPackages()
      }
    }
    for (const [peerId, entry] of [...dialers]) {
      const peer = live.get(peerId)
      const dialKey = peer?.dial ? dialKeyOf(peer) : null
      if (dialKey !== entry.dialKey) {
        entry.dialer.stop(peer ? 'The connection settings of this peer changed.' : 'This peer was removed from the network.')
        dialers.delete(peerId)
      }
    }
    // Forget the figures of peers that no longer exist.
    for (const peerId of [...knownStatus]) {
      if (live.has(peerId)) continue
      knownStatus.delete(peerId)
      board.forget(peerId)
    }
    if (!identity) return
    for (const peer of live.values()) {
      if (!peer.dial || dialers.has(peer.id)) continue
      const dialer = new PeerDialer({
        ctx,
        service,
        peerId: peer.id,
        key: identity.keyPem,
        certChain,
        redial,
        healthIntervalMs: options.healthIntervalMs ?? 3000,
        maxMessageBytes,
        version: { major: 5, minor: 0, patch: 0, branch: 'fedgate', variant: 'gateway' },
        onSession,
        onSessionEnded,
        onError: (peerId, message) => {
          board.failed(peerId, message)
          saveContactsSoon()
        },
        peerConnected: () => {
          const current = sessions.get(peer.id)
          return current !== undefined && !current.isEnded && current.role === 'server'
        }
      })
      dialers.set(peer.id, { dialer, dialKey: dialKeyOf(peer) })
      dialer.start()
    }
  }

  const onPeersChanged = (): void => syncPeers()
  const onPackageStored = (packageId: string): void => {
    if (stopping) return
    const record = store.data.dataPackages.find((p) => p.id === packageId)
    if (!record) return
    // A device's upload is held back a moment (ATAK makes a package it sends to chosen contacts private right after
    // uploading it, packages/sharing.ts DEVICE_UPLOAD_GRACE_MS): offered when that has passed, by this same path.
    // Sessions that start or peers that turn DP-Out on meanwhile leave it out too (packagesToFederate).
    const wait = ctx.packages?.offerDelayMs(packageId) ?? 0
    if (wait > 0) {
      setTimeout(() => onPackageStored(packageId), wait).unref()
      return
    }
    for (const session of sessions.values()) if (session.networkId === record.networkId) session.offerPackages()
  }
  services.internal.on('peersChanged', onPeersChanged)
  services.internal.on('networkDeleted', onPeersChanged)
  services.internal.on('packageStored', onPackageStored)
  // Device uploads stored just before a restart are still in their grace: offered when it ends, as if just stored.
  for (const packageId of ctx.packages?.packagesInGrace() ?? []) onPackageStored(packageId)

  // Status pushes and contact upkeep, once a second.
  let lastStatus = ''
  const tick = (): void => {
    for (const session of sessions.values()) session.syncContacts()
    const peers = store.data.externalPeers.map((p) => {
      knownStatus.add(p.id)
      return board.status(p.id)
    })
    const text = JSON.stringify(peers)
    if (text !== lastStatus) {
      lastStatus = text
      events.emit({ type: 'peerStatus', peers })
    }
  }
  const statusTimer = setInterval(tick, options.statusIntervalMs ?? 1000)
  statusTimer.unref()
  // Last heard moves with every event: saved every five minutes (and at the stop), not with each.
  const saveTimer = setInterval(saveContactsSoon, options.contactSaveIntervalMs ?? 300_000)
  saveTimer.unref()
  syncPeers()

  const federation: TakFederation = {
    get port() {
      return server?.port ?? 0
    },
    status: (peerId) => board.status(peerId),
    rejected: () => rejectedPeers.list(),
    sessionsOf: (peerId) => {
      const session = sessions.get(peerId)
      return session && !session.isEnded ? [session] : []
    },
    syncPeers,
    async stop() {
      // Once: a second stop must not save this instance's figures over those of a later one.
      if (stopping) return
      stopping = true
      clearInterval(statusTimer)
      clearInterval(saveTimer)
      services.internal.off('peersChanged', onPeersChanged)
      services.internal.off('networkDeleted', onPeersChanged)
      services.internal.off('packageStored', onPackageStored)
      for (const { dialer } of dialers.values()) dialer.stop('The gateway is shutting down.')
      dialers.clear()
      await server?.stop()
      for (const session of sessions.values()) session.end('The gateway is shutting down.', null)
      for (const session of [...sessions.values()]) board.disconnected(session.peerId, null)
      sessions.clear()
      await saveContacts().catch((err: unknown) =>
        log.warn(`TAK federation: could not save the peers' last contact: ${(err as Error).message}`)
      )
      if (running.get(services) === federation) running.delete(services)
    }
  }
  running.set(services, federation)
  return federation
}

function dialKeyOf(peer: ExternalPeerRecord): string {
  return JSON.stringify([peer.fingerprint, peer.dial?.address, peer.dial?.port, peer.dial?.caPem ?? null])
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
