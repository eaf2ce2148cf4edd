// The audit log as the console shows it: who changed what and when, newest first, with new lines pushed live
// by `auditAppended` events.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AuditEntryDto } from '../../../gateway/api/contract.ts'
import { api, onEvent } from '../api.ts'

const KEEP = 500

export const useAuditStore = defineStore('audit', () => {
  const entries = ref<AuditEntryDto[]>([])
  const organizationId = ref<string | undefined>(undefined)
  const loading = ref(false)

  async function load(forOrganization?: string): Promise<void> {
    organizationId.value = forOrganization
    loading.value = true
    try {
      const list = await api().listAuditLog({ ...(forOrganization !== undefined ? { organizationId: forOrganization } : {}), limit: KEEP })
      list.sort((a, b) => b.at.localeCompare(a.at))
      entries.value = list
    } finally {
      loading.value = false
    }
  }

  function follow(): () => void {
    return onEvent((event) => {
      if (event.type !== 'auditAppended') return
      const entry = event.entry
      if (organizationId.value !== undefined && entry.organizationId !== null && entry.organizationId !== organizationId.value) return
      entries.value = [entry, ...entries.value].slice(0, KEEP)
    })
  }

  return { entries, organizationId, loading, load, follow }
})
