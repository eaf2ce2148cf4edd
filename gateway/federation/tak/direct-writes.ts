// Federation event streams written to HTTP/2 directly, on both ends of a link.
//
// Two things in grpc-js cap a link far below what the CPU can do (fed v2 bench, measured with a busy event loop):
// - A client call relays its messages through a retry layer (present with retries off) that hands the next message on
//   only when the previous one's HTTP/2 write has completed: one message per event-loop turn (1,146 messages/s with
//   1 ms turns).
// - Every message is its own HTTP/2 write, so its own DATA frame, and grpc-js's reading side pauses the HTTP/2 stream
//   for each frame it takes and resumes it later: a receiver on a busy loop gets a few messages per turn (9,900 in
//   3 s with 1 ms turns; 218,000 when the same messages arrive 50 to a write).
//
// So our event streams frame the messages themselves (gRPC length-prefixed message: flag 0 = not compressed, 4-byte
// big-endian length) and write what a turn gathered as one buffer, which HTTP/2 sends as full DATA frames. Everything
// else stays grpc-js's: connection, headers, flow control, status, cancel, half-close. The HTTP/2 streams are found
// through grpc-js's inside (checked step by step); where they are not found, writes go through grpc-js as before.
// These are the FederatedEvent streams only; the low-volume streams (ROL, groups) stay plain grpc-js.

import type { Http2Stream } from 'node:http2'
import * as grpc from '@grpc/grpc-js'
import { batchWrites, type OutboxStream } from './outbox.ts'

/** How often a dialing writer looks whether grpc-js has relayed what it held (only at the start of a stream). */
const CATCH_UP_CHECK_MS = 1

/** Bytes waiting (gathered this turn plus the HTTP/2 stream's own buffer) before write() asks the outbox to hold on. */
export const DIRECT_HIGH_WATER_BYTES = 256 * 1024

/** gRPC frames for one HTTP/2 stream, gathered during a turn and written together at its end. */
class FrameBatch {
  /** Messages framed and HTTP/2 writes made: their ratio is how well a link batches. */
  messages = 0
  writes = 0
  private parts: Buffer[] = []
  private bytes = 0
  private armed = false
  /** Listening for the stream's 'drain' (once, however many flushes find it full). */
  private awaitingDrain = false
  private waiters: (() => void)[] = []

  constructor(readonly stream: Http2Stream) {
    stream.once('close', this.release)
  }

  /** Queue one message; false when enough waits that the caller should hold further ones until drained. */
  add(message: Buffer): boolean {
    const header = Buffer.allocUnsafe(5)
    header[0] = 0
    header.writeUInt32BE(message.length, 1)
    this.parts.push(header, message)
    this.bytes += 5 + message.length
    this.messages++
    if (!this.armed) {
      this.armed = true
      setImmediate(this.flush)
    }
    return this.bytes + this.stream.writableLength < DIRECT_HIGH_WATER_BYTES
  }

  /** After add() said false: `listener` runs once what was gathered is written and the stream has room again. */
  whenDrained(listener: () => void): void {
    this.waiters.push(listener)
    if (!this.armed && !this.stream.writableNeedDrain) this.release()
  }

  private readonly flush = (): void => {
    this.armed = false
    const { parts, bytes } = this
    this.parts = []
    this.bytes = 0
    // A stream that ended meanwhile takes what was gathered with it, as a socket's buffer would.
    if (this.stream.destroyed || this.stream.writableEnded) return this.release()
    this.stream.write(Buffer.concat(parts, bytes))
    this.writes++
    if (!this.stream.writableNeedDrain) return this.release()
    if (this.awaitingDrain) return
    this.awaitingDrain = true
    this.stream.once('drain', this.drained)
  }

  private readonly drained = (): void => {
    this.awaitingDrain = false
    this.release()
  }

  private readonly release = (): void => {
    if (this.waiters.length === 0) return
    const waiters = this.waiters
    this.waiters = []
    for (const listener of waiters) listener()
  }
}

/** What both ends' writers share: the grpc-js call, the batch once direct, and the Writable state the outbox reads. */
abstract class EventWriter<Call extends grpc.ClientWritableStream<unknown> | grpc.ServerWritableStream<unknown, unknown>> implements OutboxStream {
  protected batch: FrameBatch | null = null

  constructor(
    readonly call: Call,
    private readonly serialize: (message: unknown) => Buffer,
    private readonly maxMessageBytes: number
  ) {}

  abstract write(message: unknown): boolean
  abstract once(event: 'drain', listener: () => void): this

  /** True once messages go to HTTP/2 directly. */
  get direct(): boolean {
    return this.batch !== null
  }

  /** Messages written directly, and the HTTP/2 writes that carried them. */
  get directWrites(): { messages: number; writes: number } {
    return { messages: this.batch?.messages ?? 0, writes: this.batch?.writes ?? 0 }
  }

  get writableEnded(): boolean {
    return this.call.writableEnded || (this.batch?.stream.writableEnded ?? false)
  }

  get destroyed(): boolean {
    return this.call.destroyed || (this.batch?.stream.destroyed ?? false)
  }

  /** Frame one message into the batch; an over-limit one goes to grpc-js, which fails the call as it always has. */
  protected writeDirect(batch: FrameBatch, message: unknown): boolean {
    const bytes = this.serialize(message)
    if (bytes.length > this.maxMessageBytes) return this.call.write(message)
    return batch.add(bytes)
  }
}

