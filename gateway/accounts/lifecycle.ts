// The rest of an account's life after it is created: display names, password resets and changes, disabling,
// deleting users and teams, and deleting an organization with everything under it.

import { randomBytes } from 'node:crypto'
import { defineMethods, type Services } from '../services.ts'
import { ApiError, conflict, forbidden, invalid, notFound, rateLimited } from '../api/errors.ts'
import type { UserRecord } from '../store/schema.ts'
import { ThrottledError, toUserDto } from './accounts.ts'
import { checkPassword, requireOrganization, requireTeam } from './methods.ts'
import { removeNetworks } from './networks.ts'
import { hashPassword } from './passwords.ts'

function requireUser(gw: Services, id: string): UserRecord {
  const user = gw.store.data.users.find((u) => u.id === id)
  if (!user) throw notFound('That user does not exist.')
  return user
}

/**
 * Deployment admins manage every user; an organization admin manages a user who belongs only to organizations they
 * administer and is not a deployment admin (so no one can take over an account above their own).
 */
function requireManageable(gw: Services, actor: UserRecord, id: string): UserRecord {
  const target = requireUser(gw, id)
  if (actor.deploymentAdmin) return target
  const orgs = target.memberships.map((m) => m.organizationId)
  const allOurs = orgs.length > 0 && orgs.every((orgId) => gw.accounts.isOrganizationAdmin(actor, orgId))
  if (target.deploymentAdmin || !allOurs) {
    throw forbidden(`Only a deployment administrator can change ${target.displayName}'s account.`)
  }
  return target
}

/** The deployment must keep one administrator who can sign in: disabling or deleting the last one would lock it. */
function refuseLastAdmin(gw: Services, target: UserRecord, doing: string): void {
  if (!target.deploymentAdmin || target.disabled) return
  const others = gw.store.data.users.filter((u) => u.id !== target.id && u.deploymentAdmin && !u.disabled)
  if (others.length === 0) {
    throw conflict(`${target.displayName} is the last deployment administrator who can sign in; ${doing} would lock everyone out.`)
  }
}

