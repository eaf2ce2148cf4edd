// Server role of TAK federation v2: a node:tls listener that presents our federation certificate with our CA,
// requests a client certificate from any issuer and pins its leaf fingerprint against the registered peers.
// Unregistered certificates are closed before any gRPC; accepted sockets go to grpc-js through a connection
// injector (docs/ARCHITECTURE.md §8). RPC behaviour follows spec §2.4/§8 so a stock TAK Server stays connected.

import tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import * as grpc from '@grpc/grpc-js'
import type { ExternalPeerRecord } from '../../store/schema.ts'
import type { FigService, FederatedEventMessage, SubscriptionMessage } from './proto.ts'
import { PeerSession, type SessionContext, type SessionLink } from './session.ts'
import { backlogOf, sendThroughOutbox, type DropSink } from './outbox.ts'
import { widenReceiveWindow } from './flow-control.ts'
import { rpcHandlers, type Connection, type SurfaceCall } from './server-rpcs.ts'
import { SummarizedLog, tlsReason } from '../../log.ts'

export interface RejectedAttempt {
  fingerprint: string
  subject: string
  address: string
}

export interface TakServerOptions {
  ctx: SessionContext
  service: FigService
  /** Our federation key and certificate chain (leaf + CA, PEM). */
  key: string
  certChain: string
  host: string
  port: number
  /** A session without HealthCheck for this long is ended with DEADLINE_EXCEEDED (TAK: 15 s). */
  healthTimeoutMs: number
  /** gRPC message size limit both ways (raised from grpc-js's 4 MiB, capped). */
  maxMessageBytes: number
  /** The registered peer with this leaf fingerprint, or null. */
  peerByFingerprint(fingerprint: string): ExternalPeerRecord | null
  /** A session became live (the caller ends an older session of the same peer). */
  onSession(session: PeerSession): void
  onSessionEnded(session: PeerSession, reason: string): void
  onRejected(attempt: RejectedAttempt): void
  /** Applies the port's caps and handshake deadline to the TLS server before it listens (net/listener-guard.ts). */
  guard?: (server: tls.Server) => void
}

export class TakFederationServer {
  private readonly connections = new Map<string, Connection>()
  private tlsServer: tls.Server | null = null
  private grpcServer: grpc.Server | null = null
  private windowWarningGiven = false
  private injector: ReturnType<grpc.Server['createConnectionInjector']> | null = null
  private healthTimer: NodeJS.Timeout | null = null
  port = 0

  constructor(private readonly o: TakServerOptions) {}

