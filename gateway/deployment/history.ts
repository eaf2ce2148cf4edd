// The charts' memory: every Console:ChartSampleSeconds the health figures and each link's traffic become one point of
// an hour-long ring (routing/history.ts), and the new points go to consoles in a `historySample` event.

import type { HealthHistoryDto, LinkHistoryDto, LinkSampleDto } from '../api/contract.ts'
import { CounterRate, SeriesSet, eventsOver, sumSeries } from '../routing/history.ts'
import type { Services } from '../services.ts'

/** Cumulative totals of one link since start, as an area reports them; `key` names the link for consoles. */
export interface LinkTotals {
  key: string
  in: number
  out: number
  /** null: the link has no drops of its own (a local federation: drops happen at the receiving devices). */
  drops: number | null
}

const HOUR_SECONDS = 3600
const QUARTER_SECONDS = 900
/** Drop reasons and networks name the health series: past this many, new names are refused (counted). */
const MAX_HEALTH_SERIES = 512
/** Links are peers and federation ends, both created by operators; this bounds them anyway. */
const MAX_LINKS = 1000

export class HistoryBook {
  readonly periodSeconds: number
  /** Points per series: one hour. */
  readonly capacity: number
  readonly health: SeriesSet
  readonly links = new Map<string, SeriesSet>()
  /** Each area that has links adds a source here (TAK peers, local federations). */
  readonly linkSources: (() => LinkTotals[])[] = []
  private readonly rates = new Map<string, CounterRate>()

  constructor(periodSeconds: number) {
    // Whole seconds from 1 to 60: below, the rings grow past an hour's worth of memory; above, charts say little.
    this.periodSeconds = Math.min(60, Math.max(1, Math.round(periodSeconds)))
    this.capacity = Math.ceil(HOUR_SECONDS / this.periodSeconds)
    this.health = new SeriesSet(this.capacity, MAX_HEALTH_SERIES)
  }

  /** Per-second rate of the counter `name` since the last sample. */
  rate(name: string, total: number): number {
    let rate = this.rates.get(name)
    if (!rate) this.rates.set(name, (rate = new CounterRate()))
    return rate.rate(total, this.periodSeconds)
  }

  /** One sample of every link the sources report; links no longer reported are forgotten. */
  sampleLinks(at: number): LinkSampleDto[] {
    const seen = new Set<string>()
    const samples: LinkSampleDto[] = []
    for (const source of this.linkSources) {
      for (const link of source()) {
        let set = this.links.get(link.key)
        if (!set) {
          if (this.links.size >= MAX_LINKS) continue
          this.links.set(link.key, (set = new SeriesSet(this.capacity, 3)))
        }
        seen.add(link.key)
        const sample: LinkSampleDto = {
          key: link.key,
          at: new Date(at).toISOString(),
          inPerSecond: this.rate(`${link.key}\u0000in`, link.in),
          outPerSecond: this.rate(`${link.key}\u0000out`, link.out),
          dropsPerSecond: link.drops === null ? null : this.rate(`${link.key}\u0000drops`, link.drops)
        }
        const values: Record<string, number> = { in: sample.inPerSecond, out: sample.outPerSecond }
        if (sample.dropsPerSecond !== null) values.drops = sample.dropsPerSecond
        set.record(at, values)
        samples.push(sample)
      }
    }
    for (const key of this.links.keys()) {
      if (seen.has(key)) continue
      this.links.delete(key)
      for (const part of ['in', 'out', 'drops']) this.rates.delete(`${key}\u0000${part}`)
    }
    return samples
  }

