// The gateway's own vital signs (uptime, memory, connections, event rates, drops, queues), refreshed by `health` events.
// The deployment settings (read-only) sit here too: both answer "is this box set up and well?".

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DeploymentSettingsDto, HealthDto } from '../../../gateway/api/contract.ts'
import { api, onEvent, onReachability } from '../api.ts'

export const useHealthStore = defineStore('health', () => {
  const health = ref<HealthDto | null>(null)
  const settings = ref<DeploymentSettingsDto | null>(null)
  const updatedAt = ref<number | null>(null)

  async function load(): Promise<void> {
    health.value = await api().getHealth()
    updatedAt.value = Date.now()
  }

  async function loadSettings(): Promise<void> {
    settings.value = await api().getDeploymentSettings()
  }

  function follow(): () => void {
    const stopEvents = onEvent((event) => {
      if (event.type === 'health') {
        health.value = event.health
        updatedAt.value = Date.now()
      }
    })
    const stopReachability = onReachability((reachable) => {
      if (reachable) void load().catch(() => undefined)
    })
    return () => {
      stopEvents()
      stopReachability()
    }
  }

  return { health, settings, updatedAt, load, loadSettings, follow }
})
