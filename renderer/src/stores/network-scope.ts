// What the stores behind a network's tabs (devices, packages, federations, peers) share: which network they show,
// the loading flag, and a reload when the gateway says the area changed or comes back after being unreachable.
// Each store keeps its own data; this only decides when to ask and whether an answer may still be used.

import { ref, type Ref } from 'vue'
import type { ConsoleEvent } from '../../../gateway/api/contract.ts'
import { onEvent, onReachability } from '../api.ts'

type ChangedArea = Extract<ConsoleEvent, { type: 'changed' }>['area']

export interface NetworkScopeOptions<T> {
  /** The area of the `changed` events that make this store reload. */
  area: ChangedArea
  /** Forgets the previous network's data when another network is opened, so its rows never show under this one. */
  clear: () => void
  fetch: (networkId: string) => Promise<T>
  /** Puts an answer in the store; called only while its network is still the one shown. */
  apply: (answer: T, networkId: string) => void | Promise<void>
  /** The area's own live events (status, rates), besides `changed`. */
  onEvent?: (event: ConsoleEvent) => void
}

export interface NetworkScope {
  networkId: Ref<string | null>
  loading: Ref<boolean>
  load(forNetwork: string): Promise<void>
  reload(): Promise<void>
  /** Follows the area's events while a tab shows it; returns the unsubscribe function. */
  follow(): () => void
}

export function useNetworkScope<T>(options: NetworkScopeOptions<T>): NetworkScope {
  const networkId = ref<string | null>(null)
  const loading = ref(false)

  async function load(forNetwork: string): Promise<void> {
    if (networkId.value !== forNetwork) options.clear()
    networkId.value = forNetwork
    loading.value = true
    try {
      const answer = await options.fetch(forNetwork)
      // The operator may have opened another network meanwhile; its answer must not be overwritten by this one.
      if (networkId.value !== forNetwork) return
      await options.apply(answer, forNetwork)
    } finally {
      loading.value = false
    }
  }

  async function reload(): Promise<void> {
    if (networkId.value !== null) await load(networkId.value)
  }

  function follow(): () => void {
    // Events missed while the gateway was away are gone: ask again once it is back.
    const stopReachability = onReachability((reachable) => {
      if (reachable) void reload().catch(() => undefined)
    })
    const stopEvents = onEvent((event) => {
      if (event.type === 'changed' && event.area === options.area) {
        // A change without a network id may concern any network, this one included.
        if (event.networkId === undefined || event.networkId === networkId.value) void reload().catch(() => undefined)
      } else {
        options.onEvent?.(event)
      }
    })
    return () => {
      stopReachability()
      stopEvents()
    }
  }

  return { networkId, loading, load, reload, follow }
}
