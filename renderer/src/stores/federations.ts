// Federations of the network being viewed (both ends, their toggles, live rates from `federationStats`) and the
// network's federation code. Each side changes only its own end.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { FederationCodeDto, FederationDto, Toggles } from '../../../gateway/api/contract.ts'
import { api } from '../api.ts'
import type { FilterChanges } from '../lib/traffic-words.ts'
import { useNetworkScope } from './network-scope.ts'

export const useFederationsStore = defineStore('federations', () => {
  const list = ref<FederationDto[]>([])
  const code = ref<FederationCodeDto | null>(null)
  const { networkId, loading, load, reload, follow } = useNetworkScope({
    area: 'federations',
    clear: () => {
      list.value = []
      code.value = null
    },
    fetch: (forNetwork) => api().listFederations({ networkId: forNetwork }),
    apply: async (federations, forNetwork) => {
      list.value = federations
      // A code generated earlier is still shown by its expiry (the code itself is never stored in clear).
      const existing = await api()
        .getFederationCode({ networkId: forNetwork })
        .catch(() => null)
      if (networkId.value === forNetwork && (code.value === null || code.value.code === null || existing === null)) code.value = existing
    },
    onEvent: (event) => {
      if (event.type !== 'federationStats') return
      const byId = new Map(event.federations.map((s) => [s.federationId, s]))
      for (const federation of list.value) {
        const stats = byId.get(federation.id)
        if (stats === undefined) continue
        // Pushed figures are seen from one end (the first); from the other end, in and out trade places.
        federation.stats =
          stats.networkId === federation.ours.networkId
            ? stats
            : { ...stats, networkId: federation.ours.networkId, inPerSecond: stats.outPerSecond, outPerSecond: stats.inPerSecond }
      }
    }
  })

  function requireNetwork(): string {
    if (networkId.value === null) throw new Error('Open a network first.')
    return networkId.value
  }

  async function federateWithinOrganization(otherNetworkId: string): Promise<FederationDto> {
    const federation = await api().federateWithinOrganization({ networkId: requireNetwork(), otherNetworkId })
    await reload()
    return federation
  }

  async function redeemCode(codeText: string, toggles: Toggles): Promise<FederationDto> {
    const federation = await api().redeemFederationCode({ networkId: requireNetwork(), code: codeText.trim(), ...toggles })
    await reload()
    return federation
  }

  async function generateCode(): Promise<FederationCodeDto> {
    code.value = await api().generateFederationCode({ networkId: requireNetwork() })
    return code.value
  }

  async function clearCode(): Promise<void> {
    await api().clearFederationCode({ networkId: requireNetwork() })
    code.value = null
  }

  async function updateOurEnd(
    federationId: string,
    toggles: Partial<Toggles> & { relay?: boolean; maxHops?: number } & FilterChanges
  ): Promise<void> {
    const updated = await api().updateFederationEnd({ federationId, networkId: requireNetwork(), ...toggles })
    const index = list.value.findIndex((f) => f.id === federationId)
    if (index >= 0) list.value[index] = updated
  }

  async function stop(federationId: string): Promise<void> {
    await api().stopFederating({ federationId, networkId: requireNetwork() })
    await reload()
  }

  return {
    networkId,
    list,
    code,
    loading,
    load,
    reload,
    follow,
    federateWithinOrganization,
    redeemCode,
    generateCode,
    clearCode,
    updateOurEnd,
    stop
  }
})
