// Stream framers for device connections: back-to-back XML `<event>` documents split on `</event>`, and the TAK
// protocol v1 stream framing (0xBF + varint length + TakMessage). Both work on Buffers and cap what they hold.

import { ByteAccumulator } from './accumulator.ts'

const EVENT_END = Buffer.from('</event>')
const EVENT_START = Buffer.from('<event')
const MARKUP_DECLARATION = Buffer.from('<!')
const DOCTYPE = Buffer.from('<!DOCTYPE')
const ENTITY = Buffer.from('<!ENTITY')

/**
 * True when the bytes hold a DOCTYPE or ENTITY declaration (refused before any parsing: XML bombs, external
 * entities). One search for "<!" first: most events have none, and comments or CDATA only then cost the two searches.
 */
export function hasDeclaration(bytes: Buffer): boolean {
  const first = bytes.indexOf(MARKUP_DECLARATION)
  if (first === -1) return false
  return bytes.indexOf(DOCTYPE, first) !== -1 || bytes.indexOf(ENTITY, first) !== -1
}

export const DEFAULT_MAX_EVENT_BYTES = 1_048_576
/** Room past the cap for the chunk that crosses it (a TLS record is at most 16 KiB), so that one costs no regrowth. */
const ACCUMULATOR_SLACK = 16_384

export interface XmlFrames {
  /** Complete `<event>…</event>` byte ranges with anything before `<event` (declaration, whitespace, `<auth>`) removed. */
  events: Buffer[]
  /** Frames dropped: no `<event` in them, or a DOCTYPE / ENTITY declaration. */
  rejected: { reason: 'malformed' | 'declaration' }[]
  /** Set when an event or the unframed buffer passed the cap: the caller closes the connection. */
  overflow: boolean
}

function isEventStart(buffer: Buffer, at: number): boolean {
  const next = buffer[at + EVENT_START.length]
  return next === 0x20 || next === 0x3e || next === 0x0a || next === 0x0d || next === 0x09 || next === 0x2f
}

function findEventStart(frame: Buffer): number {
  let from = 0
  for (;;) {
    const at = frame.indexOf(EVENT_START, from)
    if (at === -1 || isEventStart(frame, at)) return at
    from = at + 1
  }
}

export class XmlStreamFramer {
  private readonly held: ByteAccumulator
  /** Bytes of `held` already searched for `</event>` (minus the token's length, for a token split across chunks). */
  private searched = 0

  constructor(private readonly maxEventBytes = DEFAULT_MAX_EVENT_BYTES) {
    this.held = new ByteAccumulator(maxEventBytes + ACCUMULATOR_SLACK)
  }

  push(chunk: Buffer): XmlFrames {
    const result: XmlFrames = { events: [], rejected: [], overflow: false }
    this.held.append(chunk)
    const pending = this.held.bytes
    let frameStart = 0
    for (;;) {
      const end = pending.indexOf(EVENT_END, Math.max(frameStart, this.searched))
      if (end === -1) break
      const frameEnd = end + EVENT_END.length
      const frame = pending.subarray(frameStart, frameEnd)
      frameStart = frameEnd
      this.searched = frameEnd
      if (hasDeclaration(frame)) {
        result.rejected.push({ reason: 'declaration' })
        continue
      }
      const eventAt = findEventStart(frame)
      if (eventAt === -1) {
        result.rejected.push({ reason: 'malformed' })
        continue
      }
      const event = frame.subarray(eventAt)
      if (event.length > this.maxEventBytes) {
        result.overflow = true
        return result
      }
      result.events.push(event)
    }
    // Keep the unframed tail (copied, so the events handed out do not pin a large chunk).
    this.held.consume(frameStart)
    this.searched = Math.max(0, this.held.size - (EVENT_END.length - 1))
    if (this.held.size > this.maxEventBytes) result.overflow = true
    return result
  }

  /** Bytes received after the last complete event (handed to the protobuf framer after negotiation). */
  takeRemainder(): Buffer {
    this.searched = 0
    return this.held.take()
  }

  get bufferedBytes(): number {
    return this.held.size
  }
}

const TAK_MAGIC = 0xbf
/** A varint longer than this many bytes cannot describe a length we accept. */
const MAX_VARINT_BYTES = 5

export function encodeVarint(value: number): Buffer {
  const bytes: number[] = []
  let rest = value
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80)
    rest = Math.floor(rest / 128)
  }
  bytes.push(rest)
  return Buffer.from(bytes)
}

/** One TakMessage in the stream framing: 0xBF, varint length, payload. */
export function frameTakMessage(payload: Uint8Array): Buffer {
  const length = encodeVarint(payload.length)
  const out = Buffer.allocUnsafe(1 + length.length + payload.length)
  out[0] = TAK_MAGIC
  length.copy(out, 1)
  out.set(payload, 1 + length.length)
  return out
}

export interface ProtoFrames {
  messages: Buffer[]
  /** Set when the stream cannot be framed (no 0xBF, a bad or over-cap varint): the caller closes the connection. */
  error: 'garbage' | 'overflow' | null
}

export class ProtoStreamFramer {
  private readonly held: ByteAccumulator

  constructor(private readonly maxMessageBytes = DEFAULT_MAX_EVENT_BYTES) {
    this.held = new ByteAccumulator(maxMessageBytes + 1 + MAX_VARINT_BYTES + ACCUMULATOR_SLACK)
  }

  push(chunk: Buffer): ProtoFrames {
    const result: ProtoFrames = { messages: [], error: null }
    this.held.append(chunk)
    const pending = this.held.bytes
    let at = 0
    while (at < pending.length) {
      if (pending[at] !== TAK_MAGIC) {
        result.error = 'garbage'
        return result
      }
      let length = 0
      let multiplier = 1
      let cursor = at + 1
      let complete = false
      for (let i = 0; i < MAX_VARINT_BYTES && cursor < pending.length; i++) {
        const byte = pending[cursor++]!
        length += (byte & 0x7f) * multiplier
        multiplier *= 128
        if ((byte & 0x80) === 0) {
          complete = true
          break
        }
      }
      if (!complete) {
        if (cursor - at - 1 >= MAX_VARINT_BYTES) result.error = 'overflow'
        break
      }
      if (length > this.maxMessageBytes) {
        result.error = 'overflow'
        return result
      }
      if (cursor + length > pending.length) break
      result.messages.push(pending.subarray(cursor, cursor + length))
      at = cursor + length
    }
    this.held.consume(at)
    if (this.held.size > this.maxMessageBytes + 1 + MAX_VARINT_BYTES) result.error = 'overflow'
    return result
  }
}
