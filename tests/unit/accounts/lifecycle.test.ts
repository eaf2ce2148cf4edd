// The whole account lifecycle over HTTP against a real gateway: display names, password reset and change, disable
// and enable, deleting users and teams, and deleting an organization with a live device and a federation on it.

import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startConsoleServer, type ConsoleServer } from '../../../gateway/console/server.ts'
import { fingerprintOf } from '../../../gateway/pki/certificates.ts'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { testPki } from '../../support/pki.ts'
import { TakFederate } from '../../support/tak-federate.ts'

interface Answer {
  ok: boolean
  result?: any
  error?: { code: string; message: string }
}

let gw: TestGateway
let server: ConsoleServer
let admin: string
const quietLog = { info: () => {}, warn: () => {}, error: () => {} }

async function call(method: string, args: unknown, token: string | null): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(args ?? {})
  })
  return (await res.json()) as Answer
}
async function ok(method: string, args: unknown, token: string | null): Promise<any> {
  const r = await call(method, args, token)
  if (!r.ok) throw new Error(`${method}: ${r.error!.code} ${r.error!.message}`)
  return r.result
}
function refused(r: Answer, code: string, message?: RegExp): void {
  expect(r.ok).toBe(false)
  expect(r.error!.code).toBe(code)
  if (message) expect(r.error!.message).toMatch(message)
}
async function login(username: string, password: string): Promise<string> {
  return (await ok('login', { username, password }, null)).token as string
}
async function newUser(username: string, extra: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
  const password = `${username} password 1`
  const user = await ok('createUser', { username, password, ...extra }, admin)
  return { id: user.id, token: await login(username, password) }
}

beforeAll(async () => {
  // The federation port runs only with both settings: the organization-delete test has a live TAK Server peer.
  gw = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-a' } })
  server = await startConsoleServer({ services: gw.services, port: 0, staticDir: null, log: quietLog, maxBodyBytes: 64 * 1024 })
  admin = await login('admin', gw.adminPassword!)
})

afterAll(async () => {
  await server?.close()
  await gw?.stop()
})

