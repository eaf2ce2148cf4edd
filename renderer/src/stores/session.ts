// Who is signed in and what they may do: setup state, login/logout, whoami and the permission questions the UI asks
// before rendering a button (the gateway checks every call again; hiding a button is a courtesy).

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { Permission, SetupState, WhoAmI } from '../../../gateway/api/contract.ts'
import { api, errorCode } from '../api.ts'

export const useSessionStore = defineStore('session', () => {
  const setupState = ref<SetupState | null>(null)
  const me = ref<WhoAmI | null>(null)
  const ready = ref(false)
  const loadError = ref<string | null>(null)
  /** Set when the session ended underneath us (expired, gateway restarted), for the sign-in screen. */
  const endedReason = ref<string | null>(null)

  const signedIn = computed(() => me.value !== null)
  const isDeploymentAdmin = computed(() => me.value?.user.deploymentAdmin ?? false)

  async function start(): Promise<void> {
    loadError.value = null
    try {
      setupState.value = await api().getSetupState()
      // A browser keeps its token in sessionStorage; the desktop app keeps its session in the main process. Either
      // way, ask who we are and fall back to the sign-in screen.
      if (!setupState.value.needsFirstAdmin) await refreshWhoami().catch(() => undefined)
    } catch (err) {
      loadError.value = (err as Error).message
    } finally {
      ready.value = true
    }
  }

  async function refreshWhoami(): Promise<void> {
    me.value = await api().whoami()
  }

  async function login(username: string, password: string): Promise<void> {
    await api().login({ username, password })
    endedReason.value = null
    await refreshWhoami()
  }

  async function setupFirstAdmin(setupToken: string, username: string, password: string, displayName?: string): Promise<void> {
    await api().setupFirstAdmin({ setupToken, username, password, ...(displayName ? { displayName } : {}) })
    setupState.value = { needsFirstAdmin: false, storeRecovery: setupState.value?.storeRecovery ?? null }
    await refreshWhoami()
  }

  async function logout(): Promise<void> {
    try {
      await api().logout()
    } catch {
      // Signing out of an already-expired session is still signing out.
    }
    me.value = null
  }

  /** Called with any failed call: an `unauthenticated` answer means the session is gone. */
  function noticeFailure(err: unknown): void {
    if (errorCode(err) === 'unauthenticated' && me.value !== null) {
      me.value = null
      endedReason.value = 'Your session has ended. Sign in again.'
    }
  }

  function permissionsOn(networkId: string): Permission[] {
    return me.value?.networkPermissions[networkId] ?? []
  }

  function can(networkId: string, permission: Permission): boolean {
    return permissionsOn(networkId).includes(permission)
  }

  function isOrganizationAdmin(organizationId: string | null): boolean {
    if (organizationId === null || me.value === null) return false
    return me.value.user.deploymentAdmin || me.value.adminOf.includes(organizationId)
  }

  return {
    setupState,
    me,
    ready,
    loadError,
    endedReason,
    signedIn,
    isDeploymentAdmin,
    start,
    refreshWhoami,
    login,
    setupFirstAdmin,
    logout,
    noticeFailure,
    permissionsOn,
    can,
    isOrganizationAdmin
  }
})
