// A TAK-Server-like federation v2 server for tests, written from shared/spec/tak-federation.md §2.4: real grpc-js over
// mutual TLS (leaf + CA presented, a client certificate from `clientCa` required). ServerFederateGroupsStream sends one
// SERVING and stays open; ClientEventStream and ClientROLStream stay open; HealthCheck answers SERVING; the
// client-streaming calls are read and never completed early. Records every ROL on ServerROLStream with whether that
// connection's ClientROLStream was open at that moment: TAK drops a client's ROL otherwise ("null rolStreamHolder").
// A connection is told by the client's address and port (TAK goes by the TLS session).
// It loads its own fig.proto (tak-proto.ts) and follows TAK's group rule (tak-groups.ts): a dialing federate is in the
// groups of the entry for its leaf (or its CA, the chain's second certificate), and events on ServerEventStream reach
// only users who share a group; a user's events go out on ClientEventStream to federates it shares a group with.
// TLS is terminated here (node:tls, the client's chain kept) and the sockets handed to grpc-js, as TAK reads the chain.

import tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import * as grpc from '@grpc/grpc-js'
import type { FederatedEventMessage, RolMessageWire } from '../../gateway/federation/tak/proto.ts'
import {
  DEFAULT_USERS,
  federateGroups,
  LatestSaBuffer,
  reachesFederate,
  usersReached,
  type TakGroupConfig,
  type TakGroupSet,
  type TakUser
} from './tak-groups.ts'
import { loadTakFig } from './tak-proto.ts'

export interface TakServerOptions {
  /** The server's identity: key and leaf + CA chain (PEM). */
  key: string
  certChain: string
  /** CA that issued the federate's client certificate (the dialing gateway's own CA). */
  clientCa: string
  /** This TAK Server's <federate>/<federateCA> entries; absent: the generic snippet (__ANON__) for whatever connects. */
  groupConfig?: TakGroupConfig
  /** Its users and their groups; default one user in __ANON__. */
  users?: TakUser[]
  /** `<buffer><latestSA enable="true"/>`: a federate whose ClientEventStream opens gets each reachable user's latest SA. */
  latestSA?: boolean
}

export interface ReceivedRol {
  message: RolMessageWire
  /** ClientROLStream was already open on the same connection when this arrived. */
  afterRolIn: boolean
  at: number
}

/** What every kind of server call offers: its connection (the client's address and port) and client certificate. */
type AnyCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getPeer' | 'getAuthContext'>

export class TakServer {
  readonly rolReceived: ReceivedRol[] = []
  /** When ClientROLStream opened, per connection (the client's address:port). */
  readonly rolInOpenedAt = new Map<string, number>()
  /** Calls in the order they reached the server, with their connection and the client's leaf fingerprint (upper-case hex, colons). */
  readonly calls: { method: string; connection: string; fingerprint: string }[] = []
  readonly healthChecks: number[] = []
  /** Events from federates that reached at least one user, and those no user shared a group with (TAK drops them). */
  readonly received: FederatedEventMessage[] = []
  readonly dropped: FederatedEventMessage[] = []
  /** What each user received, by name. */
  readonly delivered = new Map<string, FederatedEventMessage[]>()
  /** Per connection: the client's leaf fingerprint and the groups TAK gave that federate. */
  private readonly peers = new Map<string, { fingerprint: string; groups: TakGroupSet }>()
  /** Per connection: its ClientEventStream, where this server's events go out. */
  private readonly eventStreams = new Map<string, grpc.ServerWritableStream<unknown, unknown>>()
  private readonly users: TakUser[]
  private readonly latestSa = new LatestSaBuffer()
  private readonly server = new grpc.Server()
  private tlsServer: tls.Server | null = null
  private readonly sockets = new Set<tls.TLSSocket>()
  /** Server-streaming calls held open, ended at close. */
  private readonly open = new Set<grpc.ServerWritableStream<unknown, unknown>>()
  port = 0

