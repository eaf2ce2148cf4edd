// The last hour of the gateway's figures, kept in memory only (never in db.json): fixed-size rings sampled on a timer,
// so the charts cost the same memory after a week as after a minute.

/** Numbers in a ring of fixed capacity: past it, each new value overwrites the oldest. null = no figure then. */
export class Ring {
  private readonly data: Float64Array
  private start = 0
  private count = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`A ring needs a whole positive capacity, not ${capacity}`)
    this.data = new Float64Array(capacity)
  }

  get length(): number {
    return this.count
  }

  push(value: number | null): void {
    // NaN stands for "no figure": a Float64Array holds no null.
    const stored = value === null ? NaN : value
    if (this.count < this.capacity) {
      this.data[(this.start + this.count) % this.capacity] = stored
      this.count++
    } else {
      this.data[this.start] = stored
      this.start = (this.start + 1) % this.capacity
    }
  }

  /** The newest `last` values (all by default), oldest first. */
  values(last = this.count): (number | null)[] {
    const n = Math.max(0, Math.min(last, this.count))
    const out = new Array<number | null>(n)
    for (let i = 0; i < n; i++) {
      const value = this.data[(this.start + this.count - n + i) % this.capacity]!
      out[i] = Number.isNaN(value) ? null : value
    }
    return out
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10

/** Per-second rate of a counter that only grows (a total since start), between one sample and the next. */
export class CounterRate {
  // Every counter the gateway charts lives in memory and starts at zero with the gateway or its link, and is first
  // sampled within one period of appearing: the first point counts from zero, so early traffic is not lost.
  private last = 0

  rate(total: number, seconds: number): number {
    const previous = this.last
    this.last = total
    // A counter that went down was restarted (a new session).
    if (total < previous || seconds <= 0) return 0
    return round1((total - previous) / seconds)
  }
}

/**
 * Named series on one time axis. Bounded twice: each series holds `capacity` points, and at most `maxSeries` series
 * exist (names come from drop reasons and network ids, which the gateway does not choose). A series that received
 * nothing for a whole window is forgotten.
 */
export class SeriesSet {
  readonly times: Ring
  private readonly series = new Map<string, { ring: Ring; idle: number }>()
  /** Values not kept because `maxSeries` series already existed. */
  refused = 0

  constructor(
    readonly capacity: number,
    readonly maxSeries = 64
  ) {
    this.times = new Ring(capacity)
  }

  record(at: number, values: Record<string, number>): void {
    this.times.push(at)
    for (const [name, entry] of this.series) {
      if (Object.hasOwn(values, name)) continue
      entry.ring.push(null)
      if (++entry.idle >= this.capacity) this.series.delete(name)
    }
    for (const [name, value] of Object.entries(values)) {
      let entry = this.series.get(name)
      if (!entry) {
        if (this.series.size >= this.maxSeries) {
          this.refused++
          continue
        }
        // A series born late is padded with "no figure" so its points line up with the time axis.
        entry = { ring: new Ring(this.capacity), idle: 0 }
        for (let i = 1; i < this.times.length; i++) entry.ring.push(null)
        this.series.set(name, entry)
      }
      entry.ring.push(value)
      entry.idle = 0
    }
  }

  names(): string[] {
    return [...this.series.keys()]
  }

  /** The newest `last` points of one series, oldest first (all null when it does not exist). */
  values(name: string, last = this.times.length): (number | null)[] {
    const entry = this.series.get(name)
    if (entry) return entry.ring.values(last)
    return new Array<null>(Math.min(last, this.times.length)).fill(null)
  }
}

/** Sum of several aligned series, point by point; a point where none has a figure stays null. */
export function sumSeries(series: (number | null)[][], length: number): (number | null)[] {
  const out = new Array<number | null>(length).fill(null)
  for (const values of series) {
    for (let i = 0; i < length; i++) {
      const value = values[i]
      if (value !== null && value !== undefined) out[i] = (out[i] ?? 0) + value
    }
  }
  return out
}

/** Events over a series of per-second rates, each point covering `periodSeconds`. */
export function eventsOver(rates: (number | null)[], periodSeconds: number): number {
  let sum = 0
  for (const rate of rates) if (rate !== null) sum += rate * periodSeconds
  return Math.round(sum)
}
