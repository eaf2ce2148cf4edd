// The streaming listener's connection handling: who a verified TLS socket belongs to, the live connections of
// devices, and what their going away means (presence, routing, a delete for a position no other connection keeps).

import type tls from 'node:tls'
import { deleteEvent } from '../cot/build.ts'
import { DeviceConnection, type DeviceIdentity, type ListenerState } from './device-connection.ts'

export type Authorize = (certificate: tls.PeerCertificate) => DeviceIdentity | null | Promise<DeviceIdentity | null>

export class LiveConnections {
  private readonly live = new Map<string, DeviceConnection>()

  constructor(
    private readonly state: ListenerState,
    private readonly authorize: Authorize
  ) {}

  values(): IterableIterator<DeviceConnection> {
    return this.live.values()
  }

  /**
   * Who is this? A function of its own so the peer certificate (modulus, DER, ~2.5 KB) lives only until authorize()
   * answers: closures created next to it (the socket's listeners) would keep it for the life of the connection.
   */
  identify(socket: tls.TLSSocket): void {
    const certificate = socket.getPeerCertificate()
    Promise.resolve()
      .then(() => (socket.authorized ? this.authorize(certificate) : null))
      .then(
        (identity) => {
          if (!identity || socket.destroyed) {
            this.state.counters.unauthorized++
            socket.destroy()
            return
          }
          this.accept(socket, identity)
        },
        (error: unknown) => {
          this.state.counters.unauthorized++
          this.state.log.error(`Could not authorize a device connection: ${error instanceof Error ? error.message : String(error)}`)
          socket.destroy()
        }
      )
  }

  private accept(socket: tls.TLSSocket, identity: DeviceIdentity): void {
    this.state.counters.accepted++
    const connection = new DeviceConnection(socket, identity, this.state)
    this.live.set(connection.id, connection)
    this.state.router.attach(connection)
    this.state.presence.connected(identity.deviceId, identity.networkId, socket.remoteAddress ?? null)
    socket.once('close', () => this.closed(connection))
    connection.start()
    socket.resume()
  }

  closed(connection: DeviceConnection): void {
    if (!this.live.delete(connection.id)) return
    connection.queue.close()
    const { router, presence } = this.state
    router.detach(connection.id)
    presence.disconnected(connection.deviceId)
    const uid = connection.uid
    if (uid === null) return
    const stillThere = [...this.live.values()].some((c) => c.networkId === connection.networkId && c.uid === uid)
    if (stillThere) return
    const last = router.forgetPosition(connection.networkId, uid)
    router.publish(deleteEvent(uid, last?.type ?? connection.positionType), {
      kind: 'device',
      networkId: connection.networkId,
      endpointId: connection.id
    })
  }

  /** Destroys the socket and forgets the connection at once (its close event comes later); returns how many. */
  disconnectWhere(match: (c: DeviceConnection) => boolean): number {
    let count = 0
    for (const connection of [...this.live.values()]) {
      if (!match(connection)) continue
      this.disconnect(connection)
      count++
    }
    return count
  }

  disconnect(connection: DeviceConnection): void {
    connection.socket.destroy()
    this.closed(connection)
  }
}
