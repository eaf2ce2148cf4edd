// The device streaming listener (Streaming:TlsPort, 8089): mutual TLS with certificates from our CA, XML CoT with an
// optional switch to TAK protocol v1, ping/pong, position replay on connect, deletes on disconnect, and a bounded
// send queue per connection. Which network a connection belongs to comes from `authorize` (the device certificate).

import tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import { deleteEvent, pongEvent, protocolOfferEvent, protocolResponseEvent, requestedProtocolVersion } from '../cot/build.ts'
import { CONTROL_TYPES, type CotEvent } from '../cot/event.ts'
import { DEFAULT_MAX_EVENT_BYTES, ProtoStreamFramer, XmlStreamFramer } from '../cot/framer.ts'
import { CotLimitError, CotParseError, isPositionReport, parseEvent } from '../cot/parse.ts'
import { decodeTakMessage, fromTakCotEvent, protoFrameOf } from '../cot/proto.ts'
import type { Logger } from '../log.ts'
import type { DeviceRecord } from '../store/schema.ts'
import type { Router } from '../routing/router.ts'
import type { Endpoint, Origin } from '../routing/types.ts'
import { TurnBudget } from '../routing/read-budget.ts'
import { Presence } from './presence.ts'
import { DEFAULT_MAX_QUEUE_BYTES, SendQueue } from './streaming-queue.ts'
import { DEFAULT_FLUSH_POLICY, FlushScheduler, type FlushPolicy } from './flush-scheduler.ts'

export interface DeviceIdentity {
  deviceId: string
  networkId: string
  /** The certificate's callsign; used for direct messages until the device reports its own. */
  callsign: string
}

export interface StreamingOptions {
  port: number
  host?: string
  tls: { key: string; cert: string; ca: string }
  maxEventBytes?: number
  /** Cap per receiver (our queue plus the socket's buffer). Default 1 MiB. */
  maxQueueBytes?: number
  /** When queued frames are written: at once when quiet, gathered per tick when busy (flush-scheduler.ts). */
  flushPolicy?: FlushPolicy
  /**
   * A connection silent for this long while nothing reaches it from us (or what we write stops draining) is closed as
   * half-open; see goneBecause. Default 60 s; 0 = never.
   */
  idleTimeoutMs?: number
  /** Map a verified client certificate to its device; null = unknown or revoked (the connection is closed at once). */
  authorize(certificate: tls.PeerCertificate): DeviceIdentity | null | Promise<DeviceIdentity | null>
  router: Router
  log: Logger
  presence?: Presence
  serverVersion?: string
  /** Applies the port's caps and handshake deadline to the server before it listens (net/listener-guard.ts). */
  guard?: (server: tls.Server) => void
  /** Per-receiver form of a fileshare (`b-f-t-r`): its senderUrl must name the address this device reached us on. */
  fileshareForReceiver?: (event: CotEvent, hostDialed: string | undefined) => CotEvent
}

export interface ConnectionInfo {
  id: string
  deviceId: string
  networkId: string
  callsign: string | null
  uid: string | null
  address: string | null
  protocol: 'xml' | 'protobuf'
  connectedAt: string
  queuedBytes: number
  drops: number
}

export interface StreamingCounters {
  accepted: number
  /** Certificate verified by TLS but not (or no longer) a device of a network. */
  unauthorized: number
  /** TLS handshakes that failed (no certificate, another CA, expired, garbage). */
  handshakeFailures: number
  eventsIn: number
  malformed: number
  /** DOCTYPE / ENTITY declarations refused before parsing. */
  declarations: number
  /** Events or buffers over Streaming:MaxEventBytes, or protobuf framing errors: the connection was closed. */
  oversize: number
  protocolErrors: number
  /** Frames dropped from full send queues. */
  drops: number
}

export interface StreamingListener {
  port: number
  presence: Presence
  close(): Promise<void>
  /** New connections are served with this key and certificate chain (the server certificate was reissued). */
  useIdentity(tls: { key: string; cert: string }): void
  /** Close every live connection of a device (revoked, deleted); returns how many were closed. */
  disconnectDevice(deviceId: string): number
  disconnectNetwork(networkId: string): number
  connections(): ConnectionInfo[]
  counters(): StreamingCounters
}

type DeviceFacts = Pick<DeviceRecord, 'id' | 'networkId' | 'callsign' | 'fingerprint' | 'revokedAt'>

/**
 * The usual `authorize`: the certificate's SHA-256 fingerprint must be a device of a network and not revoked.
 * `devices` is read at every connection, so a revocation applies to the next handshake without a restart.
 */
