// The charts' figures: the gateway's last hour (getHealthHistory) and the links whose drawers are open
// (getLinkHistory), each kept growing by the `historySample` points the gateway pushes.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ArgsOf, HealthHistoryDto, HealthSampleDto, LinkHistoryDto, LinkSampleDto } from '../../../gateway/api/contract.ts'
import { api, onEvent } from '../api.ts'

export type LinkRef = ArgsOf<'getLinkHistory'>

/** Points kept per series: the gateway's hour at its sample period, so a console left open does not grow without end. */
const capacityOf = (periodSeconds: number): number => Math.ceil(3600 / Math.max(1, periodSeconds))

function keep<T>(values: T[], value: T, capacity: number): void {
  values.push(value)
  if (values.length > capacity) values.splice(0, values.length - capacity)
}

function appendHealth(h: HealthHistoryDto, s: HealthSampleDto): void {
  const cap = capacityOf(h.periodSeconds)
  const before = h.times.length
  keep(h.times, s.at, cap)
  keep(h.eventsInPerSecond, s.eventsInPerSecond, cap)
  keep(h.eventsOutPerSecond, s.eventsOutPerSecond, cap)
  keep(h.backlogBytes, s.backlogBytes, cap)
  keep(h.rssBytes, s.rssBytes, cap)
  keep(h.heapUsedBytes, s.heapUsedBytes, cap)
  keep(h.devices, s.devices, cap)
  keep(h.peers, s.peers, cap)
  // A reason seen for the first time starts with "no figure" at every earlier time.
  for (const reason of Object.keys(s.dropsPerSecond)) h.dropsPerSecond[reason] ??= new Array<number | null>(before).fill(null)
  for (const [reason, values] of Object.entries(h.dropsPerSecond)) keep(values, s.dropsPerSecond[reason] ?? null, cap)
  for (const values of Object.values(h.dropsPerSecond)) if (values.length > h.times.length) values.splice(0, values.length - h.times.length)
}

function appendLink(l: LinkHistoryDto, s: LinkSampleDto): void {
  const cap = capacityOf(l.periodSeconds)
  keep(l.times, s.at, cap)
  keep(l.inPerSecond, s.inPerSecond, cap)
  keep(l.outPerSecond, s.outPerSecond, cap)
  if (l.dropsPerSecond !== null) keep(l.dropsPerSecond, s.dropsPerSecond, cap)
}

export const useHistoryStore = defineStore('history', () => {
  const health = ref<HealthHistoryDto | null>(null)
  /** Open drawers' links by key. */
  const links = ref<Record<string, LinkHistoryDto>>({})

  async function loadHealth(): Promise<void> {
    health.value = await api().getHealthHistory()
  }

  async function loadLink(link: LinkRef): Promise<string> {
    const history = await api().getLinkHistory(link)
    links.value[history.key] = history
    return history.key
  }

  function forgetLink(key: string): void {
    delete links.value[key]
  }

  // One subscription however many charts follow: two would append each sample twice.
  let followers = 0
  let stopEvents: (() => void) | null = null
  function follow(): () => void {
    if (followers++ === 0) {
      stopEvents = onEvent((event) => {
        if (event.type !== 'historySample') return
        if (health.value) appendHealth(health.value, event.health)
        for (const sample of event.links) {
          const link = links.value[sample.key]
          if (link) appendLink(link, sample)
        }
      })
    }
    let stopped = false
    return () => {
      if (stopped) return
      stopped = true
      if (--followers === 0) stopEvents?.()
    }
  }

  return { health, links, loadHealth, loadLink, forgetLink, follow }
})
