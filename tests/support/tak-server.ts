// A TAK-Server-like federation v2 server for tests, written from shared/spec/tak-federation.md §2.4: real grpc-js over
// mutual TLS (leaf + CA presented, a client certificate from `clientCa` required). ServerFederateGroupsStream sends one
// SERVING and stays open; ClientEventStream and ClientROLStream stay open; HealthCheck answers SERVING; the
// client-streaming calls are read and never completed early. Records every ROL on ServerROLStream with whether that
// connection's ClientROLStream was open at that moment: TAK drops a client's ROL otherwise ("null rolStreamHolder").
// A connection is told by the client's address and port (TAK goes by the TLS session).

import * as grpc from '@grpc/grpc-js'
import { loadFigService, type RolMessageWire } from '../../gateway/federation/tak/proto.ts'

export interface TakServerOptions {
  /** The server's identity: key and leaf + CA chain (PEM). */
  key: string
  certChain: string
  /** CA that issued the federate's client certificate (the dialing gateway's own CA). */
  clientCa: string
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
  private readonly server = new grpc.Server()
  /** Server-streaming calls held open, ended at close. */
  private readonly open = new Set<grpc.ServerWritableStream<unknown, unknown>>()
  port = 0

  constructor(private readonly o: TakServerOptions) {
    const service = loadFigService()
    const unimplemented = (_call: unknown, callback?: grpc.sendUnaryData<unknown>): void => {
      callback?.({ code: grpc.status.UNIMPLEMENTED, details: 'not in this test server' } as grpc.ServiceError, null)
    }
    const handlers: grpc.UntypedServiceImplementation = {}
    for (const name of Object.keys(service.definition)) handlers[name] = unimplemented as grpc.UntypedHandleCall
    const seen = (method: string, call: AnyCall): string => {
      const connection = call.getPeer()
      this.calls.push({ method, connection, fingerprint: call.getAuthContext().sslPeerCertificate?.fingerprint256 ?? '' })
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
      seen('ClientEventStream', call)
      holdOpen(call)
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
    handlers.ServerEventStream = readUntilEnd('ServerEventStream') as grpc.UntypedHandleCall
    handlers.ClientFederateGroupsStream = readUntilEnd('ClientFederateGroupsStream') as grpc.UntypedHandleCall
    handlers.ServerROLStream = readUntilEnd('ServerROLStream', (message, connection) => {
      this.rolReceived.push({ message: message as RolMessageWire, afterRolIn: this.rolInOpenedAt.has(connection), at: Date.now() })
    }) as grpc.UntypedHandleCall
    this.server.addService(service.definition, handlers)
  }

  async start(): Promise<this> {
    const credentials = grpc.ServerCredentials.createSsl(
      Buffer.from(this.o.clientCa),
      [{ private_key: Buffer.from(this.o.key), cert_chain: Buffer.from(this.o.certChain) }],
      true
    )
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', credentials, (err, port) => (err ? reject(err) : resolve(port)))
    )
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
    this.server.forceShutdown()
  }
}
