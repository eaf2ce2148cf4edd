// Sessions, organizations, users and teams: their methods' arguments and results.

import { Type, type Static } from '@sinclair/typebox'
import { PERMISSIONS, PLANS } from '../vocabulary.ts'
import { Args, Dto, Id, Int, Iso, Name, NoArgs, Nothing, Nullable, OneOf, Text, methods } from './fields.ts'

const Username = () => Text({ min: 1, max: 64, pattern: /^[A-Za-z0-9._@-]+$/ })
const Password = () => Text({ min: 1, max: 256, trim: false })
const Permission = OneOf(PERMISSIONS)

export const OrganizationDto = Dto({
  id: Type.String(),
  name: Type.String(),
  plan: OneOf(PLANS),
  tokenLimit: Type.Integer(),
  tokensUsed: Type.Integer({ description: 'Tokens in use: one per registered external peer.' }),
  createdAt: Iso()
})
export type OrganizationDto = Static<typeof OrganizationDto>

export const OrgMembershipDto = Dto({ organizationId: Type.String(), admin: Type.Boolean() })
export type OrgMembershipDto = Static<typeof OrgMembershipDto>

export const UserDto = Dto({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  deploymentAdmin: Type.Boolean(),
  memberships: Type.Array(OrgMembershipDto),
  createdAt: Iso(),
  disabled: Type.Optional(Type.Boolean({ description: 'True when the user cannot sign in; their sessions ended when they were disabled.' }))
})
export type UserDto = Static<typeof UserDto>

export const GrantDto = Dto({ networkId: Type.String(), permissions: Type.Array(Permission) })
export type GrantDto = Static<typeof GrantDto>

export const TeamDto = Dto({
  id: Type.String(),
  organizationId: Type.String(),
  name: Type.String(),
  memberIds: Type.Array(Type.String()),
  grants: Type.Array(GrantDto)
})
export type TeamDto = Static<typeof TeamDto>

export const WhoAmI = Dto(
  {
    user: UserDto,
    networkPermissions: Type.Record(Type.String(), Type.Array(Permission), {
      description: 'networkId → permissions the user holds on it (through any team, or as organization admin).'
    }),
    adminOf: Type.Array(Type.String(), { description: 'organizationIds where the user is an organization admin.' })
  },
  'What the signed-in user may do, so the UI can hide buttons (the gateway checks again).'
)
export type WhoAmI = Static<typeof WhoAmI>

export const LoginResult = Dto({ token: Type.String(), user: UserDto, expiresAt: Iso() })
export type LoginResult = Static<typeof LoginResult>

export const StoreRecoveryNotice = Dto({
  at: Iso(),
  movedTo: Type.String(),
  restoredFrom: OneOf(['backup', 'empty'] as const),
  message: Type.String()
})
export type StoreRecoveryNotice = Static<typeof StoreRecoveryNotice>

export const SetupState = Dto({
  needsFirstAdmin: Type.Boolean({ description: 'True while no user exists: the console shows the first-administrator screen.' }),
  storeRecovery: Nullable(StoreRecoveryNotice)
})
export type SetupState = Static<typeof SetupState>

export const OneTimePassword = Dto(
  { password: Type.String({ description: 'Shown once to the administrator who reset it; only its hash is kept.' }) },
  'A new password for a user, to be read out or handed over once.'
)
export type OneTimePassword = Static<typeof OneTimePassword>

export const accountSchemas = methods({
  getSetupState: { args: NoArgs(), result: SetupState },
  setupFirstAdmin: {
    summary: 'Creates the first deployment administrator (only while no user exists, with the setup token).',
    args: Args({ setupToken: Text({ min: 1, max: 200 }), username: Username(), password: Password(), displayName: Type.Optional(Name()) }),
    result: LoginResult
  },
  login: { args: Args({ username: Text({ min: 1, max: 64 }), password: Password() }), result: LoginResult },
  logout: { args: NoArgs(), result: Nothing() },
  whoami: { args: NoArgs(), result: WhoAmI },
  listOrganizations: { args: NoArgs(), result: Type.Array(OrganizationDto) },
  createOrganization: {
    args: Args({ name: Name(), plan: Type.Optional(OneOf(PLANS)), tokenLimit: Type.Optional(Int({ min: 0, max: 100_000 })) }),
    result: OrganizationDto
  },
  updateOrganization: {
    args: Args({
      id: Id(),
      name: Type.Optional(Name()),
      plan: Type.Optional(OneOf(PLANS)),
      tokenLimit: Type.Optional(Int({ min: 0, max: 100_000 }))
    }),
    result: OrganizationDto
  },
  deleteOrganization: {
    summary: 'Deletes an organization with everything under it (deployment administrators only).',
    args: Args({ id: Id(), confirmName: Text({ min: 1, max: 200, description: "The organization's name, typed by the operator." }) }),
    result: Nothing()
  },
  updateUser: { args: Args({ id: Id(), displayName: Name() }), result: UserDto },
  resetUserPassword: {
    summary: 'Sets a new random password and ends the user’s sessions.',
    args: Args({ id: Id() }),
    result: OneTimePassword
  },
  changeMyPassword: { args: Args({ currentPassword: Password(), newPassword: Password() }), result: Nothing() },
  setUserDisabled: { args: Args({ id: Id(), disabled: Type.Boolean() }), result: UserDto },
  deleteUser: { args: Args({ id: Id() }), result: Nothing() },
  renameTeam: { args: Args({ id: Id(), name: Name() }), result: TeamDto },
  deleteTeam: { args: Args({ id: Id() }), result: Nothing() },
  listUsers: { args: Type.Optional(Args({ organizationId: Type.Optional(Id()) })), result: Type.Array(UserDto) },
  createUser: {
    args: Args({
      username: Username(),
      password: Password(),
      displayName: Type.Optional(Name()),
      organizationId: Type.Optional(Id()),
      organizationAdmin: Type.Optional(Type.Boolean()),
      deploymentAdmin: Type.Optional(Type.Boolean())
    }),
    result: UserDto
  },
  listTeams: { args: Args({ organizationId: Id() }), result: Type.Array(TeamDto) },
  createTeam: { args: Args({ organizationId: Id(), name: Name() }), result: TeamDto },
  setTeamMembers: { args: Args({ teamId: Id(), memberIds: Type.Array(Id(), { maxItems: 1000 }) }), result: TeamDto },
  setTeamGrants: {
    args: Args({
      teamId: Id(),
      grants: Type.Array(Args({ networkId: Id(), permissions: Type.Array(Permission, { maxItems: PERMISSIONS.length * 2 }) }), {
        maxItems: 1000
      })
    }),
    result: TeamDto
  }
})
