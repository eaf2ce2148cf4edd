// The organizations the signed-in user can see, and which one the console is looking at (the app-bar switcher).
// Deployment admins create organizations and change their plan and token limit here.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { NetworkDto, OrganizationDto, Plan } from '../../../gateway/api/contract.ts'
import { api } from '../api.ts'

const CURRENT_KEY = 'fedgate.organizationId'

export const useOrganizationsStore = defineStore('organizations', () => {
  const list = ref<OrganizationDto[]>([])
  const currentId = ref<string | null>(localStorage.getItem(CURRENT_KEY))
  const loaded = ref(false)

  const current = computed(() => list.value.find((o) => o.id === currentId.value) ?? null)

  async function load(): Promise<void> {
    list.value = await api().listOrganizations()
    loaded.value = true
    if (current.value === null) select(list.value[0]?.id ?? null)
  }

  function select(id: string | null): void {
    currentId.value = id
    if (id === null) localStorage.removeItem(CURRENT_KEY)
    else localStorage.setItem(CURRENT_KEY, id)
  }

  async function create(name: string, plan: Plan, tokenLimit: number): Promise<OrganizationDto> {
    const organization = await api().createOrganization({ name, plan, tokenLimit })
    await load()
    if (currentId.value === null) select(organization.id)
    return organization
  }

  async function update(id: string, changes: { name?: string; plan?: Plan; tokenLimit?: number }): Promise<OrganizationDto> {
    const organization = await api().updateOrganization({ id, ...changes })
    await load()
    return organization
  }

  /** Its networks with their device counts: what a delete would take with it, said before it happens. */
  async function networksOf(id: string): Promise<NetworkDto[]> {
    return api().listNetworks({ organizationId: id })
  }

  /** Deletes it with everything under it; the gateway refuses unless `confirmName` is its name. */
  async function remove(id: string, confirmName: string): Promise<void> {
    await api().deleteOrganization({ id, confirmName })
    if (currentId.value === id) select(null)
    await load()
  }

  function clear(): void {
    list.value = []
    loaded.value = false
  }

  return { list, currentId, current, loaded, load, select, create, update, networksOf, remove, clear }
})