export function authorizeByFingerprint(devices: () => readonly DeviceFacts[]): StreamingOptions['authorize'] {
  return (certificate) => {
    const fingerprint = certificate.fingerprint256
    if (!fingerprint) return null
    const device = devices().find((d) => d.fingerprint === fingerprint)
    if (!device || device.revokedAt !== null) return null
    return { deviceId: device.id, networkId: device.networkId, callsign: device.callsign }
  }
}

let nextConnection = 0

/**
 * Silence from a device that no live one keeps up, whatever we write to it: ATAK sends its position every 180 s when
 * stationary (dynamicReportingRateStationaryReliable), so three of those.
 */
export const MAX_DEVICE_SILENCE_MS = 600_000

/**
 * Why a connection counts as half-open now, or null while it may be alive. A device that hears nothing from us pings
 * (ATAK after 15 s without receiving anything, then every 4.5 s), but one that keeps receiving may stay silent until
 * its next position report, minutes away. So silence is enough only while nothing reaches it from us either: nothing
 * was written, or what was written has not drained (a vanished peer acknowledges nothing, so its socket backs up and
 * the queue stops writing to it).
 */
export function goneBecause(
  connection: { lastReceivedAt: number; queue: { lastWriteAt: number; stalled: boolean } },
  now: number,
  idleTimeoutMs: number
): string | null {
  const silentMs = now - connection.lastReceivedAt
  if (silentMs < idleTimeoutMs) return null
  const silent = `sent nothing for ${Math.round(silentMs / 1000)} s`
  if (now - connection.queue.lastWriteAt >= idleTimeoutMs) {
    return connection.queue.stalled ? `${silent} and took nothing we wrote in that time` : `${silent} though nothing was written to it (a live device pings)`
  }
  if (silentMs >= MAX_DEVICE_SILENCE_MS) return `${silent}, longer than a live device stays silent`
  return null
}

class DeviceConnection implements Endpoint {
  readonly id: string
  readonly kind = 'device' as const
  readonly networkId: string
  readonly deviceId: string
  readonly connectedAt = new Date().toISOString()
  callsign: string | null
  uid: string | null = null
  /** Type of this connection's last position report, for the delete sent when it goes away. */
  positionType = 'a-f-G'
  protocol: 'xml' | 'protobuf' = 'xml'
  private readonly xmlFramer: XmlStreamFramer
  private protoFramer: ProtoStreamFramer | null = null
  readonly queue: SendQueue
  /** Events handled this turn: a device sending faster than we route yields to the other inputs (routing/read-budget.ts). */
  private readonly budget: TurnBudget
  private readonly origin: Origin

  constructor(
    readonly socket: tls.TLSSocket,
    identity: DeviceIdentity,
    private readonly listener: ListenerState
  ) {
    this.id = `${identity.deviceId}#${++nextConnection}`
    this.networkId = identity.networkId
    this.deviceId = identity.deviceId
    this.callsign = identity.callsign
    this.origin = { kind: 'device', networkId: this.networkId, endpointId: this.id }
    this.xmlFramer = new XmlStreamFramer(listener.maxEventBytes)
    this.budget = new TurnBudget(socket)
    this.queue = new SendQueue(
      socket,
      listener.maxQueueBytes,
      (count) => {
        listener.counters.drops += count
        listener.presence.dropped(this.deviceId, count)
      },
      listener.flushScheduler
    )
  }

  deliver(event: CotEvent): void {
    if (event.type === 'b-f-t-r' && this.listener.fileshareForReceiver) event = this.listener.fileshareForReceiver(event, this.hostDialed())
    this.queue.push(this.encode(event), event.type.startsWith('a-'))
  }

  /**
   * The name or address this device reached us by: the host name it dialed (TLS SNI; devices send none for an IP
   * address), else the local address the connection arrived on. Packages it is sent point there.
   */
  private hostDialed(): string | undefined {
    const sni = this.socket.servername
    return typeof sni === 'string' && sni !== '' ? sni : this.socket.localAddress
  }

  /** Control answers go to this connection only, in its current wire format, and are never pushed out of its queue. */
  private reply(event: CotEvent): void {
    this.queue.push(this.encode(event), false, true)
  }

  private encode(event: CotEvent): Buffer {
    return this.protocol === 'protobuf' ? protoFrameOf(event) : event.xml
  }

