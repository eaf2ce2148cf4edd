// Contract methods for sessions, organizations, users and teams.

import { PERMISSIONS, type OrganizationDto, type TeamDto } from '../api/contract.ts'
import { defineMethods } from '../services.ts'
import { ApiError, conflict, forbidden, invalid, notFound, rateLimited } from '../api/errors.ts'
import type { Services } from '../services.ts'
import type { OrganizationRecord, TeamRecord, UserRecord } from '../store/schema.ts'
import { randomId, ThrottledError, toUserDto } from './accounts.ts'
import { passwordProblem } from './passwords.ts'

function organizationDto(gw: Services, org: OrganizationRecord): OrganizationDto {
  const networkIds = new Set(gw.store.data.networks.filter((n) => n.organizationId === org.id).map((n) => n.id))
  const tokensUsed = gw.store.data.externalPeers.filter((p) => networkIds.has(p.networkId)).length
  return { id: org.id, name: org.name, plan: org.plan, tokenLimit: org.tokenLimit, tokensUsed, createdAt: org.createdAt }
}

function teamDto(team: TeamRecord): TeamDto {
  return {
    id: team.id,
    organizationId: team.organizationId,
    name: team.name,
    memberIds: [...team.memberIds],
    grants: team.grants.map((g) => ({ networkId: g.networkId, permissions: [...g.permissions] }))
  }
}

export function requireOrganization(gw: Services, id: string): OrganizationRecord {
  const org = gw.store.data.organizations.find((o) => o.id === id)
  if (!org) throw notFound('That organization does not exist.')
  return org
}

export function requireTeam(gw: Services, id: string): TeamRecord {
  const team = gw.store.data.teams.find((t) => t.id === id)
  if (!team) throw notFound('That team does not exist.')
  return team
}

export function checkPassword(pw: string): void {
  const problem = passwordProblem(pw)
  if (problem) throw invalid(problem)
}

