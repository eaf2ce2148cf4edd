// ROL (data packages) on a federation link, both ways, with memory bounded by bytes rather than by message count.
//
// Out: a ROL message can carry a whole data package (up to Packages:MaxBytes, 100 MiB by default). Handing every
// pending package to grpc-js at once, as the event outbox does with events, would read them all into memory when a
// peer connects with DP-Out on, and a peer asking for one package again and again would have it read once per ask.
// So each session has one RolSender: messages go in order, each is built (its package read) only when its turn comes,
// and the next is built only when less than MAX_ROL_IN_FLIGHT_BYTES is still on its way. Nothing is dropped to make
// room: a package waits. A package counts as shared with the peer only once the stream has taken its message (the
// write's callback); whatever had not gone when the session ends is offered again on the next one.
//
// In: a peer's ROL messages are handled one at a time, in order (the stream is paused meanwhile), so a peer cannot
// make us hold many packages at once, and `create resource` is stored before the `announce package` that follows it.

import type { Readable } from 'node:stream'
import type { RolMessageWire } from './proto.ts'
import type { DropSink } from './outbox.ts'

/** Package bytes on their way to one peer (handed to the stream, its callback not yet called) before the next is read. */
export const MAX_ROL_IN_FLIGHT_BYTES = 8 * 1024 * 1024
/** ROL messages that may wait per session; each is small until built. Past it, new ones are dropped (counted, 'full'). */
const MAX_ROL_WAITING = 10_000
/**
 * What the waiting messages may hold before they are built (OutgoingRol.holds: an announcement keeps the fileshare's
 * names and destinations, up to Streaming:MaxEventBytes each). Past it, new ones are dropped (counted, 'full').
 */
export const MAX_ROL_WAITING_BYTES = 16 * 1024 * 1024

/** A ROL message to a peer, built when its turn to go comes (a package's bytes are read then, not before). */
export interface OutgoingRol {
  /** While a message with the same key waits or is on its way, another one is not queued (null: no key). */
  key: string | null
  /** Build the message; null: nothing to send after all (the package went away). May throw: logged, skipped. */
  build(): Promise<RolMessageWire | null>
  /** The stream took the message (its write callback came without error). */
  onSent?(): void | Promise<void>
  /** Bytes this message holds while it waits (what build() will use); default 0: it reads what it needs then. */
  holds?: number
}

/** The part of a gRPC writable stream the sender uses. */
export interface RolStream {
  write(message: unknown, callback: (error?: Error | null) => void): boolean
  readonly writableEnded: boolean
  readonly destroyed: boolean
}

export class RolSender {
  private waiting: OutgoingRol[] = []
  private readonly keys = new Set<string>()
  private waitingBytes = 0
  private inFlightBytes = 0
  private building = false
  private closed = false

  /**
   * @param stream the session's outbound ROL stream now (null until the peer opened it)
   * @param onDrop messages not sent: 'full' (too many waiting), 'closed' (the session ended first)
   * @param onError a message that could not be built or handed over (logged by the caller; the rest go on)
   */
  constructor(
    private readonly stream: () => RolStream | null,
    private readonly onDrop: DropSink,
    private readonly onError: (err: Error) => void,
    private readonly maxInFlightBytes = MAX_ROL_IN_FLIGHT_BYTES,
    private readonly maxWaiting = MAX_ROL_WAITING,
    private readonly maxWaitingBytes = MAX_ROL_WAITING_BYTES
  ) {}

  /** Queue a message; false when it was refused (closed, full) or one with its key is already queued. */
  send(message: OutgoingRol): boolean {
    if (this.closed) {
      this.onDrop('closed', 1)
      return false
    }
    if (message.key !== null && this.keys.has(message.key)) return false
    const holds = message.holds ?? 0
    if (this.waiting.length >= this.maxWaiting || (this.waiting.length > 0 && this.waitingBytes + holds > this.maxWaitingBytes)) {
      this.onDrop('full', 1)
      return false
    }
    if (message.key !== null) this.keys.add(message.key)
    this.waiting.push(message)
    this.waitingBytes += holds
    this.pump()
    return true
  }

  /** Messages not yet handed to the stream; the bytes they hold and those handed to it whose write has not completed. */
  backlog(): { messages: number; bytes: number } {
    return { messages: this.waiting.length + (this.building ? 1 : 0), bytes: this.inFlightBytes + this.waitingBytes }
  }