/** 16 characters from an alphabet without look-alikes (no 0/O, 1/l/I), easy to read aloud and type on a phone. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
function oneTimePassword(): string {
  const bytes = randomBytes(16)
  // 256 % 55 leaves a bias of under 1 % per character: harmless for a 90-bit password.
  return [...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join('')
}

export const lifecycleMethods = defineMethods({
  updateUser: {
    auth: 'user',
    async run({ gw, args, user, audit }) {
      const target = args.id === user.id ? user : requireManageable(gw, user, args.id)
      const before = target.displayName
      const updated = await gw.store.update((doc) => {
        const u = doc.users.find((x) => x.id === target.id)
        if (!u) throw notFound('That user does not exist.')
        u.displayName = args.displayName
        return structuredClone(u)
      })
      audit('updateUser', `user ${updated.username}`, { from: before, to: updated.displayName }, null)
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return toUserDto(updated)
    }
  },

  resetUserPassword: {
    auth: 'user',
    async run({ gw, args, user, audit }) {
      const target = requireManageable(gw, user, args.id)
      if (target.id === user.id) throw invalid('Use "Change my password" for your own account: it asks for your current password.')
      const password = oneTimePassword()
      const hash = await hashPassword(password)
      await gw.store.update((doc) => {
        const u = doc.users.find((x) => x.id === target.id)
        if (!u) throw notFound('That user does not exist.')
        u.passwordHash = hash
      })
      // Whoever knew the old password is signed out everywhere.
      await gw.accounts.endSessionsOf(target.id)
      audit('resetUserPassword', `user ${target.username}`, {}, null)
      return { password }
    }
  },

  changeMyPassword: {
    auth: 'user',
    async run({ gw, args, user, caller, audit }) {
      let checked: UserRecord | null
      try {
        // The same throttle as sign-in: a stolen session must not become a way to guess the password.
        checked = await gw.accounts.checkLogin(user.username, args.currentPassword, caller.address)
      } catch (err) {
        if (err instanceof ThrottledError) throw rateLimited(err.message)
        throw err
      }
      if (!checked || checked.id !== user.id) throw new ApiError('invalid', 'Your current password is not right.')
      checkPassword(args.newPassword)
      const hash = await hashPassword(args.newPassword)
      await gw.store.update((doc) => {
        const u = doc.users.find((x) => x.id === user.id)
        if (!u) throw notFound('That user does not exist.')
        u.passwordHash = hash
      })
      // Other browsers signed in with the old password are signed out; this one stays.
      await gw.accounts.endSessionsOf(user.id, caller.token)
      audit('changeMyPassword', `user ${user.username}`, {}, null)
      return null
    }
  },

  setUserDisabled: {
    auth: 'user',
    async run({ gw, args, user, audit }) {
      const target = args.id === user.id ? user : requireManageable(gw, user, args.id)
      // The last administrator hears why first; anyone else hears that it is their own account.
      if (args.disabled) refuseLastAdmin(gw, target, 'disabling them')
      if (args.disabled && target.id === user.id) throw invalid('You cannot disable your own account. Ask another administrator.')
      const updated = await gw.store.update((doc) => {
        const u = doc.users.find((x) => x.id === target.id)
        if (!u) throw notFound('That user does not exist.')
        if (args.disabled) u.disabled = true
        else delete u.disabled
        return structuredClone(u)
      })
      if (args.disabled) await gw.accounts.endSessionsOf(target.id)
      audit(args.disabled ? 'disableUser' : 'enableUser', `user ${target.username}`, {}, null)
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return toUserDto(updated)
    }
  },

  deleteUser: {
    auth: 'user',
    async run({ gw, args, user, audit }) {
      const target = args.id === user.id ? user : requireManageable(gw, user, args.id)
      refuseLastAdmin(gw, target, 'deleting them')
      if (target.id === user.id) throw invalid('You cannot delete your own account while signed in with it. Ask another administrator.')
      await gw.store.update((doc) => {
        doc.users = doc.users.filter((u) => u.id !== target.id)
        for (const team of doc.teams) team.memberIds = team.memberIds.filter((id) => id !== target.id)
      })
      await gw.accounts.endSessionsOf(target.id)
      audit('deleteUser', `user ${target.username}`, { displayName: target.displayName }, null)
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return null
    }
  },

  renameTeam: {
    auth: { organizationAdmin: (a, gw) => requireTeam(gw, a.id).organizationId },
    async run({ gw, args, audit }) {
      const team = requireTeam(gw, args.id)
      const updated = await gw.store.update((doc) => {
        const t = doc.teams.find((x) => x.id === team.id)
        if (!t) throw notFound('That team does not exist.')
        const taken = doc.teams.some(
          (x) => x.id !== t.id && x.organizationId === t.organizationId && x.name.toLowerCase() === args.name.toLowerCase()
        )
        if (taken) throw conflict(`A team named '${args.name}' already exists in this organization.`)
        t.name = args.name
        return structuredClone(t)
      })
      audit('renameTeam', `team ${team.name}`, { from: team.name, to: updated.name }, team.organizationId)
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return updated
    }
  },

  deleteTeam: {
    auth: { organizationAdmin: (a, gw) => requireTeam(gw, a.id).organizationId },
    async run({ gw, args, audit }) {
      const team = requireTeam(gw, args.id)
      // Its grants live inside the team record, so they go with it.
      await gw.store.update((doc) => {
        doc.teams = doc.teams.filter((t) => t.id !== team.id)
      })
      audit('deleteTeam', `team ${team.name}`, { members: team.memberIds.length, grants: team.grants.length }, team.organizationId)
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return null
    }
  },

  deleteOrganization: {
    auth: 'deploymentAdmin',
    async run({ gw, args, audit }) {
      const org = requireOrganization(gw, args.id)
      if (args.confirmName.trim() !== org.name) {
        throw invalid(`To delete it, type the organization's name exactly as shown: '${org.name}'.`)
      }
      const networks = gw.store.data.networks.filter((n) => n.organizationId === org.id)
      const teams = gw.store.data.teams.filter((t) => t.organizationId === org.id).length
      const removed = await removeNetworks(
        gw,
        networks.map((n) => n.id),
        (doc) => {
          doc.organizations = doc.organizations.filter((o) => o.id !== org.id)
          doc.teams = doc.teams.filter((t) => t.organizationId !== org.id)
          // Users stay (they may belong elsewhere, and a deployment admin decides); only their membership goes.
          for (const u of doc.users) u.memberships = u.memberships.filter((m) => m.organizationId !== org.id)
        }
      )
      audit('deleteOrganization', `organization ${org.name}`, { networks: networks.map((n) => n.name), teams, ...removed }, null)
      gw.events.emit({ type: 'changed', area: 'accounts' })
      gw.events.emit({ type: 'changed', area: 'networks' })
      return null
    }
  }
})
