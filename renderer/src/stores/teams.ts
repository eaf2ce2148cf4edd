// Teams of the current organization with their members and per-network grants, plus the organization's users
// to pick members from. Organization admins change them; everyone in the organization may read them.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { GrantDto, TeamDto, UserDto } from '../../../gateway/api/contract.ts'
import { api } from '../api.ts'

export const useTeamsStore = defineStore('teams', () => {
  const organizationId = ref<string | null>(null)
  const list = ref<TeamDto[]>([])
  const members = ref<UserDto[]>([])
  const loading = ref(false)

  async function load(forOrganization: string): Promise<void> {
    organizationId.value = forOrganization
    loading.value = true
    try {
      const [teams, users] = await Promise.all([
        api().listTeams({ organizationId: forOrganization }),
        api().listUsers({ organizationId: forOrganization })
      ])
      if (organizationId.value !== forOrganization) return
      list.value = teams
      members.value = users
    } finally {
      loading.value = false
    }
  }

  function replace(team: TeamDto): void {
    const index = list.value.findIndex((t) => t.id === team.id)
    if (index >= 0) list.value[index] = team
    else list.value.push(team)
  }

  async function create(name: string): Promise<TeamDto> {
    if (organizationId.value === null) throw new Error('Pick an organization first.')
    const team = await api().createTeam({ organizationId: organizationId.value, name })
    replace(team)
    return team
  }

  async function setMembers(teamId: string, memberIds: string[]): Promise<void> {
    replace(await api().setTeamMembers({ teamId, memberIds }))
  }

  async function setGrants(teamId: string, grants: GrantDto[]): Promise<void> {
    replace(await api().setTeamGrants({ teamId, grants }))
  }

  async function rename(teamId: string, name: string): Promise<void> {
    replace(await api().renameTeam({ id: teamId, name }))
  }

  async function remove(teamId: string): Promise<void> {
    await api().deleteTeam({ id: teamId })
    list.value = list.value.filter((t) => t.id !== teamId)
  }

  return { organizationId, list, members, loading, load, create, setMembers, setGrants, rename, remove }
})