  /** The health history as a user who may see `canSee` networks sees it (their backlogs only). */
  healthHistory(canSee: (networkId: string) => boolean): HealthHistoryDto {
    const h = this.health
    const length = h.times.length
    const dropsPerSecond: Record<string, (number | null)[]> = {}
    const backlogs: (number | null)[][] = []
    for (const name of h.names()) {
      if (name.startsWith('drop:')) dropsPerSecond[name.slice(5)] = h.values(name)
      if (name.startsWith('backlog:') && canSee(name.slice(8))) backlogs.push(h.values(name))
    }
    // With no backlog anywhere the operator may look, the backlog is zero, not unknown.
    const backlogBytes = sumSeries(backlogs, length).map((v) => v ?? 0)
    return {
      periodSeconds: this.periodSeconds,
      times: h.times.values().map((t) => new Date(t ?? 0).toISOString()),
      eventsInPerSecond: h.values('in'),
      eventsOutPerSecond: h.values('out'),
      dropsPerSecond,
      backlogBytes,
      rssBytes: h.values('rss'),
      heapUsedBytes: h.values('heap'),
      devices: h.values('devices'),
      peers: h.values('peers')
    }
  }

  /** A link's last hour, and its totals over the last 15 minutes and the hour. Empty until its first sample. */
  linkHistory(key: string): LinkHistoryDto {
    const set = this.links.get(key) ?? new SeriesSet(1, 3)
    const quarter = Math.ceil(QUARTER_SECONDS / this.periodSeconds)
    const hasDrops = set.names().includes('drops')
    const totals = (points: number): LinkHistoryDto['lastHour'] => ({
      in: eventsOver(set.values('in', points), this.periodSeconds),
      out: eventsOver(set.values('out', points), this.periodSeconds),
      drops: hasDrops ? eventsOver(set.values('drops', points), this.periodSeconds) : null
    })
    return {
      key,
      periodSeconds: this.periodSeconds,
      times: set.times.values().map((t) => new Date(t ?? 0).toISOString()),
      inPerSecond: set.values('in'),
      outPerSecond: set.values('out'),
      dropsPerSecond: hasDrops ? set.values('drops') : null,
      last15Minutes: totals(quarter),
      lastHour: totals(this.capacity)
    }
  }
}

/** Samples on a timer (unref'd) and pushes each new point to consoles; returns its stop. */
export function startHistory(gw: Services): () => void {
  const book = gw.history
  const tick = (): void => {
    const at = Date.now()
    const health = gw.health()
    const stats = gw.router.stats()
    const fixed = {
      eventsInPerSecond: book.rate('in', stats.eventsIn),
      eventsOutPerSecond: book.rate('out', stats.deliveries),
      rssBytes: health.rssBytes,
      heapUsedBytes: health.heapUsedBytes,
      devices: health.connections.devices,
      peers: health.connections.peers
    }
    const values: Record<string, number> = {
      in: fixed.eventsInPerSecond,
      out: fixed.eventsOutPerSecond,
      rss: fixed.rssBytes,
      heap: fixed.heapUsedBytes,
      devices: fixed.devices,
      peers: fixed.peers
    }
    const dropsPerSecond: Record<string, number> = {}
    for (const [reason, total] of Object.entries(health.dropsByReason)) {
      dropsPerSecond[reason] = values[`drop:${reason}`] = book.rate(`drop:${reason}`, total)
    }
    const backlogByNetwork: Record<string, number> = {}
    for (const queue of health.queueDepths) backlogByNetwork[queue.networkId] = (backlogByNetwork[queue.networkId] ?? 0) + queue.bytes
    for (const [networkId, bytes] of Object.entries(backlogByNetwork)) values[`backlog:${networkId}`] = bytes
    book.health.record(at, values)
    const links = book.sampleLinks(at)
    const backlogBytes = Object.values(backlogByNetwork).reduce((a, b) => a + b, 0)
    gw.events.emit({
      type: 'historySample',
      health: { at: new Date(at).toISOString(), ...fixed, dropsPerSecond, backlogBytes, backlogByNetwork },
      links
    })
    // The Health page's figures follow the same beat.
    gw.events.emit({ type: 'health', health })
  }
  const timer = setInterval(tick, book.periodSeconds * 1000)
  timer.unref()
  return () => clearInterval(timer)
}
