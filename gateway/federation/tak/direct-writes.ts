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
// through grpc-js's inside (grpc-inside.ts); where they are not found, writes go through grpc-js as before.
// These are the FederatedEvent streams only; the low-volume streams (ROL, groups) stay plain grpc-js.

import type { Http2Stream } from 'node:http2'
import * as grpc from '@grpc/grpc-js'
import type { OutboxStream } from './outbox.ts'
import { clientCallInside, relayedEverything, serverCallStream, type ClientCallInside } from './grpc-inside.ts'

/** How often a dialing writer looks whether grpc-js has relayed what it held (only at the start of a stream). */
const CATCH_UP_CHECK_MS = 1

/** Bytes waiting (gathered this turn plus the HTTP/2 stream's own buffer) before write() asks the outbox to hold on. */
const DIRECT_HIGH_WATER_BYTES = 256 * 1024

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
abstract class EventWriter<
  Call extends grpc.ClientWritableStream<unknown> | grpc.ServerWritableStream<unknown, unknown>
> implements OutboxStream {
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

type Callback = (error?: Error | null) => void
interface WritableInside {
  _write?: (chunk: unknown, encoding: BufferEncoding, callback: Callback) => void
  _writev?: ((chunks: { chunk: unknown; encoding: BufferEncoding }[], callback: Callback) => void) | null
}

/**
 * Let a grpc-js server stream pass all the messages it has buffered to HTTP/2 at once: a Writable calls _writev with
 * its whole buffer when it has one, and this one sends each message as its own _write would (serialize, frame, write to
 * the HTTP/2 stream) without waiting for each to complete. Completion and errors are those of the messages. Used when a
 * server call's HTTP/2 stream is not found (ServerEventWriter); a client call relays one at a time whatever it is given.
 */
export function batchWrites(stream: object): void {
  const writable = stream as WritableInside
  const write = writable._write
  if (typeof write !== 'function' || writable._writev) return
  writable._writev = function (this: WritableInside, chunks, callback): void {
    let pending = chunks.length
    let failure: Error | null = null
    const done: Callback = (error) => {
      failure ??= error ?? null
      if (--pending === 0) callback(failure)
    }
    for (const { chunk, encoding } of chunks) write.call(this, chunk, encoding, done)
  }
}

// ─── when grpc-js's inside may be used (grpc-inside.ts finds it) ──────────────

/** The client call's HTTP/2 stream and retry layer, while the stream is open. */
function insideOfClientCall(call: grpc.ClientWritableStream<unknown>): ClientCallInside | null {
  if (call.writableEnded || call.destroyed) return null
  const inside = clientCallInside(call)
  return inside && isOpen(inside.stream) ? inside : null
}

/** grpc-js holds nothing of ours any more: the Writable is empty and the retry layer has relayed everything. */
function caughtUp(call: grpc.ClientWritableStream<unknown>, inside: ClientCallInside): boolean {
  return call.writableLength === 0 && relayedEverything(inside)
}

/** A server call's HTTP/2 stream, when open and nothing was written through grpc-js yet. */
function http2StreamOfServerCall(call: grpc.ServerWritableStream<unknown, unknown>): Http2Stream | null {
  if (call.writableLength > 0 || call.writableEnded || call.destroyed) return null
  const stream = serverCallStream(call)
  return stream && isOpen(stream) ? stream : null
}

function isOpen(stream: Http2Stream): boolean {
  return !stream.destroyed && !stream.writableEnded
}