  start(): void {
    this.reply(protocolOfferEvent(this.listener.serverVersion))
    for (const position of this.listener.router.latestPositions(this.networkId)) this.deliver(position)
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk))
  }

  /** When the device last sent anything (writes to it are the queue's lastWriteAt: a half-open peer still takes some). */
  lastReceivedAt = Date.now()

  private receive(chunk: Buffer): void {
    this.lastReceivedAt = Date.now()
    if (this.protocol === 'protobuf') return this.receiveProto(chunk)
    const frames = this.xmlFramer.push(chunk)
    for (const rejected of frames.rejected) {
      if (rejected.reason === 'declaration') this.listener.counters.declarations++
      else this.listener.counters.malformed++
    }
    for (const bytes of frames.events) {
      let event: CotEvent
      try {
        event = parseEvent(bytes)
      } catch (error) {
        if (!(error instanceof CotParseError)) throw error
        // Over the parser's caps (elements, attributes) counts with the events over the byte cap; the connection stays.
        if (error instanceof CotLimitError) this.listener.counters.oversize++
        else this.listener.counters.malformed++
        continue
      }
      this.handle(event)
    }
    if (frames.overflow) {
      this.listener.counters.oversize++
      this.listener.log.warn(`Device ${this.deviceId} sent an event over ${this.listener.maxEventBytes} bytes; the connection was closed`)
      this.socket.destroy()
      return
    }
    if (this.speaksProtobuf()) {
      const rest = this.xmlFramer.takeRemainder()
      if (rest.length > 0) this.receiveProto(rest)
    }
  }

  /** A method, not a field test, because handle() may switch the protocol in the middle of receive(). */
  private speaksProtobuf(): boolean {
    return this.protocol === 'protobuf'
  }

  private receiveProto(chunk: Buffer): void {
    const framer = (this.protoFramer ??= new ProtoStreamFramer(this.listener.maxEventBytes))
    const frames = framer.push(chunk)
    for (const message of frames.messages) {
      let event: CotEvent
      try {
        const decoded = decodeTakMessage(message)
        if (!decoded.cotEvent) continue // TakControl alone: nothing to route
        event = fromTakCotEvent(decoded.cotEvent)
      } catch (error) {
        if (error instanceof CotLimitError) this.listener.counters.oversize++
        else this.listener.counters.malformed++
        continue
      }
      this.handle(event)
    }
    if (frames.error) {
      if (frames.error === 'overflow') this.listener.counters.oversize++
      else this.listener.counters.protocolErrors++
      this.listener.log.warn(`Device ${this.deviceId} sent an unreadable protobuf stream (${frames.error}); the connection was closed`)
      this.socket.destroy()
    }
  }

  private handle(event: CotEvent): void {
    this.budget.spend()
    this.listener.counters.eventsIn++
    if (CONTROL_TYPES.has(event.type)) {
      this.listener.presence.seen(this.deviceId)
      if (event.type === 't-x-c-t') this.reply(pongEvent())
      else if (event.type === 't-x-takp-q') this.negotiate(event)
      return
    }
    // The device's own report is the one with <contact endpoint> (TAK Server binds to it the same way); a marker it
    // places (an a- event with a callsign, no endpoint) never becomes its identity, nor is deleted when it leaves.
    const position = isPositionReport(event)
    if (position) {
      // Identity from its own position reports, as TAK binds it from SA: a new uid, or a user renamed in ATAK (same
      // uid), is taken at once, so direct messages to the new name reach it.
      this.uid = event.uid
      this.callsign = event.callsign || this.callsign
      this.positionType = event.type
      this.listener.presence.seen(this.deviceId, { uid: event.uid, position: { lat: event.point.lat, lon: event.point.lon } })
    } else {
      this.listener.presence.seen(this.deviceId)
    }
    this.listener.router.publish(event, this.origin)
  }

  private negotiate(request: CotEvent): void {
    const accepted = this.protocol === 'xml' && requestedProtocolVersion(request) === 1
    this.reply(protocolResponseEvent(request.uid, accepted))
    // Everything queued so far is already encoded as XML; what is queued from now on is protobuf.
    if (accepted) this.protocol = 'protobuf'
  }
}

interface ListenerState {
  fileshareForReceiver: StreamingOptions['fileshareForReceiver']
  maxEventBytes: number
  maxQueueBytes: number
  flushScheduler: FlushScheduler
  serverVersion: string
  counters: StreamingCounters
  presence: Presence
  router: Router
  log: Logger
}

