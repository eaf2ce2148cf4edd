// When the send queues of one listener write to their sockets. Quiet: at once (next turn of the event loop), so a
// lone event is not held back. Busy (many frames a second): every queue with something to send is flushed together
// after a short tick, so each receiver's frames share one TLS record and one write system call. Per write, TLS and
// the kernel cost far more than the bytes themselves: at 400 devices x 1 Hz a 2 ms tick took the gateway from
// ~5.8 to ~4.5 µs of CPU per delivery, and the devices' side from one wake-up per event to one per tick (tests/bench).

export interface Flushable {
  /** Write what is queued; returns how many frames were handed to the socket. */
  flush(): number
}

export interface FlushPolicy {
  /** How long a busy listener gathers frames before writing. 0 = never wait. */
  tickMs: number
  /** Frames written per second (over the last ~100 ms) from which the listener counts as busy. */
  busyFramesPerSecond: number
}

export const DEFAULT_FLUSH_POLICY: FlushPolicy = { tickMs: 2, busyFramesPerSecond: 50_000 }

/** The rate is measured over windows of this length; a quiet spell longer than one window ends "busy" at once. */
const WINDOW_MS = 100

export class FlushScheduler {
  private pending: Flushable[] = []
  private armed = false
  private busy = false
  private windowStart = performance.now()
  private windowFrames = 0

  constructor(private readonly policy: FlushPolicy = DEFAULT_FLUSH_POLICY) {}

  /** Flush this queue soon; a queue asks once until it has been flushed. */
  request(queue: Flushable): void {
    this.pending.push(queue)
    if (this.armed) return
    this.armed = true
    if (this.isBusy()) setTimeout(this.run, this.policy.tickMs)
    else setImmediate(this.run)
  }

  /** Whether the next flush waits for the tick (exposed for tests and health). */
  isBusy(): boolean {
    if (this.policy.tickMs <= 0) return false
    this.measure(performance.now())
    return this.busy
  }

  private readonly run = (): void => {
    this.armed = false
    const queues = this.pending
    this.pending = []
    let frames = 0
    for (const queue of queues) frames += queue.flush()
    this.windowFrames += frames
    this.measure(performance.now())
  }

  private measure(now: number): void {
    const elapsed = now - this.windowStart
    if (elapsed < WINDOW_MS) return
    // Busy flushes close a window every tick; one that ran for two windows spans a quiet spell: quiet at once.
    this.busy = elapsed < 2 * WINDOW_MS && (this.windowFrames * 1000) / elapsed >= this.policy.busyFramesPerSecond
    this.windowStart = now
    this.windowFrames = 0
  }
}

/** Each queue for itself on the next turn of the event loop (no batching across queues): for queues used alone. */
export const immediateScheduler = {
  request(queue: Flushable): void {
    setImmediate(() => queue.flush())
  }
}

export type FlushRequester = Pick<FlushScheduler, 'request'>