describe('users', () => {
  it('edits a display name: an admin for anyone, a user for themself, nobody else', async () => {
    const org = await ok('createOrganization', { name: 'Names' }, admin)
    const ann = await newUser('ann', { organizationId: org.id })
    const bob = await newUser('bob', { organizationId: org.id })
    expect((await ok('updateUser', { id: ann.id, displayName: 'Ann Field' }, admin)).displayName).toBe('Ann Field')
    expect((await ok('updateUser', { id: bob.id, displayName: 'Bob B' }, bob.token)).displayName).toBe('Bob B')
    refused(await call('updateUser', { id: ann.id, displayName: 'Hacked' }, bob.token), 'forbidden', /deployment administrator/)
    expect(gw.services.store.data.users.find((u) => u.id === ann.id)!.displayName).toBe('Ann Field')
    const entry = (await gw.services.audit.page({ limit: 100 })).entries.find((e) => e.action === 'updateUser' && e.target === 'user ann')
    expect(entry).toMatchObject({ actor: 'admin', details: { from: 'ann', to: 'Ann Field' } })
  })

  it('resets a password: shown once, the old one and every session end, only an admin may', async () => {
    const cat = await newUser('cat')
    const dan = await newUser('dan')
    refused(await call('resetUserPassword', { id: cat.id }, dan.token), 'forbidden')
    const { password } = await ok('resetUserPassword', { id: cat.id }, admin)
    expect(password).toMatch(/^[A-Za-z2-9]{16}$/)
    refused(await call('whoami', {}, cat.token), 'unauthenticated')
    refused(await call('login', { username: 'cat', password: 'cat password 1' }, null), 'unauthenticated')
    expect((await ok('whoami', {}, await login('cat', password))).user.username).toBe('cat')
    expect(JSON.stringify(gw.services.store.data)).not.toContain(password)
  })

  it('changes my own password: asks the current one, throttles guesses, keeps this session and ends the others', async () => {
    const eve = await newUser('eve')
    const elsewhere = await login('eve', 'eve password 1')
    refused(
      await call('changeMyPassword', { currentPassword: 'wrong one', newPassword: 'a new password' }, eve.token),
      'invalid',
      /current password/
    )
    await ok('changeMyPassword', { currentPassword: 'eve password 1', newPassword: 'a new password' }, eve.token)
    expect((await ok('whoami', {}, eve.token)).user.username).toBe('eve')
    refused(await call('whoami', {}, elsewhere), 'unauthenticated')
    refused(await call('login', { username: 'eve', password: 'eve password 1' }, null), 'unauthenticated')
    await login('eve', 'a new password')
    let last: Answer | null = null
    for (let i = 0; i < 12 && last?.error?.code !== 'rate_limited'; i++) {
      last = await call('changeMyPassword', { currentPassword: `guess ${i}`, newPassword: 'another password' }, eve.token)
    }
    refused(last!, 'rate_limited', /Try again/)
  })

  it('disables and enables: sessions end at once, sign-in refused, then allowed again; never yourself', async () => {
    const fay = await newUser('fay')
    await ok('setUserDisabled', { id: fay.id, disabled: true }, admin)
    // Ended in db.json by the call itself, not only refused when next used.
    expect(gw.services.store.data.sessions!.some((s) => s.userId === fay.id)).toBe(false)
    refused(await call('whoami', {}, fay.token), 'unauthenticated')
    refused(await call('login', { username: 'fay', password: 'fay password 1' }, null), 'unauthenticated', /disabled/)
    const back = await ok('setUserDisabled', { id: fay.id, disabled: false }, admin)
    expect(back.disabled).toBe(false)
    const fayAgain = await login('fay', 'fay password 1')
    const adminId = (await ok('whoami', {}, admin)).user.id
    refused(await call('setUserDisabled', { id: adminId, disabled: true }, admin), 'conflict', /last deployment administrator/)
    refused(await call('setUserDisabled', { id: adminId, disabled: true }, fayAgain), 'forbidden')
    refused(await call('setUserDisabled', { id: back.id, disabled: true }, fayAgain), 'invalid', /your own account/)
  })

  it('refuses a disabled user’s session even if db.json still holds it (restored from a backup)', async () => {
    const kay = await newUser('kay')
    // As a db.json from before the disable would be: the flag set, the session still there.
    await gw.services.store.update((doc) => {
      doc.users.find((u) => u.id === kay.id)!.disabled = true
    })
    expect(gw.services.store.data.sessions!.some((s) => s.userId === kay.id)).toBe(true)
    refused(await call('whoami', {}, kay.token), 'unauthenticated')
  })

  it('deletes a user with their team memberships; never the last deployment admin, never yourself', async () => {
    const org = await ok('createOrganization', { name: 'Deletions' }, admin)
    const gus = await newUser('gus', { organizationId: org.id })
    const team = await ok('createTeam', { organizationId: org.id, name: 'Watch' }, admin)
    await ok('setTeamMembers', { teamId: team.id, memberIds: [gus.id] }, admin)
    refused(await call('deleteUser', { id: gus.id }, gus.token), 'invalid', /your own account/)
    await ok('deleteUser', { id: gus.id }, admin)
    refused(await call('whoami', {}, gus.token), 'unauthenticated')
    expect(gw.services.store.data.teams.find((t) => t.id === team.id)!.memberIds).toEqual([])
    const adminId = (await ok('whoami', {}, admin)).user.id
    refused(await call('deleteUser', { id: adminId }, admin), 'conflict', /last deployment administrator/)
    const second = await newUser('second', { deploymentAdmin: true })
    refused(await call('deleteUser', { id: second.id }, second.token), 'invalid', /your own account/)
    await ok('deleteUser', { id: second.id }, admin)
  })
})

describe('teams', () => {
  it('renames and deletes a team with its grants; only an organization admin may', async () => {
    const org = await ok('createOrganization', { name: 'Teams Org' }, admin)
    const net = await ok('createNetwork', { organizationId: org.id, name: 'Net' }, admin)
    const member = await newUser('hal', { organizationId: org.id })
    const team = await ok('createTeam', { organizationId: org.id, name: 'Red' }, admin)
    await ok('createTeam', { organizationId: org.id, name: 'Blue' }, admin)
    await ok('setTeamGrants', { teamId: team.id, grants: [{ networkId: net.id, permissions: ['manageDevices'] }] }, admin)
    refused(await call('renameTeam', { id: team.id, name: 'Green' }, member.token), 'forbidden')
    refused(await call('renameTeam', { id: team.id, name: 'blue' }, admin), 'conflict', /already exists/)
    expect((await ok('renameTeam', { id: team.id, name: 'Green' }, admin)).name).toBe('Green')
    refused(await call('deleteTeam', { id: team.id }, member.token), 'forbidden')
    await ok('deleteTeam', { id: team.id }, admin)
    const names = (await ok('listTeams', { organizationId: org.id }, admin)).map((t: { name: string }) => t.name)
    expect(names).toEqual(['Blue'])
    expect(JSON.stringify(gw.services.store.data.teams)).not.toContain('manageDevices')
  })
})

