// How far a sender's clock is from ours, from the events it sends: the median offset between each event's `time` and
// its arrival over the last few events, ignoring replays (old events sent again, e.g. a contact list on join), and
// whether events arrive already stale. Per device and per TAK peer; bounded by count whatever the sender does.

/** Offsets kept per sender: enough for a steady median, small enough to keep for thousands of devices. */
export const SKEW_SAMPLES = 32
/** Uids remembered per sender to spot a replay (the newest ones; a device mostly uses one or two). */
export const SKEW_UIDS = 64
/** Offsets beyond this are flagged in the tables (ATAK shows a contact stale well before). */
export const SKEW_FLAG_SECONDS = 30

export type Arrival = 'fresh' | 'stale' | 'replay'

export class ClockSkew {
  private readonly samples: number[] = []
  private next = 0
  private readonly newestByUid = new Map<string, number>()
  /** Stale on arrival among the last SKEW_SAMPLES events counted (not replays): 1 bit each, oldest first. */
  private readonly staleFlags: boolean[] = []
  staleOnArrival = 0

  constructor(private readonly maxUids = SKEW_UIDS) {}

  /** One event arrived at `nowMs`; its times are the ISO strings the scanner read. */
  note(event: { uid: string; time: string; start: string; stale: string }, nowMs: number): Arrival {
    const time = Date.parse(event.time)
    if (!Number.isFinite(time)) return 'replay'
    // A replay: stamped older than its own start, or a uid sent again with a time not newer than before.
    const start = Date.parse(event.start)
    const before = this.newestByUid.get(event.uid)
    if ((Number.isFinite(start) && time < start) || (before !== undefined && time <= before)) return 'replay'
    this.newestByUid.delete(event.uid)
    this.newestByUid.set(event.uid, time)
    if (this.newestByUid.size > this.maxUids) this.newestByUid.delete(this.newestByUid.keys().next().value!)
    const offset = (time - nowMs) / 1000
    if (this.samples.length < SKEW_SAMPLES) this.samples.push(offset)
    else this.samples[this.next] = offset
    this.next = (this.next + 1) % SKEW_SAMPLES
    const stale = Date.parse(event.stale) < nowMs
    this.staleFlags.push(stale)
    if (this.staleFlags.length > SKEW_SAMPLES) this.staleFlags.shift()
    if (stale) this.staleOnArrival++
    return stale ? 'stale' : 'fresh'
  }

  /** Median of the recent offsets (their clock minus ours, whole seconds), or null before any event. */
  seconds(): number | null {
    return median(this.samples)
  }

  /** Most of the recent events (at least 3) arrived already stale. */
  mostlyStale(): boolean {
    const stale = this.staleFlags.filter(Boolean).length
    return stale >= 3 && stale * 2 > this.staleFlags.length
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const value = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return Math.round(value)
}

/**
 * When most devices (at least 3, and two thirds of those with a known offset) are off by about the same amount
 * (within 10 s of their median, beyond the flag), the odd one out is this machine's clock: that amount, else null.
 */
export function laptopClockOffset(skews: (number | null)[]): number | null {
  const known = skews.filter((s): s is number => s !== null)
  const typical = median(known)
  if (known.length < 3 || typical === null || Math.abs(typical) <= SKEW_FLAG_SECONDS) return null
  const agreeing = known.filter((s) => Math.abs(s - typical) <= 10).length
  return agreeing >= 3 && agreeing * 3 >= known.length * 2 ? typical : null
}