  /** Try again now (the stream has just opened). */
  pump(): void {
    if (this.building || this.closed || this.waiting.length === 0) return
    if (this.inFlightBytes > 0 && this.inFlightBytes >= this.maxInFlightBytes) return
    const stream = this.stream()
    if (!stream || stream.writableEnded || stream.destroyed) return
    const next = this.waiting.shift()!
    this.waitingBytes -= next.holds ?? 0
    this.building = true
    void this.buildAndWrite(next)
  }

  /** The session ended: what waits is dropped (a package not sent stays unshared, so it is offered next time). */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.waiting.length > 0) this.onDrop('closed', this.waiting.length)
    this.waiting = []
    this.waitingBytes = 0
    this.keys.clear()
  }

  private async buildAndWrite(item: OutgoingRol): Promise<void> {
    let message: RolMessageWire | null = null
    try {
      message = await item.build()
    } catch (err) {
      this.onError(err as Error)
    }
    this.building = false
    if (!message || this.closed) {
      if (message) this.onDrop('closed', 1)
      this.forget(item)
      this.pump()
      return
    }
    const stream = this.stream()
    if (!stream || stream.writableEnded || stream.destroyed) {
      // The stream went away while this was being built (the session goes on): first in line again, built anew when
      // the stream is back (pump() from the session).
      this.waiting.unshift(item)
      this.waitingBytes += item.holds ?? 0
      return
    }
    const size = sizeOf(message)
    this.inFlightBytes += size
    try {
      stream.write(message, (error) => {
        this.inFlightBytes -= size
        if (error || !item.onSent) {
          if (error) this.onError(error)
          this.forget(item)
        } else {
          // The key is kept until onSent has run (it records the package as shared), so an offer made meanwhile
          // does not queue the same package again.
          void Promise.resolve()
            .then(() => item.onSent!())
            .catch((err: unknown) => this.onError(err as Error))
            .finally(() => this.forget(item))
        }
        this.pump()
      })
    } catch (err) {
      // A write that throws (a stream in a bad state): its callback never comes.
      this.inFlightBytes -= size
      this.forget(item)
      this.onError(err as Error)
    }
    this.pump()
  }

  private forget(item: OutgoingRol): void {
    if (item.key !== null) this.keys.delete(item.key)
  }
}

function sizeOf(message: RolMessageWire): number {
  let bytes = 0
  for (const part of message.payload) bytes += part.data.length
  return bytes
}

/** Messages an inbound ROL stream may hold read ahead of the one being handled (grpc-js's streams default to 16). */
export const ROL_READ_AHEAD = 1

/**
 * Hand each message of an inbound ROL stream to `handle`, one at a time and in order: the stream is paused until the
 * previous message has been handled, and reads at most ROL_READ_AHEAD message ahead, so what is unread waits under
 * HTTP/2 flow control, not in our memory. (A paused Readable still reads up to its high-water mark: for grpc-js's
 * object streams that is 16 messages, which at up to Packages:MaxBytes each could be 1.6 GiB.)
 */
export function readRolInOrder<T>(stream: Readable, handle: (message: T) => Promise<void>, onError: (err: Error) => void): void {
  limitReadAhead(stream, ROL_READ_AHEAD)
  const pending: T[] = []
  let busy = false
  const next = (): void => {
    const message = pending.shift()
    if (message === undefined) {
      busy = false
      if (!stream.destroyed) stream.resume()
      return
    }
    busy = true
    Promise.resolve()
      .then(() => handle(message))
      .catch((err: unknown) => onError(err as Error))
      .finally(next)
  }
  stream.on('data', (message: T) => {
    pending.push(message)
    stream.pause()
    if (!busy) next()
  })
}

/**
 * Lower a Readable's high-water mark after construction (grpc-js makes its call streams with the default). Node has no
 * setter; ReadableState.highWaterMark is a plain number field, read on every read decision. Left as is if absent.
 */
function limitReadAhead(stream: Readable, messages: number): void {
  const state = (stream as Readable & { _readableState?: { highWaterMark?: unknown } })._readableState
  if (state && typeof state.highWaterMark === 'number') state.highWaterMark = messages
}
