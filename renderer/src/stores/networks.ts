// The networks of the current organization: the list page, and the name shown on a network's page.
// Create, rename and delete go through here so the list stays the one source the pages read.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { NetworkDto } from '../../../gateway/api/contract.ts'
import { api, onEvent } from '../api.ts'

export const useNetworksStore = defineStore('networks', () => {
  const list = ref<NetworkDto[]>([])
  const organizationId = ref<string | null>(null)
  const loading = ref(false)

  async function load(forOrganization: string | null): Promise<void> {
    organizationId.value = forOrganization
    if (forOrganization === null) {
      list.value = []
      return
    }
    loading.value = true
    try {
      const networks = await api().listNetworks({ organizationId: forOrganization })
      // An answer for an organization we already switched away from must not overwrite the newer list.
      if (organizationId.value === forOrganization) list.value = networks
    } finally {
      loading.value = false
    }
  }

  const reload = (): Promise<void> => load(organizationId.value)

  async function create(name: string): Promise<NetworkDto> {
    if (organizationId.value === null) throw new Error('Pick an organization first.')
    const network = await api().createNetwork({ organizationId: organizationId.value, name })
    await reload()
    return network
  }

  async function rename(id: string, name: string): Promise<void> {
    await api().renameNetwork({ id, name })
    await reload()
  }

  async function remove(id: string): Promise<void> {
    await api().deleteNetwork({ id })
    await reload()
  }

  const byId = (id: string | null): NetworkDto | null => list.value.find((n) => n.id === id) ?? null

  /** Keeps the device and online counts live from `deviceStatus` events (revoked devices do not count). */
  function follow(): () => void {
    return onEvent((event) => {
      if (event.type === 'deviceStatus') {
        const network = byId(event.networkId)
        if (network === null) return
        const active = event.devices.filter((d) => d.revokedAt === null)
        network.deviceCount = active.length
        network.onlineCount = active.filter((d) => d.online).length
      } else if (event.type === 'changed' && event.area === 'devices' && byId(event.networkId ?? null) !== null) {
        void reload().catch(() => undefined)
      }
    })
  }

  return { list, organizationId, loading, load, reload, create, rename, remove, byId, follow }
})
