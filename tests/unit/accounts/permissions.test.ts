// The permission rules of docs/ARCHITECTURE.md §5 as gateway/accounts/accounts.ts decides them, checked through dispatch()
// of real methods: deployment admin, organization admins, team grants per network, other organizations, outsiders.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NetworkDto, OrganizationDto, Permission, TeamDto } from '../../../gateway/api/contract.ts'
import { PERMISSIONS } from '../../../gateway/api/contract.ts'
import type { UserRecord } from '../../../gateway/store/schema.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

let gw: TestGateway
const tokens: Record<string, string> = {}
let alpha: OrganizationDto
let bravo: OrganizationDto
let a1: NetworkDto
let a2: NetworkDto
let b1: NetworkDto
let ops: TeamDto

const PASSWORD = 'a long enough password'
const user = (name: string): UserRecord => gw.services.store.data.users.find((u) => u.username === name)!

beforeAll(async () => {
  gw = await startTestGateway()
  const admin = await gw.loginAs('admin', gw.adminPassword!)
  tokens.admin = admin
  alpha = await gw.ok('createOrganization', { name: 'Alpha' }, admin)
  bravo = await gw.ok('createOrganization', { name: 'Bravo' }, admin)
  a1 = await gw.ok('createNetwork', { organizationId: alpha.id, name: 'A1' }, admin)
  a2 = await gw.ok('createNetwork', { organizationId: alpha.id, name: 'A2' }, admin)
  b1 = await gw.ok('createNetwork', { organizationId: bravo.id, name: 'B1' }, admin)
  await gw.ok('createUser', { username: 'alphaadmin', password: PASSWORD, organizationId: alpha.id, organizationAdmin: true }, admin)
  await gw.ok('createUser', { username: 'alice', password: PASSWORD, organizationId: alpha.id }, admin)
  await gw.ok('createUser', { username: 'bob', password: PASSWORD, organizationId: alpha.id }, admin)
  await gw.ok('createUser', { username: 'bravouser', password: PASSWORD, organizationId: bravo.id }, admin)
  await gw.ok('createUser', { username: 'nobody', password: PASSWORD }, admin)
  for (const name of ['alphaadmin', 'alice', 'bob', 'bravouser', 'nobody']) tokens[name] = await gw.loginAs(name, PASSWORD)
  // The organization admin (not the deployment admin) builds the team: that is their job.
  ops = await gw.ok('createTeam', { organizationId: alpha.id, name: 'Ops' }, tokens.alphaadmin)
  await gw.ok('setTeamMembers', { teamId: ops.id, memberIds: [user('alice').id] }, tokens.alphaadmin)
  await gw.ok(
    'setTeamGrants',
    { teamId: ops.id, grants: [{ networkId: a1.id, permissions: ['manageDevices', 'federateWithinOrganization'] }] },
    tokens.alphaadmin
  )
}, 60_000)

afterAll(async () => {
  await gw?.stop()
})

async function expectCode(method: string, args: unknown, who: string, code: string): Promise<string> {
  const res = await gw.call(method, args, tokens[who])
  expect(res, `${who} → ${method}`).toMatchObject({ ok: false, error: { code } })
  return (res as { error: { message: string } }).error.message
}

describe('who holds which permission (Accounts.permissionsOn)', () => {
  const on = (name: string, network: NetworkDto): Permission[] => gw.services.accounts.permissionsOn(user(name), network.id)

  it('gives deployment and organization admins everything on their networks only', () => {
    expect(on('admin', b1)).toEqual([...PERMISSIONS])
    expect(on('alphaadmin', a1)).toEqual([...PERMISSIONS])
    expect(on('alphaadmin', a2)).toEqual([...PERMISSIONS])
    expect(on('alphaadmin', b1)).toEqual([])
  })

  it('gives members exactly their teams’ grants on each network', () => {
    expect(on('alice', a1)).toEqual(['federateWithinOrganization', 'manageDevices'])
    expect(on('alice', a2)).toEqual([])
    expect(on('bob', a1)).toEqual([])
    expect(on('bravouser', a1)).toEqual([])
    expect(on('nobody', a1)).toEqual([])
  })

  it('shows each user only the networks of their organizations (whoami)', async () => {
    const alice = await gw.ok('whoami', undefined, tokens.alice)
    expect(alice.networkPermissions).toEqual({ [a1.id]: ['federateWithinOrganization', 'manageDevices'], [a2.id]: [] })
    expect(alice.adminOf).toEqual([])
    expect((await gw.ok('whoami', undefined, tokens.alphaadmin)).adminOf).toEqual([alpha.id])
    const nobody = await gw.ok('whoami', undefined, tokens.nobody)
    expect(nobody).toMatchObject({ networkPermissions: {}, adminOf: [] })
    expect(await gw.ok('listOrganizations', undefined, tokens.nobody)).toEqual([])
    expect((await gw.ok('listOrganizations', undefined, tokens.bob)).map((o) => o.name)).toEqual(['Alpha'])
  })
})

