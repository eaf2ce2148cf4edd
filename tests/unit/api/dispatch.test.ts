// dispatch() against bad input: unknown methods, wrong or unknown or missing fields, missing or bogus tokens,
// prototype-pollution bodies. Each answers its documented code with a sentence and leaves db.json and the audit
// log byte for byte as they were; no answer and no log line carries a password or a token.

import fsp from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DispatchResult } from '../../../gateway/api/dispatch.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

let gw: TestGateway
let admin: string
let orgId: string
let teamId: string
const responses: DispatchResult[] = []

const USER_PASSWORD = 'alice field password'

beforeAll(async () => {
  gw = await startTestGateway()
  admin = await gw.loginAs('admin', gw.adminPassword!)
  orgId = (await gw.ok('createOrganization', { name: 'Alpha' }, admin)).id
  teamId = (await gw.ok('createTeam', { organizationId: orgId, name: 'Ops' }, admin)).id
  await gw.ok('createUser', { username: 'alice', password: USER_PASSWORD, organizationId: orgId }, admin)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
})

async function snapshot(): Promise<{ db: Buffer; audit: Buffer }> {
  await gw.services.store.flush()
  return { db: await fsp.readFile(path.join(gw.dataDir, 'db.json')), audit: await fsp.readFile(path.join(gw.dataDir, 'audit.ndjson')) }
}

/** Calls dispatch, expects the error code, and checks that nothing was stored. Returns the message. */
async function refused(method: string, args: unknown, token: string | null, code: string): Promise<string> {
  const before = await snapshot()
  const res = await gw.call(method, args, token)
  responses.push(res)
  expect(res, `${method} ${JSON.stringify(args)}`).toMatchObject({ ok: false, error: { code } })
  const message = (res as { error: { message: string } }).error.message
  // A sentence for an operator, not a stack trace.
  expect(message).toMatch(/^[A-Z'].*[.)]$/)
  expect(message).not.toMatch(/\n|at .*\.ts:\d+/)
  const after = await snapshot()
  expect(after.db.equals(before.db), 'db.json changed').toBe(true)
  expect(after.audit.equals(before.audit), 'audit.ndjson changed').toBe(true)
  return message
}

describe('dispatch refuses bad input with the documented codes and stores nothing', () => {
  it('answers not_found for unknown methods, including inherited property names', async () => {
    expect(await refused('noSuchMethod', {}, admin, 'not_found')).toBe("There is no method 'noSuchMethod'.")
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '']) await refused(name, {}, admin, 'not_found')
    expect(await refused('x'.repeat(5000), {}, admin, 'not_found')).toHaveLength("There is no method ''.".length + 80)
  })

  it('answers unauthenticated without a token, with a bogus one, before looking at the arguments', async () => {
    expect(await refused('createOrganization', { name: 'Bravo' }, null, 'unauthenticated')).toMatch(/sign in/)
    await refused('createOrganization', { name: 'Bravo' }, 'bogus-token', 'unauthenticated')
    await refused('createOrganization', { nonsense: true }, '', 'unauthenticated')
    await refused('whoami', undefined, `${admin}x`, 'unauthenticated')
    await refused('listNetworks', { organizationId: orgId }, admin.slice(0, -1), 'unauthenticated')
  })

  it('answers invalid for wrong types, unknown and missing fields, naming the field', async () => {
    expect(await refused('createOrganization', { name: 5 }, admin, 'invalid')).toBe("'name' must be text.")
    expect(await refused('createOrganization', {}, admin, 'invalid')).toBe("'name' must be text.")
    expect(await refused('createOrganization', { name: '   ' }, admin, 'invalid')).toBe("'name' must not be empty.")
    expect(await refused('createOrganization', { name: 'Bravo', extra: 1 }, admin, 'invalid')).toBe("Unknown field 'extra'.")
    expect(await refused('createOrganization', { name: 'Bravo', plan: 'gold' }, admin, 'invalid')).toBe(
      "'plan' must be one of: free, team, enterprise."
    )
    expect(await refused('createOrganization', { name: 'Bravo', tokenLimit: 1.5 }, admin, 'invalid')).toBe(
      "'tokenLimit' must be a whole number."
    )
    expect(await refused('createOrganization', ['Bravo'], admin, 'invalid')).toBe('The argument must be an object.')
    expect(await refused('createOrganization', 'Bravo', admin, 'invalid')).toBe('The argument must be an object.')
    expect(await refused('createOrganization', null, admin, 'invalid')).toBe('The argument must be an object.')
    expect(await refused('whoami', { a: 1 }, admin, 'invalid')).toMatch(/takes no arguments/)
    expect(
      await refused('setTeamGrants', { teamId, grants: [{ networkId: 'net_x', permissions: ['everything'] }] }, admin, 'invalid')
    ).toMatch(/^'grants\[0\]\.permissions\[0\]' must be one of: /)
    expect(await refused('setTeamGrants', { teamId, grants: [{ networkId: 'net_x', permissions: [], more: 1 }] }, admin, 'invalid')).toBe(
      "Unknown field 'grants[0].more'."
    )
    expect(await refused('login', { username: 'admin' }, null, 'invalid')).toBe("'password' must be text.")
  })

  it('refuses prototype-pollution bodies and leaves Object.prototype alone', async () => {
    const bodies = [
      '{"__proto__": {"polluted": "yes"}, "name": "Bravo"}',
      '{"constructor": {"prototype": {"polluted": "yes"}}, "name": "Bravo"}',
      '{"name": "Bravo", "prototype": {"polluted": "yes"}}'
    ]
    for (const body of bodies) {
      const message = await refused('createOrganization', JSON.parse(body), admin, 'invalid')
      expect(message).toMatch(/^Unknown field '(__proto__|constructor|prototype)'\.$/)
    }
    await refused('login', JSON.parse('{"__proto__": {"polluted": "yes"}, "username": "admin", "password": "x"}'), null, 'invalid')
    await refused('whoami', JSON.parse('{"__proto__": {"polluted": "yes"}}'), admin, 'invalid')
    await refused(
      'setTeamGrants',
      JSON.parse(`{"teamId": "${teamId}", "grants": [{"__proto__": {"polluted": "yes"}, "networkId": "n", "permissions": []}]}`),
      admin,
      'invalid'
    )
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
    expect(gw.services.store.data.organizations.map((o) => o.name)).toEqual(['Alpha'])
  })

  it('answers forbidden for a signed-in user without the right, storing nothing', async () => {
    const alice = await gw.loginAs('alice', USER_PASSWORD)
    await refused('createOrganization', { name: 'Bravo' }, alice, 'forbidden')
    await refused('createNetwork', { organizationId: orgId, name: 'N' }, alice, 'forbidden')
  })
})