export const accountMethods = defineMethods({
  getSetupState: {
    auth: 'public',
    run: ({ gw }) => ({ needsFirstAdmin: gw.store.data.users.length === 0, storeRecovery: gw.store.recovery })
  },

  setupFirstAdmin: {
    auth: 'public',
    async run({ gw, args, caller }) {
      if (gw.store.data.users.length > 0) throw conflict('The first administrator already exists. Sign in instead.')
      const key = `setup:${caller.address}`
      if (gw.accounts.throttledFor(key) > 0) throw rateLimited('Too many wrong setup tokens. Wait a few minutes and try again.')
      if (!gw.accounts.checkSetupToken(args.setupToken)) {
        gw.accounts.recordFailure(key)
        throw new ApiError('unauthenticated', 'That setup token is not right. Use the token Fedgate printed when it started.')
      }
      checkPassword(args.password)
      const user = await gw.accounts.newUserRecord({ ...args, deploymentAdmin: true })
      await gw.store.update((doc) => {
        if (doc.users.length > 0) throw conflict('The first administrator already exists. Sign in instead.')
        doc.users.push(user)
      })
      gw.accounts.setupToken = null
      gw.audit.append({
        actor: user.username,
        action: 'setupFirstAdmin',
        target: `user ${user.username}`,
        details: {},
        organizationId: null
      })
      const session = await gw.accounts.createSession(user)
      return { token: session.token, expiresAt: session.expiresAt, user: toUserDto(user) }
    }
  },

  login: {
    auth: 'public',
    async run({ gw, args, caller }) {
      let user: UserRecord | null
      try {
        user = await gw.accounts.checkLogin(args.username, args.password, caller.address)
      } catch (err) {
        if (err instanceof ThrottledError) throw rateLimited(err.message)
        throw err
      }
      if (!user) throw new ApiError('unauthenticated', 'The username or password is not right.')
      if (user.disabled) throw new ApiError('unauthenticated', 'This account is disabled. Ask an administrator to enable it again.')
      const session = await gw.accounts.createSession(user)
      return { token: session.token, expiresAt: session.expiresAt, user: toUserDto(user) }
    }
  },

  logout: {
    auth: 'user',
    async run({ gw, caller }) {
      await gw.accounts.endSession(caller.token)
      return null
    }
  },

  whoami: {
    auth: 'user',
    run: ({ gw, user }) => gw.accounts.whoami(user)
  },

  listOrganizations: {
    auth: 'user',
    run: ({ gw, user }) =>
      gw.store.data.organizations.filter((o) => gw.accounts.isOrganizationMember(user, o.id)).map((o) => organizationDto(gw, o))
  },

  createOrganization: {
    auth: 'deploymentAdmin',
    async run({ gw, args, audit }) {
      const org: OrganizationRecord = {
        id: randomId('org'),
        name: args.name,
        plan: args.plan ?? 'team',
        tokenLimit: args.tokenLimit ?? 10,
        createdAt: new Date().toISOString()
      }
      await gw.store.update((doc) => {
        if (doc.organizations.some((o) => o.name.toLowerCase() === args.name.toLowerCase())) {
          throw conflict(`An organization named '${args.name}' already exists.`)
        }
        doc.organizations.push(org)
      })
      audit('createOrganization', `organization ${org.name}`, { plan: org.plan, tokenLimit: org.tokenLimit }, org.id)
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return organizationDto(gw, org)
    }
  },

  updateOrganization: {
    auth: 'deploymentAdmin',
    async run({ gw, args, audit }) {
      requireOrganization(gw, args.id)
      const updated = await gw.store.update((doc) => {
        const org = doc.organizations.find((o) => o.id === args.id)!
        if (args.name && doc.organizations.some((o) => o.id !== org.id && o.name.toLowerCase() === args.name!.toLowerCase())) {
          throw conflict(`An organization named '${args.name}' already exists.`)
        }
        if (args.name !== undefined) org.name = args.name
        if (args.plan !== undefined) org.plan = args.plan
        if (args.tokenLimit !== undefined) org.tokenLimit = args.tokenLimit
        return { ...org }
      })
      audit(
        'updateOrganization',
        `organization ${updated.name}`,
        { name: args.name, plan: args.plan, tokenLimit: args.tokenLimit },
        updated.id
      )
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return organizationDto(gw, updated)
    }
  },

  listUsers: {
    auth: 'user',
    run({ gw, user, args }) {
      const orgId = args?.organizationId
      if (orgId === undefined) {
        if (!user.deploymentAdmin) throw forbidden('Only a deployment administrator can list every user; pick an organization.')
        return gw.store.data.users.map(toUserDto)
      }
      requireOrganization(gw, orgId)
      if (!gw.accounts.isOrganizationMember(user, orgId)) throw forbidden('You are not a member of that organization.')
      return gw.store.data.users.filter((u) => u.memberships.some((m) => m.organizationId === orgId)).map(toUserDto)
    }
  },

  createUser: {
    auth: 'user',
    async run({ gw, args, user, audit }) {
      // Deployment admins create anyone; an organization admin creates members of their own organization.
      if (!user.deploymentAdmin) {
        if (args.deploymentAdmin) throw forbidden('Only a deployment administrator can create another deployment administrator.')
        if (!args.organizationId || !gw.accounts.isOrganizationAdmin(user, args.organizationId)) {
          throw forbidden('Only an administrator of the organization can add users to it.')
        }
      }
      if (args.organizationId) requireOrganization(gw, args.organizationId)
      if (args.organizationAdmin && !args.organizationId) throw invalid('An organization admin needs an organization.')
      checkPassword(args.password)
      const record = await gw.accounts.newUserRecord({
        username: args.username,
        password: args.password,
        displayName: args.displayName,
        deploymentAdmin: args.deploymentAdmin ?? false,
        memberships: args.organizationId ? [{ organizationId: args.organizationId, admin: args.organizationAdmin ?? false }] : []
      })
      await gw.store.update((doc) => {
        if (doc.users.some((u) => u.username.toLowerCase() === record.username.toLowerCase())) {
          throw conflict(`A user named '${record.username}' already exists.`)
        }
        doc.users.push(record)
      })
      audit(
        'createUser',
        `user ${record.username}`,
        {
          organizationId: args.organizationId ?? null,
          organizationAdmin: args.organizationAdmin ?? false,
          deploymentAdmin: record.deploymentAdmin
        },
        args.organizationId ?? null
      )
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return toUserDto(record)
    }
  },

  listTeams: {
    auth: 'user',
    run({ gw, args, user }) {
      requireOrganization(gw, args.organizationId)
      if (!gw.accounts.isOrganizationMember(user, args.organizationId)) throw forbidden('You are not a member of that organization.')
      return gw.store.data.teams.filter((t) => t.organizationId === args.organizationId).map(teamDto)
    }
  },

  createTeam: {
    auth: { organizationAdmin: (a) => a.organizationId },
    async run({ gw, args, audit }) {
      requireOrganization(gw, args.organizationId)
      const team: TeamRecord = { id: randomId('team'), organizationId: args.organizationId, name: args.name, memberIds: [], grants: [] }
      await gw.store.update((doc) => {
        if (doc.teams.some((t) => t.organizationId === args.organizationId && t.name.toLowerCase() === args.name.toLowerCase())) {
          throw conflict(`A team named '${args.name}' already exists in this organization.`)
        }
        doc.teams.push(team)
      })
      audit('createTeam', `team ${team.name}`, {}, team.organizationId)
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return teamDto(team)
    }
  },

  setTeamMembers: {
    auth: { organizationAdmin: (a, gw) => requireTeam(gw, a.teamId).organizationId },
    async run({ gw, args, audit }) {
      const team = requireTeam(gw, args.teamId)
      const memberIds = [...new Set(args.memberIds)]
      for (const id of memberIds) {
        const member = gw.store.data.users.find((u) => u.id === id)
        if (!member) throw notFound(`User ${id} does not exist.`)
        if (!member.memberships.some((m) => m.organizationId === team.organizationId)) {
          throw invalid(`${member.username} is not a member of this team's organization.`)
        }
      }
      const updated = await gw.store.update((doc) => {
        const t = doc.teams.find((x) => x.id === team.id)!
        t.memberIds = memberIds
        return structuredClone(t)
      })
      const names = memberIds.map((id) => gw.store.data.users.find((u) => u.id === id)?.username ?? id)
      audit('setTeamMembers', `team ${team.name}`, { members: names }, team.organizationId)
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return teamDto(updated)
    }
  },

  setTeamGrants: {
    auth: { organizationAdmin: (a, gw) => requireTeam(gw, a.teamId).organizationId },
    // Up to 1000 grants of a dozen permission names each: about half a MiB of JSON.
    maxBodyBytes: () => 1_048_576,
    async run({ gw, args, audit }) {
      const team = requireTeam(gw, args.teamId)
      const grants = new Map<string, Set<(typeof PERMISSIONS)[number]>>()
      for (const grant of args.grants) {
        const network = gw.store.data.networks.find((n) => n.id === grant.networkId)
        if (!network) throw notFound(`Network ${grant.networkId} does not exist.`)
        if (network.organizationId !== team.organizationId) throw invalid(`Network '${network.name}' belongs to another organization.`)
        const set = grants.get(grant.networkId) ?? new Set()
        for (const p of grant.permissions) set.add(p)
        grants.set(grant.networkId, set)
      }
      const normalized = [...grants].map(([networkId, set]) => ({ networkId, permissions: PERMISSIONS.filter((p) => set.has(p)) }))
      const updated = await gw.store.update((doc) => {
        const t = doc.teams.find((x) => x.id === team.id)!
        t.grants = normalized.filter((g) => g.permissions.length > 0)
        return structuredClone(t)
      })
      audit('setTeamGrants', `team ${team.name}`, { grants: updated.grants }, team.organizationId)
      gw.events.emit({ type: 'changed', area: 'accounts' })
      return teamDto(updated)
    }
  }
})
