// A small TAK device for tests: mutual TLS to the streaming port, XML CoT, and on request TAK protocol v1
// (waits for the server's offer, asks for version 1, then speaks 0xBF-framed TakMessages both ways).

import tls from 'node:tls'
import { protocolRequestEvent } from '../../gateway/cot/build.ts'
import type { CotEvent } from '../../gateway/cot/event.ts'
import { ProtoStreamFramer, XmlStreamFramer } from '../../gateway/cot/framer.ts'
import { parseEvent } from '../../gateway/cot/parse.ts'
import { decodeTakMessage, fromTakCotEvent, protoFrameOf } from '../../gateway/cot/proto.ts'

export interface DeviceClientOptions {
  port: number
  host?: string
  cert: string
  key: string
  ca: string
  /** The TLS SNI to send: 'localhost' unless given; null sends none, as a device that dials an IP address does. */
  servername?: string | null
}

export class DeviceClient {
  /** Every event received, control events included, in order. */
  readonly received: CotEvent[] = []
  protocol: 'xml' | 'protobuf' = 'xml'
  readonly closed: Promise<void>
  private readonly xmlFramer = new XmlStreamFramer()
  private readonly protoFramer = new ProtoStreamFramer()
  private waiters: { match: (e: CotEvent) => boolean; resolve: (e: CotEvent) => void }[] = []

  private constructor(readonly socket: tls.TLSSocket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', () => {})
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
  }

  static connect(options: DeviceClientOptions): Promise<DeviceClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: options.host ?? '127.0.0.1',
        port: options.port,
        cert: options.cert,
        key: options.key,
        ca: options.ca,
        ...(options.servername === null ? {} : { servername: options.servername ?? 'localhost' }),
        rejectUnauthorized: true
      })
      socket.once('secureConnect', () => resolve(new DeviceClient(socket)))
      socket.once('error', reject)
    })
  }

  /** Events that are not control messages (pong, protocol offer/response). */
  get events(): CotEvent[] {
    return this.received.filter((e) => !e.type.startsWith('t-x-c-t') && !e.type.startsWith('t-x-takp'))
  }

  /**
   * Send one event (an XML string or a parsed event) in the connection's current protocol. An XML string goes out
   * byte for byte: parsing it would strip `<marti><dest>` (the parser prepares events for delivery).
   */
  send(event: string | CotEvent): void {
    if (typeof event === 'string' && this.protocol === 'xml') {
      this.socket.write(event)
      return
    }
    const parsed = typeof event === 'string' ? parseEvent(Buffer.from(event)) : event
    this.socket.write(this.protocol === 'protobuf' ? protoFrameOf(parsed) : parsed.xml)
  }

  sendRaw(bytes: Buffer | string): void {
    this.socket.write(bytes)
  }

  /** Negotiate TAK protocol v1 as ATAK does; resolves once both directions speak protobuf. */
  async negotiate(timeoutMs = 5000): Promise<void> {
    const offer = await this.waitFor((e) => e.type === 't-x-takp-v', timeoutMs)
    if (!offer.detailXml.includes('TakProtocolSupport version="1"')) throw new Error('The server does not offer version 1')
    const response = this.waitFor((e) => e.type === 't-x-takp-r', timeoutMs)
    this.socket.write(protocolRequestEvent(offer.uid, 1).xml)
    const answer = await response
    if (!answer.detailXml.includes('status="true"')) throw new Error('The server refused version 1')
  }

  /** Resolve with the first event (already received or arriving) that matches. */
  waitFor(match: (e: CotEvent) => boolean, timeoutMs = 5000): Promise<CotEvent> {
    const found = this.received.find(match)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done)
        reject(new Error('Timed out waiting for an event'))
      }, timeoutMs)
      const done = (e: CotEvent): void => {
        clearTimeout(timer)
        resolve(e)
      }
      this.waiters.push({ match, resolve: done })
    })
  }

  close(): Promise<void> {
    this.socket.destroy()
    return this.closed
  }

  private receive(chunk: Buffer): void {
    if (this.protocol === 'protobuf') {
      this.receiveProto(chunk)
      return
    }
    const frames = this.xmlFramer.push(chunk)
    for (const bytes of frames.events) {
      const event = parseEvent(bytes)
      this.accept(event)
      if (event.type === 't-x-takp-r' && event.detailXml.includes('status="true"')) {
        this.protocol = 'protobuf'
      }
    }
    if (this.isProtobuf()) {
      const rest = this.xmlFramer.takeRemainder()
      if (rest.length > 0) this.receiveProto(rest)
    }
  }

  private isProtobuf(): boolean {
    return this.protocol === 'protobuf'
  }

  private receiveProto(chunk: Buffer): void {
    const frames = this.protoFramer.push(chunk)
    if (frames.error) throw new Error(`Unreadable protobuf stream from the server: ${frames.error}`)
    for (const message of frames.messages) {
      const decoded = decodeTakMessage(message)
      if (decoded.cotEvent) this.accept(fromTakCotEvent(decoded.cotEvent))
    }
  }

  private accept(event: CotEvent): void {
    this.received.push(event)
    for (const waiter of [...this.waiters]) {
      if (waiter.match(event)) {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        waiter.resolve(event)
      }
    }
  }
}