describe('secrets stay out of answers and logs', () => {
  it('never echoes a password or a token', async () => {
    const secrets = [gw.adminPassword!, USER_PASSWORD, 'Wr0ng-but-close-password', 'new user password 1']
    const collect = async (method: string, args: unknown, token: string | null = null): Promise<DispatchResult> => {
      const res = await gw.call(method, args, token)
      responses.push(res)
      return res
    }
    const login = await collect('login', { username: 'alice', password: USER_PASSWORD })
    const aliceToken = (login as { result: { token: string } }).result.token
    await collect('login', { username: 'alice', password: 'Wr0ng-but-close-password' })
    await collect('login', { username: USER_PASSWORD, password: USER_PASSWORD })
    await collect('createUser', { username: 'dave', password: 'new user password 1', organizationId: orgId }, admin)
    await collect('createUser', { username: 'dave', password: 'new user password 1', organizationId: orgId }, admin)
    await collect('createUser', { username: 'eve', password: 'new user password 1', bogus: USER_PASSWORD }, admin)
    await collect('whoami', undefined, `${aliceToken}tampered`)
    await collect('getDeploymentSettings', undefined, admin)
    await collect('listAuditLog', undefined, admin)
    await collect('setupFirstAdmin', { setupToken: aliceToken, username: 'x', password: USER_PASSWORD })
    await collect('logout', undefined, aliceToken)
    await gw.services.store.flush()

    const tokens = [admin, aliceToken]
    const answers = JSON.stringify(
      responses.map((r) =>
        r.ok && r.result && typeof r.result === 'object' && 'token' in r.result
          ? { ...r, result: { ...r.result, token: '[own token]' } }
          : r
      )
    )
    const logs = gw.logs.join('\n')
    const audit = await fsp.readFile(path.join(gw.dataDir, 'audit.ndjson'), 'utf8')
    const db = await fsp.readFile(path.join(gw.dataDir, 'db.json'), 'utf8')
    for (const secret of [...secrets, ...tokens]) {
      expect(answers.includes(secret), `an answer carries ${secret.slice(0, 4)}…`).toBe(false)
      expect(logs.includes(secret), `a log line carries ${secret.slice(0, 4)}…`).toBe(false)
      expect(audit.includes(secret), `the audit log carries ${secret.slice(0, 4)}…`).toBe(false)
      expect(db.includes(secret), `db.json carries ${secret.slice(0, 4)}…`).toBe(false)
    }
    expect(responses.length).toBeGreaterThan(30)
  })
})
