// The live map's positions for one scope (a network, or the organization's networks), kept fresh by `positions`
// events. The positions sit in a plain Map (not deeply reactive: 1,000 devices moving every second would make Vue
// track 20,000 fields); `version` ticks when they change, and the legend and the canvas follow it.

import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { PositionDto } from '../../../gateway/api/contract.ts'
import { api, onEvent, onReachability } from '../api.ts'

export type MapScope = { networkId: string } | { organizationId: string; networkIds: string[] }

export interface MapSource {
  id: string
  name: string
  kind: 'network' | 'peer'
  colour: string
  count: number
}

/** Distinct on a dark or light map and for the common kinds of colour blindness (Okabe–Ito, then a few more). */
/** As the gateway's grace (routing/map-positions.ts): a stale device stays, grey, this long. */
const STALE_GRACE_MS = 60_000

const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#D55E00', '#56B4E9', '#F0E442', '#7B3294', '#1B9E77', '#E7298A']

export const useMapStore = defineStore('map', () => {
  const positions = shallowRef(new Map<string, PositionDto>())
  const version = ref(0)
  const scope = ref<MapScope | null>(null)
  const hidden = ref(new Set<string>())
  const colours = new Map<string, string>()

  function colourOf(sourceId: string): string {
    let colour = colours.get(sourceId)
    if (!colour) {
      colour = PALETTE[colours.size % PALETTE.length]!
      colours.set(sourceId, colour)
    }
    return colour
  }

  const inScope = (networkId: string): boolean => {
    const s = scope.value
    if (!s) return false
    return 'networkId' in s ? s.networkId === networkId : s.networkIds.includes(networkId)
  }

  function put(list: PositionDto[]): void {
    const map = positions.value
    for (const p of list) if (inScope(p.networkId)) map.set(p.key, p)
    version.value++
  }

  async function load(next: MapScope): Promise<void> {
    scope.value = next
    const list = await api().listPositions('networkId' in next ? { networkId: next.networkId } : { organizationId: next.organizationId })
    if (scope.value !== next) return
    positions.value = new Map()
    put(list)
  }

  /** Forget what went stale a while ago (the gateway forgets it too: STALE_GRACE_MS); called by the map's clock. */
  function prune(now = Date.now()): void {
    let changed = false
    for (const [key, p] of positions.value) {
      const staleAt = Date.parse(p.stale)
      if (Number.isFinite(staleAt) && staleAt + STALE_GRACE_MS < now) {
        positions.value.delete(key)
        changed = true
      }
    }
    if (changed) version.value++
  }

  function follow(): () => void {
    const stopEvents = onEvent((event) => {
      if (event.type === 'positions') put(event.positions)
    })
    const stopReachability = onReachability((reachable) => {
      if (reachable && scope.value) void load(scope.value).catch(() => undefined)
    })
    return () => {
      stopEvents()
      stopReachability()
    }
  }

  const sources = computed<MapSource[]>(() => {
    void version.value
    const byId = new Map<string, MapSource>()
    for (const p of positions.value.values()) {
      const source = byId.get(p.sourceId)
      if (source) source.count++
      else byId.set(p.sourceId, { id: p.sourceId, name: p.sourceName, kind: p.sourceKind, colour: colourOf(p.sourceId), count: 1 })
    }
    return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name))
  })

  function toggleSource(id: string): void {
    const next = new Set(hidden.value)
    if (!next.delete(id)) next.add(id)
    hidden.value = next
  }

  return { positions, version, scope, hidden, sources, colourOf, load, prune, follow, toggleSource }
})