  async start(): Promise<number> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.o.maxMessageBytes,
      'grpc.max_send_message_length': this.o.maxMessageBytes
    })
    server.addService(this.o.service.definition, this.handlers())
    this.grpcServer = server
    this.injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure())
    const tlsServer = tls.createServer({
      key: this.o.key,
      cert: this.o.certChain,
      requestCert: true,
      // Any issuer: the leaf fingerprint is the trust decision (checked in accept()).
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      minVersion: 'TLSv1.2'
    })
    this.o.guard?.(tlsServer)
    tlsServer.on('secureConnection', (socket) => this.accept(socket))
    // Failed handshakes: a line at once, then one a minute. A TAK Server whose federation truststore lacks our CA (the
    // commonest setup slip) aborts with an alert, and its link just stays down: say what to check, as a warning.
    const untrusted = new SummarizedLog(this.o.ctx.log, 'TAK federation', 60_000, { verb: 'failed', level: 'warn' })
    const otherFailures = new SummarizedLog(this.o.ctx.log, 'TAK federation', 60_000, { verb: 'failed' })
    tlsServer.on('tlsClientError', (err, socket) => {
      const reason = tlsReason(err)
      const what = `TLS handshake from ${socket.remoteAddress ?? 'an unknown address'} failed (${reason})`
      if (/unknown ca|bad certificate|certificate unknown/i.test(reason)) {
        untrusted.note(
          `${what}: the remote does not trust our certificate. Has its admin put our CA (ca.pem, External TAK Servers tab) in its federation truststore?`
        )
      } else {
        otherFailures.note(what)
      }
    })
    this.tlsServer = tlsServer
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void =>
        reject(
          new Error(
            `TAK federation cannot listen on ${this.o.host}:${this.o.port} (${err.message}); change Federation:Port or Federation:BindAddress.`,
            { cause: err }
          )
        )
      tlsServer.once('error', failed)
      tlsServer.listen(this.o.port, this.o.host, () => {
        tlsServer.off('error', failed)
        resolve()
      })
    })
    this.port = (tlsServer.address() as AddressInfo).port
    const every = Math.max(100, Math.min(1000, Math.floor(this.o.healthTimeoutMs / 4)))
    this.healthTimer = setInterval(() => this.checkHealth(), every)
    this.healthTimer.unref()
    return this.port
  }

  async stop(): Promise<void> {
    if (this.healthTimer) clearInterval(this.healthTimer)
    this.healthTimer = null
    for (const connection of [...this.connections.values()])
      this.endConnection(connection, grpc.status.UNAVAILABLE, 'The gateway is shutting down.', 0)
    const tlsServer = this.tlsServer
    this.tlsServer = null
    if (tlsServer) await new Promise<void>((resolve) => tlsServer.close(() => resolve()))
    this.injector?.destroy()
    this.injector = null
    this.grpcServer?.forceShutdown()
    this.grpcServer = null
  }

  /** New handshakes present this identity (certificate rotation); connections already up keep theirs. */
  useIdentity(key: string, certChain: string): void {
    this.tlsServer?.setSecureContext({ key, cert: certChain, minVersion: 'TLSv1.2' })
  }

  /** End every live session of a peer (removed, or its fingerprint changed) with an error status. */
  endPeer(peerId: string, code: grpc.status, reason: string): void {
    for (const connection of [...this.connections.values()]) {
      if (connection.peerId === peerId) this.endConnection(connection, code, reason)
    }
  }

  /** End the connection carrying `session`, if it is one of ours. */
  endSession(session: PeerSession, code: grpc.status, reason: string): void {
    for (const connection of this.connections.values()) {
      if (connection.session === session) this.endConnection(connection, code, reason)
    }
  }

  // ─── TLS accept ────────────────────────────────────────────────────────────

  private accept(socket: tls.TLSSocket): void {
    const cert = socket.getPeerCertificate()
    const address = socket.remoteAddress ?? '?'
    if (!cert || !cert.raw) {
      this.o.onRejected({ fingerprint: '', subject: '(no client certificate)', address })
      socket.destroy()
      return
    }
    const fingerprint = cert.fingerprint256
    const peer = this.o.peerByFingerprint(fingerprint)
    if (!peer) {
      this.o.onRejected({ fingerprint, subject: subjectText(cert.subject), address })
      socket.destroy()
      return
    }
    // The pin replaces chain validation (rejectUnauthorized is off), so the validity window is ours to check.
    const now = Date.now()
    if (!(Date.parse(cert.valid_from) <= now && now <= Date.parse(cert.valid_to))) {
      this.o.ctx.board.failed(
        peer.id,
        `The peer presented a certificate valid only from ${cert.valid_from} to ${cert.valid_to}; ask them to renew it.`
      )
      socket.destroy()
      return
    }
    this.o.ctx.fingerprints?.presented(peer.id, fingerprint)
    const key = `${socket.remoteAddress}:${socket.remotePort}`
    const connection: Connection = {
      key,
      socket,
      peerId: peer.id,
      networkId: peer.networkId,
      fingerprint,
      session: null,
      lastHealth: Date.now(),
      eventStream: null,
      eventWriter: null,
      rolStream: null,
      groupsStreams: new Set(),
      openCallbacks: new Set(),
      ended: false,
      remoteName: ''
    }
    this.connections.set(key, connection)
    socket.once('close', () => this.closed(connection))
    socket.on('error', () => {
      // 'close' follows and does the cleanup.
    })
    this.injector?.injectConnection(socket)
  }

  private closed(connection: Connection): void {
    if (this.connections.get(connection.key) === connection) this.connections.delete(connection.key)
    if (connection.session && !connection.session.isEnded) {
      connection.session.end('The connection closed.', null)
      this.o.onSessionEnded(connection.session, 'The connection closed.')
    }
    connection.ended = true
  }

  /** The connection (and its session, created on the first call) a gRPC call came in on; null when unknown or ended. */
  private connectionOf(call: SurfaceCall): Connection | null {
    const connection = this.connections.get(call.getPeer())
    if (!connection || connection.ended) return null
    if (!connection.session) {
      const link: SessionLink = {
        sendEvent: (message: FederatedEventMessage | Buffer, position: boolean, onDrop: DropSink) =>
          sendThroughOutbox(connection.eventWriter, message, position, onDrop),
        rolStream: () => connection.rolStream,
        backlog: () => backlogOf(connection.eventWriter),
        end: (code, details) => this.endConnection(connection, code, details)
      }
      connection.session = new PeerSession(this.o.ctx, connection.peerId, connection.networkId, 'server', connection.key, link)
      this.o.onSession(connection.session)
    }
    return connection
  }

  private endConnection(connection: Connection, code: grpc.status, details: string, graceMs = 1000): void {
    if (connection.ended) return
    connection.ended = true
    const error = { code, details, name: 'SessionEnded', message: details, metadata: new grpc.Metadata() } as grpc.ServiceError
    // Outbound streams end with the error status (never OK), client-streaming calls fail with it too.
    for (const stream of [connection.eventStream, connection.rolStream, ...connection.groupsStreams]) {
      if (stream && !stream.writableEnded && !stream.destroyed) stream.emit('error', error)
    }
    for (const callback of connection.openCallbacks) callback(error)
    connection.openCallbacks.clear()
    if (connection.session && !connection.session.isEnded) {
      connection.session.end(details, null)
      this.o.onSessionEnded(connection.session, details)
    }
    // Give the status frames a moment to leave, then drop the TCP connection for good.
    const timer = setTimeout(() => connection.socket.destroy(), graceMs)
    timer.unref()
  }

  private checkHealth(): void {
    const now = Date.now()
    for (const connection of [...this.connections.values()]) {
      // Also a connection that never made a call: it holds a socket and nothing else.
      if (!connection.ended && now - connection.lastHealth > this.o.healthTimeoutMs) {
        const seconds = Math.round(this.o.healthTimeoutMs / 100) / 10
        this.endConnection(connection, grpc.status.DEADLINE_EXCEEDED, `No health check arrived for ${seconds} s.`)
      }
    }
  }

  /** Once per connection: the federate may send far more than HTTP/2's default window (flow-control.ts). */
  private widenWindow(connection: Connection, call: unknown): void {
    if (connection.windowWidened) return
    connection.windowWidened = true
    if (!widenReceiveWindow(call) && !this.windowWarningGiven) {
      this.windowWarningGiven = true
      this.o.ctx.log.warn(
        'Federation: could not widen the HTTP/2 receive window (grpc-js internals changed); links stay at HTTP/2 defaults.'
      )
    }
  }

  // ─── RPCs (spec §2.4) ──────────────────────────────────────────────────────

  private handlers(): grpc.UntypedServiceImplementation {
    return rpcHandlers({
      connectionOf: (call) => this.connectionOf(call),
      widenWindow: (connection, call) => this.widenWindow(connection, call),
      subscriptionFor: (connection) => this.subscriptionFor(connection),
      service: this.o.service,
      maxMessageBytes: this.o.maxMessageBytes,
      log: this.o.ctx.log,
      fingerprints: this.o.ctx.fingerprints
    })
  }

  private subscriptionFor(connection: Connection): SubscriptionMessage {
    return {
      filter: '',
      identity: { name: this.o.ctx.us.name, uid: connection.key, type: 'FEDERATION_TAK_SERVER', serverId: this.o.ctx.us.federateId }
    }
  }
}

function subjectText(subject: tls.Certificate | undefined): string {
  if (!subject) return ''
  return Object.entries(subject)
    .map(([k, value]) => `${k}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ')
}
