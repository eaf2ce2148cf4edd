// What waits to go out on one gRPC stream of a federation link. grpc-js takes one message at a time (each write waits
// for the previous one to reach HTTP/2), so a burst queues; we hold that queue ourselves instead of in the stream, to
// choose what goes when it is full: the oldest position reports first, as for devices (devices/streaming-queue.ts),
// never a chat or a contact while a position can go instead. The router never waits for a peer.
//
// Batches: HTTP/2 sends a stream's pending writes once per event-loop turn, so a stream that is given one message per
// write completion carries one message per turn — on a busy gateway (turns of ~0.1-1 ms) that was the link's limit, far
// below the CPU's. So the outbox hands a stream up to STREAM_BATCH messages beyond its own high-water mark before it
// waits for 'drain'. The event streams are direct-writes.ts writers (a turn's messages in one HTTP/2 write). Each
// message is still its own gRPC message.

/**
 * What may wait per stream (ours, on top of the stream's own buffer) before some is dropped: a burst of about a
 * tenth of a second at 20k events/s (2,000 messages) overflowed on a loaded two-core machine while the link itself kept
 * up (fed v2 bench: 97 % delivered; with room for 8,000, 100 %). Encoded events and contacts count by size (a message
 * object, in tests, only by number). Data packages never come here: rol-flow.ts paces them by bytes and drops none.
 */
export const MAX_WAITING_MESSAGES = 8000
export const MAX_WAITING_BYTES = 2 * 1024 * 1024
/** Messages handed to a stream past its high-water mark (write() returned false) before waiting for 'drain'. */
const STREAM_BATCH = 256

export interface OutboxStream {
  write(message: unknown): boolean
  once(event: 'drain', listener: () => void): unknown
  readonly writableEnded: boolean
  readonly destroyed: boolean
}

/**
 * Why a message was dropped: `oldestPosition` an older position report made room for a newer message; `full` the
 * outbox held only non-positions (a position is refused, or the oldest non-position goes); `closed` the stream ended.
 */
export type DropReason = 'oldestPosition' | 'full' | 'closed'
export type DropSink = (reason: DropReason, count: number) => void

export class Outbox {
  private messages: unknown[] = []
  private positions: boolean[] = []
  private head = 0
  /** Waiting messages not dropped (dropped ones leave an empty slot until they are passed). */
  private live = 0
  /** No waiting position report before this index: the oldest is searched from here, so a full outbox stays O(1). */
  private positionCursor = 0
  private waiting = false
  /** Messages written since the stream last drained that it took past its high-water mark. */
  private pastMark = 0
  /** Bytes of the waiting encoded events (other messages count as 0). */
  bytes = 0

  constructor(
    private readonly stream: OutboxStream,
    private readonly max = MAX_WAITING_MESSAGES,
    private readonly batch = STREAM_BATCH,
    private readonly onDrop: DropSink = () => {},
    private readonly maxBytes = MAX_WAITING_BYTES
  ) {}

  get length(): number {
    return this.live
  }

  /**
   * Send or queue one message; never blocks. Returns whether this message will go (a closed stream or a full outbox of
   * non-positions refuses it); every message lost, this one or an older one, is reported to the drop sink.
   */
  send(message: unknown, position: boolean): boolean {
    if (this.stream.writableEnded || this.stream.destroyed) {
      this.drop('closed', 1)
      return false
    }
    if (!this.waiting) {
      this.writeOne(message)
      return true
    }
    const size = sizeOf(message)
    while (this.live >= this.max || (this.live > 0 && this.bytes + size > this.maxBytes)) {
      const oldest = this.oldestDroppable(position)
      if (oldest === -1) {
        this.drop('full', 1)
        return false
      }
      this.bytes -= sizeOf(this.messages[oldest])
      this.messages[oldest] = undefined
      this.live--
      this.drop(this.positions[oldest] ? 'oldestPosition' : 'full', 1)
    }
    this.messages.push(message)
    this.positions.push(position)
    this.live++
    this.bytes += size
    return true
  }

  /** Write one message; past the stream's mark count it, and past the batch wait for 'drain'. */
  private writeOne(message: unknown): void {
    if (this.stream.write(message)) return
    if (++this.pastMark > this.batch) this.wait()
  }

  private wait(): void {
    this.waiting = true
    this.stream.once('drain', () => this.pump())
  }

  private pump(): void {
    this.waiting = false
    this.pastMark = 0
    while (this.head < this.messages.length) {
      if (this.stream.writableEnded || this.stream.destroyed) {
        this.drop('closed', this.live)
        this.reset()
        return
      }
      const message = this.messages[this.head++]
      if (message === undefined) continue
      this.live--
      this.bytes -= sizeOf(message)
      this.writeOne(message)
      if (this.waiting) break
    }
    if (this.head === this.messages.length) this.reset()
    else if (this.head > 1024 && this.head * 2 > this.messages.length) {
      this.messages = this.messages.slice(this.head)
      this.positions = this.positions.slice(this.head)
      this.positionCursor = Math.max(0, this.positionCursor - this.head)
      this.head = 0
    }
  }

  /** Index of the oldest waiting position report, or of the oldest anything when the newcomer is not a position. */
  private oldestDroppable(incomingIsPosition: boolean): number {
    for (let i = Math.max(this.head, this.positionCursor); i < this.messages.length; i++) {
      if (this.messages[i] !== undefined && this.positions[i]) {
        this.positionCursor = i + 1
        return i
      }
    }
    this.positionCursor = this.messages.length
    if (incomingIsPosition) return -1
    for (let i = this.head; i < this.messages.length; i++) if (this.messages[i] !== undefined) return i
    return -1
  }

  private reset(): void {
    this.messages = []
    this.positions = []
    this.head = 0
    this.live = 0
    this.bytes = 0
    this.positionCursor = 0
  }

  private drop(reason: DropReason, count: number): void {
    if (count > 0) this.onDrop(reason, count)
  }
}

/** Bytes a waiting message holds: an encoded message's length (sessions encode events and contacts); an object counts as 0. */
function sizeOf(message: unknown): number {
  return Buffer.isBuffer(message) ? message.length : 0
}

const outboxes = new WeakMap<object, Outbox>()

/**
 * Through the outbox of a stream (made on first use, reporting its drops to `onDrop`; it goes with the stream).
 * No stream: the message is dropped.
 */
export function sendThroughOutbox(stream: OutboxStream | null, message: unknown, position: boolean, onDrop: DropSink): boolean {
  if (!stream) {
    onDrop('closed', 1)
    return false
  }
  let outbox = outboxes.get(stream)
  if (!outbox) outboxes.set(stream, (outbox = new Outbox(stream, MAX_WAITING_MESSAGES, STREAM_BATCH, onDrop)))
  return outbox.send(message, position)
}

/** What waits in a stream's outbox (nothing when it has none). */
export function backlogOf(stream: OutboxStream | null): { messages: number; bytes: number } {
  const outbox = stream ? outboxes.get(stream) : undefined
  return outbox ? { messages: outbox.length, bytes: outbox.bytes } : { messages: 0, bytes: 0 }
}
