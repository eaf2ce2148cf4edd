// The wire format of one device connection: XML CoT until the device accepts our offer of TAK protocol v1, then
// protobuf frames both ways. Reads the device's bytes into events and encodes what goes to it.

import { protocolResponseEvent, requestedProtocolVersion } from '../cot/build.ts'
import type { CotEvent } from '../cot/event.ts'
import { ProtoStreamFramer, XmlStreamFramer } from '../cot/framer.ts'
import { CotLimitError, CotParseError, parseEvent } from '../cot/parse.ts'
import { decodeTakMessage, fromTakCotEvent, protoFrameOf } from '../cot/proto.ts'

/** The listener's counters this connection's reading adds to. */
export interface WireCounters {
  malformed: number
  declarations: number
  oversize: number
  protocolErrors: number
}

export class DeviceWire {
  protocol: 'xml' | 'protobuf' = 'xml'
  private readonly xmlFramer: XmlStreamFramer
  private protoFramer: ProtoStreamFramer | null = null

  constructor(
    private readonly maxEventBytes: number,
    private readonly counters: WireCounters
  ) {
    this.xmlFramer = new XmlStreamFramer(maxEventBytes)
  }

  encode(event: CotEvent): Buffer {
    return this.protocol === 'protobuf' ? protoFrameOf(event) : event.xml
  }

  /**
   * Hands each event in `chunk` to `handle` (which may switch the protocol part way). Returns why the connection must
   * close (a sentence ending after the device's name), or null.
   */
  read(chunk: Buffer, handle: (event: CotEvent) => void): string | null {
    if (this.protocol === 'protobuf') return this.readProto(chunk, handle)
    const frames = this.xmlFramer.push(chunk)
    for (const rejected of frames.rejected) {
      if (rejected.reason === 'declaration') this.counters.declarations++
      else this.counters.malformed++
    }
    for (const bytes of frames.events) {
      let event: CotEvent
      try {
        event = parseEvent(bytes)
      } catch (error) {
        if (!(error instanceof CotParseError)) throw error
        // Over the parser's caps (elements, attributes) counts with the events over the byte cap; the connection stays.
        if (error instanceof CotLimitError) this.counters.oversize++
        else this.counters.malformed++
        continue
      }
      handle(event)
    }
    if (frames.overflow) {
      this.counters.oversize++
      return `sent an event over ${this.maxEventBytes} bytes`
    }
    if (this.speaksProtobuf()) {
      const rest = this.xmlFramer.takeRemainder()
      if (rest.length > 0) return this.readProto(rest, handle)
    }
    return null
  }

  /** A method, not a field test, because handle() may switch the protocol in the middle of read(). */
  private speaksProtobuf(): boolean {
    return this.protocol === 'protobuf'
  }

  private readProto(chunk: Buffer, handle: (event: CotEvent) => void): string | null {
    const framer = (this.protoFramer ??= new ProtoStreamFramer(this.maxEventBytes))
    const frames = framer.push(chunk)
    for (const message of frames.messages) {
      let event: CotEvent
      try {
        const decoded = decodeTakMessage(message)
        if (!decoded.cotEvent) continue // TakControl alone: nothing to route
        event = fromTakCotEvent(decoded.cotEvent)
      } catch (error) {
        if (error instanceof CotLimitError) this.counters.oversize++
        else this.counters.malformed++
        continue
      }
      handle(event)
    }
    if (!frames.error) return null
    if (frames.error === 'overflow') this.counters.oversize++
    else this.counters.protocolErrors++
    return `sent an unreadable protobuf stream (${frames.error})`
  }

  /** Answers the device's protocol request through `reply`, in the format it was asked in. */
  negotiate(request: CotEvent, reply: (event: CotEvent) => void): void {
    const accepted = this.protocol === 'xml' && requestedProtocolVersion(request) === 1
    reply(protocolResponseEvent(request.uid, accepted))
    // Everything queued so far is already encoded as XML; what is queued from now on is protobuf.
    if (accepted) this.protocol = 'protobuf'
  }
}