/** The dialing side's ServerEventStream: through grpc-js until its HTTP/2 stream is reachable and caught up, then direct. */
export class ClientEventWriter extends EventWriter<grpc.ClientWritableStream<unknown>> {
  /** The HTTP/2 stream is there but grpc-js still relays earlier messages: hold new ones back until it is done. */
  private catchingUp = false
  /** Where the last write went, so a wait for 'drain' listens to the stream that asked for it. */
  private last: 'call' | 'batch' = 'call'

  write(message: unknown): boolean {
    if (!this.batch) {
      const inside = insideOfClientCall(this.call)
      if (inside && caughtUp(this.call, inside)) this.batch = new FrameBatch(inside.stream)
      else {
        this.last = 'call'
        const room = this.call.write(message)
        // Feeding grpc-js more would keep it behind for as long as events keep coming (it relays one per turn):
        // ask the outbox to hold the rest until grpc-js has relayed what it has, then they go directly.
        if (inside) this.catchingUp = true
        return room && !inside
      }
    }
    this.last = 'batch'
    return this.writeDirect(this.batch, message)
  }

  once(event: 'drain', listener: () => void): this {
    if (this.catchingUp) this.whenCaughtUp(listener)
    else if (this.last === 'batch' && this.batch) this.batch.whenDrained(listener)
    else this.call.once(event, listener)
    return this
  }

  /**
   * Checked every millisecond (a timer, so a loop with nothing else to do sleeps: a peer whose window stays shut would
   * otherwise keep it spinning); a call that ends stops the wait.
   */
  private whenCaughtUp(listener: () => void): void {
    const check = (): void => {
      const inside = insideOfClientCall(this.call)
      if (inside && !caughtUp(this.call, inside)) {
        setTimeout(check, CATCH_UP_CHECK_MS)
        return
      }
      this.catchingUp = false
      if (inside) this.batch = new FrameBatch(inside.stream)
      listener()
    }
    setTimeout(check, CATCH_UP_CHECK_MS)
  }
}

/** The accepting side's ClientEventStream: direct from the first message (headers sent first), else grpc-js batched. */
export class ServerEventWriter extends EventWriter<grpc.ServerWritableStream<unknown, unknown>> {
  constructor(call: grpc.ServerWritableStream<unknown, unknown>, serialize: (message: unknown) => Buffer, maxMessageBytes: number) {
    super(call, serialize, maxMessageBytes)
    const stream = http2StreamOfServerCall(call)
    if (stream) {
      call.sendMetadata(new grpc.Metadata())
      this.batch = new FrameBatch(stream)
    } else batchWrites(call)
  }

  write(message: unknown): boolean {
    return this.batch ? this.writeDirect(this.batch, message) : this.call.write(message)
  }

  once(event: 'drain', listener: () => void): this {
    if (this.batch) this.batch.whenDrained(listener)
    else this.call.once(event, listener)
    return this
  }
}

// ─── grpc-js 1.14's inside, looked up carefully ──────────────────────────────

/** What the writer needs of grpc-js's client retry layer. */
interface RetryLayer {
  underlyingCalls: { state: string; nextMessageToSend: number; call: { child?: { http2Stream?: Http2Stream } | null } }[]
  getNextBufferIndex(): number
}

interface ClientInside {
  stream: Http2Stream
  retry: RetryLayer
}

/** A client call's HTTP/2 stream and grpc-js's retry layer above it, when both are there and the stream is open. */
function insideOfClientCall(call: grpc.ClientWritableStream<unknown>): ClientInside | null {
  if (call.writableEnded || call.destroyed) return null
  let node = (call as unknown as { call?: unknown }).call as Record<string, unknown> | undefined
  for (let depth = 0; depth < 6 && node && !isRetryLayer(node); depth++) node = (node.call ?? node.nextCall ?? node.child) as typeof node
  if (!node || !isRetryLayer(node) || node.underlyingCalls.length !== 1) return null
  const stream = node.underlyingCalls[0]!.call?.child?.http2Stream
  return isOpenStream(stream) ? { stream, retry: node } : null
}

/** grpc-js has handed the HTTP/2 stream every message it was given, so a frame written now comes after all of them. */
function caughtUp(call: grpc.ClientWritableStream<unknown>, inside: ClientInside): boolean {
  const only = inside.retry.underlyingCalls[0]!
  return call.writableLength === 0 && only.state === 'ACTIVE' && only.nextMessageToSend === inside.retry.getNextBufferIndex()
}

function isRetryLayer(node: Record<string, unknown>): node is Record<string, unknown> & RetryLayer {
  return Array.isArray(node.underlyingCalls) && typeof node.getNextBufferIndex === 'function'
}

/** A server call's HTTP/2 stream: call.call(.nextCall…).stream, when open and nothing was written through grpc-js yet. */
function http2StreamOfServerCall(call: grpc.ServerWritableStream<unknown, unknown>): Http2Stream | null {
  if (call.writableLength > 0 || call.writableEnded || call.destroyed) return null
  let node = (call as unknown as { call?: unknown }).call as { stream?: unknown; nextCall?: unknown } | undefined
  for (let depth = 0; depth < 8 && node; depth++) {
    if (isOpenStream(node.stream)) return node.stream
    node = node.nextCall as typeof node
  }
  return null
}

function isOpenStream(stream: unknown): stream is Http2Stream {
  const s = stream as Http2Stream | undefined
  return !!s && typeof s.write === 'function' && !s.destroyed && !s.writableEnded
}
