// The RPCs of the server role (spec §2.4), one function each, so a stock TAK Server that dialed us stays connected.
// server.ts owns the accepted connections and hands each handler the little it reaches through RpcHost.

import type { FingerprintExchange } from './rotation.ts'
import type tls from 'node:tls'
import * as grpc from '@grpc/grpc-js'
import type { Logger } from '../../log.ts'
import type { FigService, FederatedEventMessage, RolMessageWire, SubscriptionMessage } from './proto.ts'
import type { PeerSession } from './session.ts'
import { ServerEventWriter } from './direct-writes.ts'
import { readRolInOrder } from './rol-flow.ts'
import { readWithBudget } from '../../routing/read-budget.ts'

/** What every kind of server call offers (grpc-js does not export the name). */
export type SurfaceCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getPeer'>

type Callback = (error: grpc.ServiceError | null, value?: unknown) => void

type WritableCall = grpc.ServerWritableStream<unknown, unknown>
type ReadableCall = grpc.ServerReadableStream<unknown, unknown>

/** One accepted TLS connection: everything its gRPC calls share (TAK keys sessions by TLS session too). */
export interface Connection {
  key: string
  socket: tls.TLSSocket
  peerId: string
  networkId: string
  fingerprint: string
  session: PeerSession | null
  lastHealth: number
  eventStream: WritableCall | null
  /** What our events go through to eventStream (direct-writes.ts). */
  eventWriter: ServerEventWriter | null
  rolStream: WritableCall | null
  groupsStreams: Set<WritableCall>
  windowWidened?: boolean
  /** Client-streaming calls still open: answered only when the client half-closes, or failed when the session ends. */
  openCallbacks: Set<Callback>
  ended: boolean
  remoteName: string
}

/** What the handlers need of the server that accepted the connection. */
export interface RpcHost {
  /** The connection (its session created on the first call) a call came in on; null when unknown or ended. */
  connectionOf(call: SurfaceCall): Connection | null
  widenWindow(connection: Connection, call: unknown): void
  subscriptionFor(connection: Connection): SubscriptionMessage
  service: FigService
  maxMessageBytes: number
  log: Logger
  /** Next-certificate announcements between Fedgates (rotation.ts), on HealthCheck. */
  fingerprints?: FingerprintExchange
}

export function rpcHandlers(host: RpcHost): grpc.UntypedServiceImplementation {
  return {
    ServerFederateGroupsStream: serverStream(host, openGroupsStream),
    ClientEventStream: serverStream(host, (connection, call) => openEventStream(host, connection, call)),
    ClientROLStream: serverStream(host, openRolStream),
    ServerEventStream: clientStream(host, (call, connection) =>
      readWithBudget(call, (message: FederatedEventMessage) => connection.session!.onFederatedEvent(message))
    ),
    // One ROL message at a time, in order: a package is stored before the next is read (rol-flow.ts).
    ServerROLStream: clientStream(host, (call, connection) =>
      readRolInOrder(
        call,
        (message: RolMessageWire) => connection.session!.onRol(message),
        (err) => host.log.warn(`ROL handling failed: ${err.message}`)
      )
    ),
    // The TAK federate's outbound groups: we federate by network, not by TAK group, so they are only read.
    ClientFederateGroupsStream: clientStream(host, (call) => readWithBudget(call, () => {})),
    HealthCheck: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: Callback) => healthCheck(host, call, callback),
    GetAuthTokenByX509: unimplemented,
    Getx509Identity: unimplemented,
    getIdentity: unimplemented,
    SendOneEvent: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: Callback) => sendOneEvent(host, call, callback),
    SendOneBlob: unimplemented,
    BinaryMessageStream: binaryMessageStream
  }
}

function serverStream(host: RpcHost, attach: (connection: Connection, call: WritableCall) => void) {
  return (call: WritableCall): void => {
    const connection = host.connectionOf(call)
    if (!connection) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'This connection is not federated.' })
      return
    }
    host.widenWindow(connection, call)
    call.on('error', () => {})
    attach(connection, call)
  }
}

