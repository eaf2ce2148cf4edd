// Live figures per external peer: connected since when, events per second each way, last heard, last error, and a
// sparkline history (60 buckets of 5 s). The console gets them as `peerStatus` events while anything changes.

import type { PeerStatusDto } from '../../api/contract.ts'
import { RateMeter } from '../../routing/meter.ts'
import type { PeerContactRecord } from '../../store/schema.ts'

const HISTORY_BUCKETS = 60
const BUCKET_MS = 5000

interface PeerFigures {
  connected: boolean
  since: number | null
  in: RateMeter
  out: RateMeter
  lastHeard: number | null
  lastError: string | null
  /** Events the links to this peer dropped since start, over all its sessions (for the charts). */
  dropped: number
  /** Events the peer's In / Out filters kept back since start (issue 20). */
  filteredIn: number
  filteredOut: number
  /** Completed buckets (events per second, oldest first) and the bucket being filled. */
  historyIn: number[]
  historyOut: number[]
  bucket: number
  bucketIn: number
  bucketOut: number
}

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/** Since when a peer saved as `saved` is down: when it went down, or when last heard if Fedgate stopped without saying. */
export function downSince(saved: PeerContactRecord): string | null {
  return saved.connected ? (saved.lastHeard ?? saved.since) : saved.since
}

export class PeerStatusBoard {
  private readonly figures = new Map<string, PeerFigures>()

  constructor(private readonly now: () => number = Date.now) {}

  private of(peerId: string): PeerFigures {
    let f = this.figures.get(peerId)
    if (!f) {
      f = {
        connected: false,
        since: null,
        in: new RateMeter(this.now),
        out: new RateMeter(this.now),
        lastHeard: null,
        lastError: null,
        dropped: 0,
        filteredIn: 0,
        filteredOut: 0,
        historyIn: [],
        historyOut: [],
        bucket: Math.floor(this.now() / BUCKET_MS),
        bucketIn: 0,
        bucketOut: 0
      }
      this.figures.set(peerId, f)
    }
    return f
  }

  connected(peerId: string): void {
    const f = this.of(peerId)
    if (!f.connected) f.since = this.now()
    f.connected = true
    f.lastError = null
  }

  disconnected(peerId: string, error: string | null): void {
    const f = this.of(peerId)
    if (f.connected) f.since = this.now()
    f.connected = false
    if (error) f.lastError = error
  }

  failed(peerId: string, error: string): void {
    this.of(peerId).lastError = error
  }

  heard(peerId: string): void {
    this.of(peerId).lastHeard = this.now()
  }

  countIn(peerId: string, n = 1): void {
    const f = this.of(peerId)
    this.roll(f)
    f.in.add(n)
    f.bucketIn += n
    f.lastHeard = this.now()
  }

  countOut(peerId: string, n = 1): void {
    const f = this.of(peerId)
    this.roll(f)
    f.out.add(n)
    f.bucketOut += n
  }

  countDropped(peerId: string, n: number): void {
    this.of(peerId).dropped += n
  }

  /** An event the peer's filter for that direction kept back. */
  countFiltered(peerId: string, direction: 'in' | 'out'): void {
    const f = this.of(peerId)
    if (direction === 'in') f.filteredIn++
    else f.filteredOut++
  }

  /** Events in, out and dropped since start: the charts turn them into rates (deployment/history.ts). */
  totals(peerId: string): { in: number; out: number; drops: number } {
    const f = this.of(peerId)
    return { in: f.in.total, out: f.out.total, drops: f.dropped }
  }

  /**
   * After a restart: the peer is down, since it went down (or, if Fedgate stopped without saying so, since it was last
   * heard), with the last error it had.
   */
  restore(peerId: string, saved: PeerContactRecord): void {
    const f = this.of(peerId)
    if (f.connected) return
    const ms = (iso: string | null): number | null => {
      const value = iso === null ? NaN : Date.parse(iso)
      return Number.isFinite(value) ? value : null
    }
    f.since = ms(downSince(saved))
    f.lastHeard = ms(saved.lastHeard)
    f.lastError = saved.lastError
  }

  /** What is saved of a peer (see restore). */
  contact(peerId: string): PeerContactRecord {
    const f = this.of(peerId)
    return { connected: f.connected, since: isoOrNull(f.since), lastHeard: isoOrNull(f.lastHeard), lastError: f.lastError }
  }

  forget(peerId: string): void {
    this.figures.delete(peerId)
  }

  isConnected(peerId: string): boolean {
    return this.figures.get(peerId)?.connected ?? false
  }

  status(peerId: string): PeerStatusDto {
    const f = this.of(peerId)
    this.roll(f)
    return {
      peerId,
      connected: f.connected,
      since: isoOrNull(f.since),
      inPerSecond: f.in.perSecond(),
      outPerSecond: f.out.perSecond(),
      lastHeard: isoOrNull(f.lastHeard),
      lastError: f.lastError,
      inFiltered: f.filteredIn,
      outFiltered: f.filteredOut,
      history: { in: [...f.historyIn], out: [...f.historyOut] }
    }
  }

  /** Close finished buckets (empty ones too) so the sparkline moves even when nothing passes. */
  private roll(f: PeerFigures): void {
    const current = Math.floor(this.now() / BUCKET_MS)
    if (current === f.bucket) return
    const rate = (n: number): number => Math.round((n / (BUCKET_MS / 1000)) * 10) / 10
    const push = (history: number[], value: number): void => {
      history.push(value)
      if (history.length > HISTORY_BUCKETS) history.shift()
    }
    push(f.historyIn, rate(f.bucketIn))
    push(f.historyOut, rate(f.bucketOut))
    const skipped = Math.min(current - f.bucket - 1, HISTORY_BUCKETS)
    for (let i = 0; i < skipped; i++) {
      push(f.historyIn, 0)
      push(f.historyOut, 0)
    }
    f.bucket = current
    f.bucketIn = 0
    f.bucketOut = 0
  }
}
