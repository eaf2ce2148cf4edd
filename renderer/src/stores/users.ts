// Console users across the deployment (deployment admins) or of one organization, and creating new ones.
// Passwords go straight to the gateway and are never kept here.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { UserDto } from '../../../gateway/api/contract.ts'
import { api } from '../api.ts'

export interface NewUser {
  username: string
  password: string
  displayName: string
  organizationId: string | null
  organizationAdmin: boolean
  deploymentAdmin: boolean
}

export const useUsersStore = defineStore('users', () => {
  const list = ref<UserDto[]>([])
  const loading = ref(false)

  async function load(organizationId?: string): Promise<void> {
    loading.value = true
    try {
      list.value = await api().listUsers(organizationId === undefined ? {} : { organizationId })
    } finally {
      loading.value = false
    }
  }

  async function create(user: NewUser): Promise<UserDto> {
    const created = await api().createUser({
      username: user.username,
      password: user.password,
      ...(user.displayName ? { displayName: user.displayName } : {}),
      ...(user.organizationId !== null ? { organizationId: user.organizationId, organizationAdmin: user.organizationAdmin } : {}),
      deploymentAdmin: user.deploymentAdmin
    })
    list.value = [...list.value.filter((u) => u.id !== created.id), created]
    return created
  }

  return { list, loading, load, create }
})
