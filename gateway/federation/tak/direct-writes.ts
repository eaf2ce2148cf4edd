// The dialing side's ServerEventStream, written to HTTP/2 without grpc-js's per-message relay.
//
// grpc-js 1.14 passes a client call's messages through a retry layer (present even with retries off) that hands its
// child the next message only when the previous one's HTTP/2 write has completed, and that completes once per
// event-loop turn. So a client stream carries one message per turn: ~1,000 events/s on a gateway whose turns take
// a millisecond, whatever its CPU could do (measured: 1,146 messages/s with 1 ms turns, 47,000/s written directly).
// The accepting side does not have this layer (outbox.ts batchWrites covers its stream).
//
// So once the call's HTTP/2 stream exists and grpc-js has handed it every message it was given, the event writer
// frames each message itself (gRPC length-prefixed message: flag 0 = not compressed, 4-byte big-endian length) and
// writes it to that stream; HTTP/2 then sends what a turn gathered together. Everything else stays grpc-js's: the
// connection, headers, flow control, status, cancel, half-close (which grpc-js sends after our frames, in order).
// The stream is found through grpc-js's inside (call → … → RetryingCall → LoadBalancingCall → Http2SubchannelCall),
// checked step by step; while it is not there, or grpc-js still holds messages, writes go through the call as before.

import type { Http2Stream } from 'node:http2'
import type { ClientWritableStream } from '@grpc/grpc-js'
import type { OutboxStream } from './outbox.ts'

/** What the writer needs of grpc-js's retry layer (checked before use). */
interface RetryLayer {
  underlyingCalls: { state: string; nextMessageToSend: number; call: { child?: { http2Stream?: Http2Stream } | null } }[]
  getNextBufferIndex(): number
}

export class ClientEventWriter implements OutboxStream {
  private http2: Http2Stream | null = null
  /** The HTTP/2 stream is there but grpc-js still relays earlier messages: hold new ones back until it is done. */
  private catchingUp = false
  /** Where the last write went, so a wait for 'drain' listens to the stream that asked for it. */
  private last: 'call' | 'http2' = 'call'

  constructor(
    readonly call: ClientWritableStream<unknown>,
    private readonly serialize: (message: unknown) => Buffer,
    private readonly maxMessageBytes: number
  ) {}

  /** True once messages go to HTTP/2 directly. */
  get direct(): boolean {
    return this.http2 !== null
  }

  write(message: unknown): boolean {
    if (!this.http2) {
      const inside = insideOf(this.call)
      if (inside && caughtUp(this.call, inside)) this.http2 = inside.stream
      else {
        this.last = 'call'
        const room = this.call.write(message)
        // Feeding grpc-js more would keep it behind for as long as events keep coming (it relays one per turn):
        // ask the outbox to hold the rest until grpc-js has relayed what it has, then they go directly.
        if (inside) this.catchingUp = true
        return room && !inside
      }
    }
    const bytes = this.serialize(message)
    if (bytes.length > this.maxMessageBytes) {
      // grpc-js fails the call on an over-limit message; keep that behaviour (the call is caught up, so order holds).
      this.last = 'call'
      return this.call.write(message)
    }
    const frame = Buffer.allocUnsafe(5 + bytes.length)
    frame[0] = 0
    frame.writeUInt32BE(bytes.length, 1)
    bytes.copy(frame, 5)
    this.last = 'http2'
    return this.http2.write(frame)
  }

  once(event: 'drain', listener: () => void): this {
    if (this.catchingUp) this.whenCaughtUp(listener)
    else if (this.last === 'http2' && this.http2) this.http2.once(event, listener)
    else this.call.once(event, listener)
    return this
  }

  get writableEnded(): boolean {
    return this.call.writableEnded || (this.http2?.writableEnded ?? false)
  }

  get destroyed(): boolean {
    return this.call.destroyed || (this.http2?.destroyed ?? false)
  }

  /** Checked once per turn; grpc-js relays at least one message per turn, and a call that ends stops the wait. */
  private whenCaughtUp(listener: () => void): void {
    const check = (): void => {
      const inside = insideOf(this.call)
      if (inside && !caughtUp(this.call, inside)) {
        setImmediate(check)
        return
      }
      this.catchingUp = false
      if (inside) this.http2 = inside.stream
      listener()
    }
    setImmediate(check)
  }
}

interface Inside {
  stream: Http2Stream
  retry: RetryLayer
}

/** The call's HTTP/2 stream and grpc-js's retry layer above it, when both are there and the stream is open. */
function insideOf(call: ClientWritableStream<unknown>): Inside | null {
  if (call.writableEnded || call.destroyed) return null
  let node = (call as unknown as { call?: unknown }).call as Record<string, unknown> | undefined
  for (let depth = 0; depth < 6 && node && !isRetryLayer(node); depth++) node = (node.call ?? node.nextCall ?? node.child) as typeof node
  if (!node || !isRetryLayer(node) || node.underlyingCalls.length !== 1) return null
  const stream = node.underlyingCalls[0]!.call?.child?.http2Stream
  if (!stream || typeof stream.write !== 'function' || stream.destroyed || stream.writableEnded) return null
  return { stream, retry: node }
}

/** grpc-js has handed the HTTP/2 stream every message it was given, so a frame written now comes after all of them. */
function caughtUp(call: ClientWritableStream<unknown>, inside: Inside): boolean {
  const only = inside.retry.underlyingCalls[0]!
  return call.writableLength === 0 && only.state === 'ACTIVE' && only.nextMessageToSend === inside.retry.getNextBufferIndex()
}

function isRetryLayer(node: Record<string, unknown>): node is Record<string, unknown> & RetryLayer {
  return Array.isArray(node.underlyingCalls) && typeof node.getNextBufferIndex === 'function'
}