export async function startStreamingListener(options: StreamingOptions): Promise<StreamingListener> {
  const presence = options.presence ?? new Presence()
  const state: ListenerState = {
    fileshareForReceiver: options.fileshareForReceiver,
    maxEventBytes: options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    maxQueueBytes: options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
    flushScheduler: new FlushScheduler(options.flushPolicy ?? DEFAULT_FLUSH_POLICY),
    serverVersion: options.serverVersion ?? 'Fedgate',
    counters: { accepted: 0, unauthorized: 0, handshakeFailures: 0, eventsIn: 0, malformed: 0, declarations: 0, oversize: 0, protocolErrors: 0, drops: 0 },
    presence,
    router: options.router,
    log: options.log
  }
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000
  const live = new Map<string, DeviceConnection>()
  const sockets = new Set<tls.TLSSocket>()

  const server = tls.createServer({
    key: options.tls.key,
    cert: options.tls.cert,
    ca: options.tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2'
  })
  options.guard?.(server)

  server.on('tlsClientError', (_error, socket) => {
    state.counters.handshakeFailures++
    socket.destroy()
  })

  server.on('secureConnection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 30_000)
    socket.pause()
    identify(socket)
  })

  /**
   * Who is this? A function of its own so the peer certificate (modulus, DER, ~2.5 KB) lives only until authorize()
   * answers: closures created next to it (the socket's listeners above) would keep it for the life of the connection.
   */
  function identify(socket: tls.TLSSocket): void {
    const certificate = socket.getPeerCertificate()
    Promise.resolve()
      .then(() => (socket.authorized ? options.authorize(certificate) : null))
      .then(
        (identity) => {
          if (!identity || socket.destroyed) {
            state.counters.unauthorized++
            socket.destroy()
            return
          }
          accept(socket, identity)
        },
        (error: unknown) => {
          state.counters.unauthorized++
          options.log.error(`Could not authorize a device connection: ${error instanceof Error ? error.message : String(error)}`)
          socket.destroy()
        }
      )
  }

  function accept(socket: tls.TLSSocket, identity: DeviceIdentity): void {
    state.counters.accepted++
    const connection = new DeviceConnection(socket, identity, state)
    live.set(connection.id, connection)
    options.router.attach(connection)
    presence.connected(identity.deviceId, identity.networkId, socket.remoteAddress ?? null)
    socket.once('close', () => closed(connection))
    connection.start()
    socket.resume()
  }

  function closed(connection: DeviceConnection): void {
    if (!live.delete(connection.id)) return
    connection.queue.close()
    options.router.detach(connection.id)
    presence.disconnected(connection.deviceId)
    const uid = connection.uid
    if (uid === null) return
    const stillThere = [...live.values()].some((c) => c.networkId === connection.networkId && c.uid === uid)
    if (stillThere) return
    const last = options.router.forgetPosition(connection.networkId, uid)
    options.router.publish(deleteEvent(uid, last?.type ?? connection.positionType), { kind: 'device', networkId: connection.networkId, endpointId: connection.id })
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (error) => options.log.error(`Streaming listener: ${error.message}`))

  const idleSweep =
    idleTimeoutMs > 0
      ? setInterval(() => {
          const now = Date.now()
          for (const connection of [...live.values()]) {
            const why = goneBecause(connection, now, idleTimeoutMs)
            if (why === null) continue
            options.log.info(`Device ${connection.deviceId}: ${why}; its connection was closed as half-open`)
            connection.socket.destroy()
            closed(connection)
          }
        }, Math.max(100, Math.min(5000, idleTimeoutMs / 4)))
      : null
  idleSweep?.unref()

  const disconnectWhere = (match: (c: DeviceConnection) => boolean): number => {
    let count = 0
    for (const connection of [...live.values()]) {
      if (!match(connection)) continue
      connection.socket.destroy()
      closed(connection)
      count++
    }
    return count
  }

  return {
    port: (server.address() as AddressInfo).port,
    presence,
    close: () =>
      new Promise<void>((resolve) => {
        if (idleSweep) clearInterval(idleSweep)
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
        presence.close()
      }),
    useIdentity: ({ key, cert }) => server.setSecureContext({ key, cert, ca: options.tls.ca, minVersion: 'TLSv1.2' }),
    disconnectDevice: (deviceId) => disconnectWhere((c) => c.deviceId === deviceId),
    disconnectNetwork: (networkId) => disconnectWhere((c) => c.networkId === networkId),
    connections: () =>
      [...live.values()].map((c) => ({
        id: c.id,
        deviceId: c.deviceId,
        networkId: c.networkId,
        callsign: c.callsign,
        uid: c.uid,
        address: c.socket.remoteAddress ?? null,
        protocol: c.protocol,
        connectedAt: c.connectedAt,
        queuedBytes: c.queue.heldBytes,
        drops: c.queue.drops
      })),
    counters: () => ({ ...state.counters })
  }
}
