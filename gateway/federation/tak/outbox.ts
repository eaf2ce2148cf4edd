// What waits to go out on one gRPC stream of a federation link. grpc-js takes one message at a time (each write waits
// for the previous one to reach HTTP/2), so a burst queues; we hold that queue ourselves instead of in the stream, to
// choose what goes when it is full: the oldest position reports first, as for devices (devices/streaming-queue.ts),
// never a chat or a contact while a position can go instead. The router never waits for a peer.

/** Messages waiting per stream (ours, on top of the stream's own small buffer) before some are dropped. */
export const MAX_WAITING_MESSAGES = 2000

export interface OutboxStream {
  write(message: unknown): boolean
  once(event: 'drain', listener: () => void): unknown
  readonly writableEnded: boolean
  readonly destroyed: boolean
}

export interface SendResult {
  queued: boolean
  dropped: number
}

export class Outbox {
  private messages: unknown[] = []
  private positions: boolean[] = []
  private head = 0
  /** Waiting messages not dropped (dropped ones leave an empty slot until they are passed). */
  private live = 0
  /** No waiting position report before this index: the oldest is searched from here, so a full outbox stays O(1). */
  private positionCursor = 0
  private waiting = false
  dropped = 0

  constructor(
    private readonly stream: OutboxStream,
    private readonly max = MAX_WAITING_MESSAGES
  ) {}

  get length(): number {
    return this.live
  }

  /**
   * Send or queue one message; never blocks. `queued`: this message will go (a closed stream or a full outbox of
   * non-positions refuses it); `dropped`: messages lost for it, this one or an older position report.
   */
  send(message: unknown, position: boolean): SendResult {
    if (this.stream.writableEnded || this.stream.destroyed) return { queued: false, dropped: this.drop(1) }
    if (!this.waiting) {
      if (!this.stream.write(message)) this.wait()
      return { queued: true, dropped: 0 }
    }
    let dropped = 0
    if (this.live >= this.max) {
      const oldest = this.oldestDroppable(position)
      if (oldest === -1) return { queued: false, dropped: this.drop(1) }
      this.messages[oldest] = undefined
      this.live--
      dropped = this.drop(1)
    }
    this.messages.push(message)
    this.positions.push(position)
    this.live++
    return { queued: true, dropped }
  }

  private wait(): void {
    this.waiting = true
    this.stream.once('drain', () => this.pump())
  }

  private pump(): void {
    this.waiting = false
    while (this.head < this.messages.length) {
      if (this.stream.writableEnded || this.stream.destroyed) {
        this.drop(this.live)
        this.reset()
        return
      }
      const message = this.messages[this.head++]
      if (message === undefined) continue
      this.live--
      if (!this.stream.write(message)) {
        this.wait()
        break
      }
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
    this.positionCursor = 0
  }

  private drop(count: number): number {
    this.dropped += count
    return count
  }
}

const outboxes = new WeakMap<object, Outbox>()

/** Through the outbox of a stream (made on first use; it goes with the stream). No stream: the message is dropped. */
export function sendThroughOutbox(stream: OutboxStream | null, message: unknown, position: boolean): SendResult {
  if (!stream) return { queued: false, dropped: 1 }
  let outbox = outboxes.get(stream)
  if (!outbox) outboxes.set(stream, (outbox = new Outbox(stream)))
  return outbox.send(message, position)
}
