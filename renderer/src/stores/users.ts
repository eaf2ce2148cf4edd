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

  function replace(user: UserDto): void {
    list.value = list.value.map((u) => (u.id === user.id ? user : u))
  }

  async function rename(id: string, displayName: string): Promise<void> {
    replace(await api().updateUser({ id, displayName }))
  }

  /** The new password, to be shown once; it is not kept here. */
  async function resetPassword(id: string): Promise<string> {
    return (await api().resetUserPassword({ id })).password
  }

  async function setDisabled(id: string, disabled: boolean): Promise<void> {
    replace(await api().setUserDisabled({ id, disabled }))
  }

  async function remove(id: string): Promise<void> {
    await api().deleteUser({ id })
    list.value = list.value.filter((u) => u.id !== id)
  }

  async function changeMyPassword(currentPassword: string, newPassword: string): Promise<void> {
    await api().changeMyPassword({ currentPassword, newPassword })
  }

  return { list, loading, load, create, changeMyPassword, rename, resetPassword, setDisabled, remove }
})
