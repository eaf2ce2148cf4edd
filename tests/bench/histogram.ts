// Latency histogram with fixed 50 µs buckets up to 10 s (and an exact max), so millions of samples cost a counter each.

const BUCKET_MICROS = 50
const BUCKETS = 200_000

export interface LatencySummary {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
}

export class LatencyHistogram {
  private counts: Uint32Array
  count = 0
  maxMicros = 0

  constructor(
    private readonly bucketMicros = BUCKET_MICROS,
    buckets = BUCKETS
  ) {
    this.counts = new Uint32Array(buckets)
  }

  add(micros: number): void {
    const bucket = Math.min(this.counts.length - 1, Math.max(0, Math.floor(micros / this.bucketMicros)))
    this.counts[bucket]!++
    this.count++
    if (micros > this.maxMicros) this.maxMicros = micros
  }

  /** Latency in ms under which `fraction` of the samples fall (upper edge of the bucket). */
  quantileMs(fraction: number): number {
    if (this.count === 0) return NaN
    const wanted = Math.ceil(this.count * fraction)
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!
      if (seen >= wanted) return Math.min(((i + 1) * this.bucketMicros) / 1000, this.maxMicros / 1000)
    }
    return this.maxMicros / 1000
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50: this.quantileMs(0.5),
      p95: this.quantileMs(0.95),
      p99: this.quantileMs(0.99),
      max: this.maxMicros / 1000
    }
  }
}
