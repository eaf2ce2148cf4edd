// Events-per-second over a short sliding window of one-second buckets, and when the last event passed.

const WINDOW_SECONDS = 5

export class RateMeter {
  private readonly counts = new Array<number>(WINDOW_SECONDS + 1).fill(0)
  private readonly seconds = new Array<number>(WINDOW_SECONDS + 1).fill(-1)
  total = 0
  lastAt = 0

  constructor(private readonly now: () => number = Date.now) {}

  add(n = 1): void {
    const ms = this.now()
    const second = Math.floor(ms / 1000)
    const slot = second % this.counts.length
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second
      this.counts[slot] = 0
    }
    this.counts[slot]! += n
    this.total += n
    this.lastAt = ms
  }

  /** Average over the last complete seconds of the window. */
  perSecond(): number {
    const current = Math.floor(this.now() / 1000)
    let sum = 0
    for (let i = 0; i < this.counts.length; i++) {
      const second = this.seconds[i]!
      if (second < current && second >= current - WINDOW_SECONDS) sum += this.counts[i]!
    }
    return Math.round((sum / WINDOW_SECONDS) * 10) / 10
  }

  lastActivity(): string | null {
    return this.lastAt === 0 ? null : new Date(this.lastAt).toISOString()
  }
}