  constructor(private readonly o: TakServerOptions) {
    this.users = o.users ?? DEFAULT_USERS
    const service = loadTakFig()
    const unimplemented = (_call: unknown, callback?: grpc.sendUnaryData<unknown>): void => {
      callback?.({ code: grpc.status.UNIMPLEMENTED, details: 'not in this test server' } as grpc.ServiceError, null)
    }
    const handlers: grpc.UntypedServiceImplementation = {}
    for (const name of Object.keys(service.definition)) handlers[name] = unimplemented as grpc.UntypedHandleCall
    const seen = (method: string, call: AnyCall): string => {
      const connection = call.getPeer()
      this.calls.push({ method, connection, fingerprint: this.peers.get(connection)?.fingerprint ?? '' })
      return connection
    }
    const holdOpen = (call: grpc.ServerWritableStream<unknown, unknown>): void => {
      this.open.add(call)
      call.on('cancelled', () => this.open.delete(call))
    }
    // Client-streaming: read until the client half-closes; only then answer (TAK answers early, grpc-js cannot).
    const readUntilEnd =
      (method: string, onMessage: (message: unknown, connection: string) => void = () => {}) =>
      (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
        const connection = seen(method, call)
        call.on('data', (message: unknown) => onMessage(message, connection))
        call.on('end', () =>
          callback(null, {
            filter: '',
            identity: { name: 'tak-test', uid: 'tak-test', type: 'FEDERATION_TAK_SERVER', serverId: 'tak-test' }
          })
        )
        call.on('error', () => {})
      }

    handlers.ServerFederateGroupsStream = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
      seen('ServerFederateGroupsStream', call)
      holdOpen(call)
      call.write({ streamUpdate: { status: 'SERVING' }, federateGroups: [] })
    }) as grpc.UntypedHandleCall
    handlers.ClientEventStream = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
      const connection = seen('ClientEventStream', call)
      holdOpen(call)
      this.eventStreams.set(connection, call)
      call.on('cancelled', () => this.eventStreams.delete(connection))
      // As FederationServer.java does when a v2 federate's ClientEventStream is set up (tak-facts §3).
      const peer = this.peers.get(connection)
      if (this.o.latestSA && peer) for (const sa of this.latestSa.forFederate(peer.groups, this.users)) call.write(sa)
    }) as grpc.UntypedHandleCall
    handlers.ClientROLStream = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
      const connection = seen('ClientROLStream', call)
      if (!this.rolInOpenedAt.has(connection)) this.rolInOpenedAt.set(connection, Date.now())
      holdOpen(call)
    }) as grpc.UntypedHandleCall
    handlers.HealthCheck = ((call: AnyCall, callback: grpc.sendUnaryData<unknown>) => {
      seen('HealthCheck', call)
      this.healthChecks.push(Date.now())
      callback(null, { status: 'SERVING' })
    }) as grpc.UntypedHandleCall
    handlers.ServerEventStream = readUntilEnd('ServerEventStream', (message, connection) =>
      this.route(message as FederatedEventMessage, connection)
    ) as grpc.UntypedHandleCall
    handlers.ClientFederateGroupsStream = readUntilEnd('ClientFederateGroupsStream') as grpc.UntypedHandleCall
    handlers.ServerROLStream = readUntilEnd('ServerROLStream', (message, connection) => {
      this.rolReceived.push({ message: message as RolMessageWire, afterRolIn: this.rolInOpenedAt.has(connection), at: Date.now() })
    }) as grpc.UntypedHandleCall
    this.server.addService(service.definition, handlers)
  }

  /** An event from a federate, tagged with its IN groups, to the users in one of them. */
  private route(message: FederatedEventMessage, connection: string): void {
    const peer = this.peers.get(connection)
    const reached = peer ? usersReached(peer.groups, this.users) : []
    if (reached.length === 0) {
      this.dropped.push(message)
      return
    }
    for (const user of reached) this.delivered.set(user.name, [...(this.delivered.get(user.name) ?? []), message])
    this.received.push(message)
  }

  /** An event from a user to every connected federate whose OUT groups hold one of the user's groups; how many. */
  sendAs(userName: string, message: FederatedEventMessage): number {
    const user = this.users.find((u) => u.name === userName)
    if (!user) throw new Error(`No TAK user '${userName}' in this emulation`)
    this.latestSa.saw(userName, message)
    let sent = 0
    for (const [connection, call] of this.eventStreams) {
      const peer = this.peers.get(connection)
      if (!peer || !reachesFederate(user, peer.groups)) continue
      call.write(message)
      sent++
    }
    return sent
  }

  /** The groups this server gave each connected federate, by its leaf fingerprint. */
  groupsOf(fingerprint: string): TakGroupSet | undefined {
    return [...this.peers.values()].find((p) => p.fingerprint === fingerprint)?.groups
  }

  async start(): Promise<this> {
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure())
    const tlsServer = tls.createServer({
      key: this.o.key,
      cert: this.o.certChain,
      ca: this.o.clientCa,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2']
    })
    tlsServer.on('secureConnection', (socket) => {
      // TAK reads the leaf and the second certificate the peer sent (its <federateCA> match).
      const chain = socket.getPeerCertificate(true)
      const connection = `${socket.remoteAddress}:${socket.remotePort}`
      const groups = federateGroups(this.o.groupConfig, chain.fingerprint256, chain.issuerCertificate?.fingerprint256)
      this.peers.set(connection, { fingerprint: chain.fingerprint256, groups })
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
      injector.injectConnection(socket)
    })
    tlsServer.on('tlsClientError', () => {})
    await new Promise<void>((resolve, reject) => {
      tlsServer.once('error', reject)
      tlsServer.listen(0, '127.0.0.1', () => resolve())
    })
    this.tlsServer = tlsServer
    this.port = (tlsServer.address() as AddressInfo).port
    return this
  }

  close(): void {
    for (const call of this.open) {
      try {
        call.end()
      } catch {
        // already gone
      }
    }
    this.open.clear()
    this.tlsServer?.close()
    for (const socket of this.sockets) socket.destroy()
    this.server.forceShutdown()
  }
}
