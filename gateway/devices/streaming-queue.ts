// A bounded send queue for one device connection: encoded frames wait here and are written to the socket in one
// batch per flush (flush-scheduler.ts decides when). When the bytes would pass the cap, the oldest position reports
// go first, then the oldest anything.

import type { Writable } from 'node:stream'
import { immediateScheduler, type Flushable, type FlushRequester } from './flush-scheduler.ts'

export const DEFAULT_MAX_QUEUE_BYTES = 1_048_576
/**
 * Bytes we let the socket itself hold before we stop writing and wait for 'drain'. A batch fills only the room left
 * under it (plus the frame that crosses it), so queue + socket stay within the cap give or take one frame, and a long
 * backlog never becomes one huge buffer.
 */
const SOCKET_HIGH_WATER = 128 * 1024

const OTHER = 0
const POSITION = 1
const CONTROL = 2

export class SendQueue implements Flushable {
  // Two parallel arrays rather than one object per frame: a backed-up receiver holds frames for hundreds of ms, and
  // per-frame objects that old were promoted by the garbage collector (18 % of gateway CPU under 2x overload).
  /** Frames in order; null = dropped. */
  private frames: (Buffer | null)[] = []
  /** What frames[i] is: POSITION (dropped first when full), OTHER, or CONTROL (never dropped to make room). */
  private kinds: number[] = []
  private head = 0
  private scheduled = false
  private waitingForDrain = false
  private closed = false
  queuedBytes = 0
  drops = 0
  /**
   * When bytes were last handed to the socket (ms since the epoch; 0 = never). Nothing is handed over while the
   * socket waits for 'drain', so a receiver that stopped taking what we write stops this clock too.
   */
  lastWriteAt = 0

  /**
   * @param maxBytes cap for this queue plus what the socket buffers
   * @param onDrop told how many frames were dropped, for presence and health figures
   * @param scheduler decides when queued frames are written (a listener shares one across its connections)
   */
  constructor(
    private readonly socket: Writable,
    private readonly maxBytes = DEFAULT_MAX_QUEUE_BYTES,
    private readonly onDrop: (count: number) => void = () => {},
    private readonly scheduler: FlushRequester = immediateScheduler
  ) {
    socket.on('drain', () => {
      this.waitingForDrain = false
      if (!this.scheduled) this.flush()
    })
  }

  /**
   * Queue one frame; never blocks. Returns false when the frame itself was dropped. `control`: an answer to this
   * device (a pong, the protocol answer), which nothing newer pushes out: the device waits for it.
   */
  push(bytes: Buffer, position: boolean, control = false): boolean {
    if (this.closed) return false
    const budget = this.maxBytes - SOCKET_HIGH_WATER
    if (this.queuedBytes + bytes.length > budget && !this.makeRoom(bytes.length, budget, position)) {
      this.drop(1)
      return false
    }
    this.frames.push(bytes)
    this.kinds.push(control ? CONTROL : position ? POSITION : OTHER)
    this.queuedBytes += bytes.length
    if (!this.scheduled && !this.waitingForDrain) {
      this.scheduled = true
      this.scheduler.request(this)
    }
    return true
  }

  /** Whether the socket holds back what we wrote until it drains. */
  get stalled(): boolean {
    return this.waitingForDrain
  }

  /** Bytes held for this receiver: our queue and the socket's own buffer. */
  get heldBytes(): number {
    return this.queuedBytes + this.socket.writableLength
  }

  close(): void {
    this.closed = true
    this.frames = []
    this.kinds = []
    this.head = 0
    this.queuedBytes = 0
  }

  /** Write what is queued, as far as the socket takes it; returns the frames written. Called by the scheduler. */
  flush(): number {
    this.scheduled = false
    if (this.closed || this.socket.destroyed) return 0
    let frames = 0
    while (this.head < this.frames.length && this.socket.writableLength < SOCKET_HIGH_WATER) {
      const batch: Buffer[] = []
      let size = 0
      const room = SOCKET_HIGH_WATER - this.socket.writableLength
      while (this.head < this.frames.length && size < room) {
        const bytes = this.frames[this.head++]
        if (!bytes) continue
        batch.push(bytes)
        size += bytes.length
      }
      frames += batch.length
      this.queuedBytes -= size
      if (batch.length === 0) break
      this.lastWriteAt = Date.now()
      if (!this.writeBatch(batch, size)) {
        this.waitingForDrain = true
        break
      }
    }
    if (this.head === this.frames.length) {
      this.frames = []
      this.kinds = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head)
      this.kinds = this.kinds.slice(this.head)
      this.head = 0
    }
    return frames
  }

  /**
   * One batch as one write. Sockets (TCP, TLS) gather chunks written under cork into a single writev, so no copy is
   * made in JavaScript per receiver: at 400 receivers the Buffer.concat copies were ~100 MB/s of garbage and ~45 MiB
   * of RSS (tests/bench). A stream without writev gets the batch concatenated.
   */
  private writeBatch(batch: Buffer[], size: number): boolean {
    if (batch.length === 1) return this.socket.write(batch[0]!)
    if (!this.gathers) return this.socket.write(Buffer.concat(batch, size))
    this.socket.cork()
    let accepted = true
    for (const bytes of batch) accepted = this.socket.write(bytes)
    this.socket.uncork()
    return accepted
  }

  private get gathers(): boolean {
    return typeof (this.socket as Writable & { _writev?: unknown })._writev === 'function'
  }

  /**
   * Free room for `needed` bytes. Drops oldest position reports down to three quarters of the budget (so a stuck
   * receiver does not pay a scan per event), then the oldest of anything. A non-position frame may push out older
   * frames (never a control answer); a position report is itself dropped when only non-positions are left.
   */
  private makeRoom(needed: number, budget: number, incomingIsPosition: boolean): boolean {
    if (needed > budget) return false
    const target = Math.floor(budget * 0.75)
    let dropped = 0
    for (let i = this.head; i < this.frames.length && this.queuedBytes + needed > target; i++) {
      const bytes = this.frames[i]
      if (bytes && this.kinds[i] === POSITION) {
        this.frames[i] = null
        this.queuedBytes -= bytes.length
        dropped++
      }
    }
    if (this.queuedBytes + needed > budget && !incomingIsPosition) {
      for (let i = this.head; i < this.frames.length && this.queuedBytes + needed > budget; i++) {
        const bytes = this.frames[i]
        if (bytes && this.kinds[i] !== CONTROL) {
          this.frames[i] = null
          this.queuedBytes -= bytes.length
          dropped++
        }
      }
    }
    if (dropped > 0) this.drop(dropped)
    return this.queuedBytes + needed <= budget
  }

  private drop(count: number): void {
    this.drops += count
    this.onDrop(count)
  }
}
