// One device's streaming connection: what it sends is routed on its network (control events answered here), what
// the network routes to it goes through its bounded send queue, in the wire format it negotiated.

import type tls from 'node:tls'
import { pongEvent, protocolOfferEvent } from '../cot/build.ts'
import { CONTROL_TYPES, type CotEvent } from '../cot/event.ts'
import { isPositionReport } from '../cot/parse.ts'
import type { Logger } from '../log.ts'
import type { Router } from '../routing/router.ts'
import type { Endpoint, Origin } from '../routing/types.ts'
import { TurnBudget } from '../routing/read-budget.ts'
import type { Presence } from './presence.ts'
import { SendQueue } from './streaming-queue.ts'
import type { FlushScheduler } from './flush-scheduler.ts'
import { DeviceWire } from './device-wire.ts'

export interface DeviceIdentity {
  deviceId: string
  networkId: string
  /** The certificate's callsign; used for direct messages until the device reports its own. */
  callsign: string
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

/** What every connection of one listener shares. */
export interface ListenerState {
  fileshareForReceiver: ((event: CotEvent, hostDialed: string | undefined) => CotEvent) | undefined
  maxEventBytes: number
  maxQueueBytes: number
  flushScheduler: FlushScheduler
  serverVersion: string
  counters: StreamingCounters
  presence: Presence
  router: Router
  log: Logger
}

let nextConnection = 0

export class DeviceConnection implements Endpoint {
  readonly id: string
  readonly kind = 'device' as const
  readonly networkId: string
  readonly deviceId: string
  readonly connectedAt = new Date().toISOString()
  callsign: string | null
  uid: string | null = null
  /** Type of this connection's last position report, for the delete sent when it goes away. */
  positionType = 'a-f-G'
  private readonly wire: DeviceWire
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
    this.wire = new DeviceWire(listener.maxEventBytes, listener.counters)
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

  get protocol(): 'xml' | 'protobuf' {
    return this.wire.protocol
  }

  info(): ConnectionInfo {
    return {
      id: this.id,
      deviceId: this.deviceId,
      networkId: this.networkId,
      callsign: this.callsign,
      uid: this.uid,
      address: this.socket.remoteAddress ?? null,
      protocol: this.protocol,
      connectedAt: this.connectedAt,
      queuedBytes: this.queue.heldBytes,
      drops: this.queue.drops
    }
  }

  deliver(event: CotEvent): void {
    if (event.type === 'b-f-t-r' && this.listener.fileshareForReceiver) event = this.listener.fileshareForReceiver(event, this.hostDialed())
    this.queue.push(this.wire.encode(event), event.type.startsWith('a-'))
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
    this.queue.push(this.wire.encode(event), false, true)
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
    const unreadable = this.wire.read(chunk, (event) => this.handle(event))
    if (unreadable === null) return
    this.listener.log.warn(`Device ${this.deviceId} ${unreadable}; the connection was closed`)
    this.socket.destroy()
  }

  private handle(event: CotEvent): void {
    this.budget.spend()
    this.listener.counters.eventsIn++
    if (CONTROL_TYPES.has(event.type)) {
      this.listener.presence.seen(this.deviceId)
      if (event.type === 't-x-c-t') this.reply(pongEvent())
      else if (event.type === 't-x-takp-q') this.wire.negotiate(event, (response) => this.reply(response))
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
    this.listener.presence.timed(this.deviceId, event)
    this.listener.router.publish(event, this.origin)
  }
}