/** Client-streaming: `read` the call until the client half-closes, answer only then; never complete early. */
function clientStream(host: RpcHost, read: (call: ReadableCall, connection: Connection) => void) {
  return (call: ReadableCall, callback: Callback): void => {
    const connection = host.connectionOf(call)
    if (!connection) {
      callback({ code: grpc.status.UNAVAILABLE, details: 'This connection is not federated.' } as grpc.ServiceError)
      return
    }
    host.widenWindow(connection, call)
    let answered = false
    const answer: Callback = (error, value) => {
      if (answered) return
      answered = true
      connection.openCallbacks.delete(answer)
      callback(error, value)
    }
    connection.openCallbacks.add(answer)
    read(call, connection)
    call.on('end', () => answer(null, host.subscriptionFor(connection)))
    call.on('error', () => connection.openCallbacks.delete(answer))
    call.on('cancelled', () => connection.openCallbacks.delete(answer))
  }
}

function openGroupsStream(connection: Connection, call: WritableCall): void {
  noteIdentity(connection, call.request as SubscriptionMessage)
  connection.groupsStreams.add(call)
  call.on('cancelled', () => connection.groupsStreams.delete(call))
  // Exactly one SERVING per stream: a TAK client opens ServerEventStream on each one.
  call.write({ streamUpdate: { status: 'SERVING' }, federateGroups: [] })
}

function openEventStream(host: RpcHost, connection: Connection, call: WritableCall): void {
  noteIdentity(connection, call.request as SubscriptionMessage)
  if (connection.eventStream && connection.eventStream !== call)
    connection.eventStream.emit('error', { code: grpc.status.ABORTED, details: 'Replaced by a newer stream.' })
  connection.eventStream = call
  const writer = new ServerEventWriter(call, host.service.definition.ClientEventStream!.responseSerialize, host.maxMessageBytes)
  connection.eventWriter = writer
  call.on('cancelled', () => {
    if (connection.eventStream !== call) return
    connection.eventStream = null
    connection.eventWriter = null
  })
  connection.session!.ready()
}

function openRolStream(connection: Connection, call: WritableCall): void {
  connection.rolStream = call
  call.on('cancelled', () => {
    if (connection.rolStream === call) connection.rolStream = null
  })
  connection.session!.rolStreamOpened()
}

function healthCheck(host: RpcHost, call: grpc.ServerUnaryCall<unknown, unknown>, callback: Callback): void {
  const connection = host.connectionOf(call)
  if (!connection) {
    callback(null, { status: 'NOT_CONNECTED' })
    return
  }
  connection.lastHealth = Date.now()
  connection.session!.onHealth()
  const fingerprints = host.fingerprints
  if (fingerprints) {
    fingerprints.received(connection.peerId, call.metadata)
    call.sendMetadata(fingerprints.outgoing())
  }
  callback(null, { status: 'SERVING' })
}

function sendOneEvent(host: RpcHost, call: grpc.ServerUnaryCall<unknown, unknown>, callback: Callback): void {
  if (!host.connectionOf(call))
    return callback({ code: grpc.status.UNAVAILABLE, details: 'This connection is not federated.' } as grpc.ServiceError)
  host.connectionOf(call)!.session!.onFederatedEvent(call.request as FederatedEventMessage)
  callback(null, {})
}

function binaryMessageStream(call: ReadableCall, callback: Callback): void {
  call.on('data', () => {})
  call.on('end', () => callback({ code: grpc.status.UNIMPLEMENTED, details: 'Binary messages are not supported.' } as grpc.ServiceError))
  call.on('error', () => {})
}

function noteIdentity(connection: Connection, subscription: SubscriptionMessage | undefined): void {
  const name = subscription?.identity?.name
  if (name) connection.remoteName = name
}

function unimplemented(_call: unknown, callback: Callback): void {
  callback({ code: grpc.status.UNIMPLEMENTED, details: 'Not implemented by Fedgate.' } as grpc.ServiceError)
}