describe('enforced by dispatch on real methods', () => {
  it('lets only organization admins create, rename and delete networks in their organization', async () => {
    expect(await expectCode('createNetwork', { organizationId: alpha.id, name: 'X' }, 'alice', 'forbidden')).toMatch(
      /administrator of this organization/
    )
    await expectCode('createNetwork', { organizationId: bravo.id, name: 'X' }, 'alphaadmin', 'forbidden')
    await expectCode('renameNetwork', { id: b1.id, name: 'Mine' }, 'alphaadmin', 'forbidden')
    await expectCode('deleteNetwork', { id: a1.id }, 'alice', 'forbidden')
    const created = await gw.ok('createNetwork', { organizationId: alpha.id, name: 'A3' }, tokens.alphaadmin)
    await gw.ok('renameNetwork', { id: created.id, name: 'A3 renamed' }, tokens.alphaadmin)
    await gw.ok('deleteNetwork', { id: created.id }, tokens.alphaadmin)
    expect(gw.services.store.data.networks.map((n) => n.name).sort()).toEqual(['A1', 'A2', 'B1'])
  })

  it('lists networks to members, never to other organizations or outsiders', async () => {
    expect((await gw.ok('listNetworks', { organizationId: alpha.id }, tokens.bob)).map((n) => n.name)).toEqual(['A1', 'A2'])
    await expectCode('listNetworks', { organizationId: alpha.id }, 'bravouser', 'forbidden')
    await expectCode('listNetworks', { organizationId: alpha.id }, 'nobody', 'forbidden')
    await expectCode('listTeams', { organizationId: alpha.id }, 'nobody', 'forbidden')
    await expectCode('listUsers', { organizationId: bravo.id }, 'alice', 'forbidden')
    await expectCode('listUsers', undefined, 'alphaadmin', 'forbidden')
    await expectCode('listAuditLog', undefined, 'alphaadmin', 'forbidden')
    await expectCode('listAuditLog', { organizationId: bravo.id }, 'alice', 'forbidden')
  })

  it('keeps team management with organization admins, inside their organization', async () => {
    await expectCode('createTeam', { organizationId: alpha.id, name: 'Mine' }, 'alice', 'forbidden')
    await expectCode('setTeamMembers', { teamId: ops.id, memberIds: [user('bob').id] }, 'alice', 'forbidden')
    await expectCode(
      'setTeamGrants',
      { teamId: ops.id, grants: [{ networkId: a2.id, permissions: ['manageDevices'] }] },
      'alice',
      'forbidden'
    )
    expect(
      await expectCode(
        'setTeamGrants',
        { teamId: ops.id, grants: [{ networkId: b1.id, permissions: ['manageDevices'] }] },
        'alphaadmin',
        'invalid'
      )
    ).toBe("Network 'B1' belongs to another organization.")
    expect(await expectCode('setTeamMembers', { teamId: ops.id, memberIds: [user('bravouser').id] }, 'alphaadmin', 'invalid')).toMatch(
      /not a member of this team's organization/
    )
    await expectCode('createTeam', { organizationId: bravo.id, name: 'Theirs' }, 'alphaadmin', 'forbidden')
    expect(gw.services.store.data.teams.map((t) => t.name)).toEqual(['Ops'])
  })

  it('keeps organizations and administrators with the deployment admin', async () => {
    await expectCode('createOrganization', { name: 'Charlie' }, 'alphaadmin', 'forbidden')
    await expectCode('updateOrganization', { id: alpha.id, plan: 'enterprise' }, 'alphaadmin', 'forbidden')
    await expectCode('createUser', { username: 'evil', password: PASSWORD, organizationId: bravo.id }, 'alphaadmin', 'forbidden')
    await expectCode(
      'createUser',
      { username: 'evil', password: PASSWORD, organizationId: alpha.id, deploymentAdmin: true },
      'alphaadmin',
      'forbidden'
    )
    await expectCode('createUser', { username: 'evil', password: PASSWORD, organizationId: alpha.id }, 'alice', 'forbidden')
    const carol = await gw.ok('createUser', { username: 'carol', password: PASSWORD, organizationId: alpha.id }, tokens.alphaadmin)
    expect(carol.memberships).toEqual([{ organizationId: alpha.id, admin: false }])
    expect(gw.services.store.data.users.some((u) => u.username === 'evil')).toBe(false)
  })

  it('needs a network permission on both networks to federate them, through a team grant', async () => {
    const message = await expectCode('federateWithinOrganization', { networkId: a1.id, otherNetworkId: a2.id }, 'alice', 'forbidden')
    expect(message).toBe(
      "You need the 'Federate within organization' permission on network 'A2'. Ask an administrator of your organization for it."
    )
    await expectCode('federateWithinOrganization', { networkId: a1.id, otherNetworkId: a2.id }, 'bob', 'forbidden')
    await gw.ok(
      'setTeamGrants',
      {
        teamId: ops.id,
        grants: [
          { networkId: a1.id, permissions: ['manageDevices', 'federateWithinOrganization'] },
          { networkId: a2.id, permissions: ['federateWithinOrganization'] }
        ]
      },
      tokens.alphaadmin
    )
    expect((await gw.call('federateWithinOrganization', { networkId: a1.id, otherNetworkId: a2.id }, tokens.alice)).ok).toBe(true)
    // Removing alice from the team takes the permission away at once.
    await gw.ok('setTeamMembers', { teamId: ops.id, memberIds: [] }, tokens.alphaadmin)
    expect(gw.services.accounts.permissionsOn(user('alice'), a1.id)).toEqual([])
  })
})