describe('deleting an organization', () => {
  it('needs its name typed exactly and a deployment admin', async () => {
    const org = await ok('createOrganization', { name: 'Typed' }, admin)
    const orgAdmin = await newUser('ivy', { organizationId: org.id, organizationAdmin: true })
    refused(await call('deleteOrganization', { id: org.id, confirmName: 'typed' }, admin), 'invalid', /'Typed'/)
    refused(await call('deleteOrganization', { id: org.id, confirmName: 'Typed' }, orgAdmin.token), 'forbidden')
    expect(gw.services.store.data.organizations.some((o) => o.id === org.id)).toBe(true)
  })

  it('revokes its devices and closes them, ends federations with other organizations, removes peers and teams', async () => {
    const alpha = await ok('createOrganization', { name: 'Alpha' }, admin)
    const bravo = await ok('createOrganization', { name: 'Bravo' }, admin)
    const a1 = await ok('createNetwork', { organizationId: alpha.id, name: 'Alpha North' }, admin)
    const b1 = await ok('createNetwork', { organizationId: bravo.id, name: 'Bravo Main' }, admin)
    const code = await ok('generateFederationCode', { networkId: a1.id }, admin)
    await ok('redeemFederationCode', { networkId: b1.id, code: code.code }, admin)
    expect(await ok('listFederations', { networkId: b1.id }, admin)).toHaveLength(1)
    const tak = await testPki({ freshCa: true, hostname: 'tak-far.test', federateId: 'tak-far' })
    const takFed = tak.pki.federation!
    const peer = await ok('addExternalPeer', { networkId: a1.id, fingerprint: takFed.fingerprint, displayName: 'Far TAK' }, admin)
    const federate = new TakFederate({
      port: gw.services.ports.federation,
      ca: gw.services.pki.caCertPem,
      key: takFed.keyPem,
      certChain: `${takFed.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
      name: 'tak-far-out',
      healthIntervalMs: 200
    }).start()
    await federate.serving()
    const team = await ok('createTeam', { organizationId: alpha.id, name: 'Alpha Ops' }, admin)
    const member = await newUser('jon', { organizationId: alpha.id })

    const identity = await enrollIdentity(gw, admin, a1.id, 'ALPHA-1')
    const port = gw.services.ports.streaming
    const device = await DeviceClient.connect({ port, cert: identity.cert, key: identity.key, ca: identity.ca })
    await device.waitFor((e) => e.type === 't-x-takp-v')

    await ok('deleteOrganization', { id: alpha.id, confirmName: ' Alpha ' }, admin)
    await device.closed
    // The TAK Server's live session ends too, not only its record.
    expect((await federate.sessionEnd(3000)).code).not.toBe(0)
    federate.close()
    tak.cleanup()

    const journal = fs.readFileSync(path.join(gw.dataDir, 'pki', 'revocations.ndjson'), 'utf8')
    expect(journal).toContain(identity.deviceId)
    expect(journal).toContain(peer.id)
    expect(gw.services.pki.revocations.deviceRevoked(fingerprintOf(identity.cert))).toBe(true)
    const again = await DeviceClient.connect({ port, cert: identity.cert, key: identity.key, ca: identity.ca }).catch(() => null)
    if (again) {
      await again.closed
      expect(again.received).toEqual([])
    }

    expect(await ok('listFederations', { networkId: b1.id }, admin)).toEqual([])
    const data = gw.services.store.data
    expect(data.organizations.map((o) => o.name)).not.toContain('Alpha')
    expect(data.networks.some((n) => n.id === a1.id)).toBe(false)
    expect(data.externalPeers.some((p) => p.id === peer.id)).toBe(false)
    expect(data.teams.some((t) => t.id === team.id)).toBe(false)
    expect(data.users.find((u) => u.id === member.id)!.memberships).toEqual([])
    expect(data.networks.some((n) => n.id === b1.id)).toBe(true)
  })
})
