// Which page the console shows, kept in the URL hash (#/networks/<id>/federations) so a reload or a bookmark lands
// in the same place. Small enough that a router library would only add weight.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

export const PAGES = ['networks', 'network', 'organizations', 'teams', 'users', 'audit', 'health', 'settings', 'help', 'map'] as const
export type Page = (typeof PAGES)[number]

export const NETWORK_TABS = ['devices', 'federations', 'peers', 'packages', 'map'] as const
export type NetworkTab = (typeof NETWORK_TABS)[number]

interface Route {
  page: Page
  networkId: string | null
  tab: NetworkTab
}

function parse(hash: string): Route {
  const [first, second, third] = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent)
  if (first === 'networks' && second) {
    const tab = (NETWORK_TABS as readonly string[]).includes(third ?? '') ? (third as NetworkTab) : 'devices'
    return { page: 'network', networkId: second, tab }
  }
  const page = (PAGES as readonly string[]).includes(first ?? '') && first !== 'network' ? (first as Page) : 'networks'
  return { page, networkId: null, tab: 'devices' }
}

function format(route: Route): string {
  if (route.page === 'network' && route.networkId !== null) return `#/networks/${encodeURIComponent(route.networkId)}/${route.tab}`
  return `#/${route.page}`
}

export const useNavStore = defineStore('nav', () => {
  const route = ref<Route>(parse(window.location.hash))

  window.addEventListener('hashchange', () => {
    route.value = parse(window.location.hash)
  })

  function go(next: Partial<Route> & { page: Page }): void {
    route.value = { networkId: null, tab: 'devices', ...next }
    const hash = format(route.value)
    if (window.location.hash !== hash) window.location.hash = hash
  }

  return {
    route,
    page: computed(() => route.value.page),
    networkId: computed(() => route.value.networkId),
    tab: computed(() => route.value.tab),
    go,
    openNetwork: (networkId: string, tab: NetworkTab = 'devices') => go({ page: 'network', networkId, tab })
  }
})
