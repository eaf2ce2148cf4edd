// Accounts: scrypt hashes (never plain text in db.json), sessions with expiry and logout, login throttling per
// username and per address, and the one-time setup token for the first administrator.

import fsp from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Accounts } from '../../../gateway/accounts/accounts.ts'
import { hashPassword, passwordProblem, verifyPassword } from '../../../gateway/accounts/passwords.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

const gateways: TestGateway[] = []
afterEach(async () => {
  for (const gw of gateways.splice(0)) await gw.stop()
})

async function start(options: Parameters<typeof startTestGateway>[0] = {}): Promise<TestGateway> {
  const gw = await startTestGateway(options)
  gateways.push(gw)
  return gw
}

/** Replaces the gateway's accounts with one on a clock the test moves. */
function withClock(gw: TestGateway, options: { sessionTtlMs?: number } = {}): { accounts: Accounts; advance(ms: number): void } {
  let now = Date.parse('2030-01-01T00:00:00Z')
  const accounts = new Accounts(gw.services.store, { now: () => now, ...options })
  gw.services.accounts = accounts
  return { accounts, advance: (ms) => (now += ms) }
}

describe('password hashing', () => {
  it('stores scrypt with a random salt and verifies only the right password', async () => {
    const a = await hashPassword('field password 1')
    const b = await hashPassword('field password 1')
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/)
    expect(a).not.toBe(b)
    expect(await verifyPassword('field password 1', a)).toBe(true)
    expect(await verifyPassword('field password 2', a)).toBe(false)
    expect(await verifyPassword('field password 1', 'plain')).toBe(false)
    expect(await verifyPassword('field password 1', 'scrypt$0$8$1$AA==$AA==')).toBe(false)
  })

  it('has a password policy an operator can meet', () => {
    expect(passwordProblem('short')).toMatch(/at least 8/)
    expect(passwordProblem('aaaaaaaaaa')).toMatch(/single repeated character/)
    expect(passwordProblem('a good one')).toBeNull()
  })

  it('never writes a password to db.json', async () => {
    const gw = await start()
    const admin = await gw.loginAs('admin', gw.adminPassword!)
    const org = await gw.ok('createOrganization', { name: 'Alpha' }, admin)
    await gw.ok('createUser', { username: 'alice', password: 'alice-secret-pw', organizationId: org.id }, admin)
    await gw.services.store.flush()
    const db = await fsp.readFile(path.join(gw.dataDir, 'db.json'), 'utf8')
    expect(db).toContain('alice')
    expect(db).not.toContain('alice-secret-pw')
    expect(db).not.toContain(gw.adminPassword!)
    for (const user of gw.services.store.data.users) expect(user.passwordHash).toMatch(/^scrypt\$/)
    expect(await gw.loginAs('alice', 'alice-secret-pw')).toEqual(expect.any(String))
  })
})

describe('sessions', () => {
  it('expire after the idle lifetime, and each use extends them', async () => {
    const gw = await start()
    const clock = withClock(gw, { sessionTtlMs: 60_000 })
    const token = await gw.loginAs('admin', gw.adminPassword!)
    clock.advance(59_000)
    expect((await gw.call('whoami', undefined, token)).ok).toBe(true)
    clock.advance(59_000)
    expect((await gw.call('whoami', undefined, token)).ok).toBe(true)
    clock.advance(60_001)
    expect(await gw.call('whoami', undefined, token)).toMatchObject({ ok: false, error: { code: 'unauthenticated' } })
    // Expired stays expired.
    clock.advance(-60_001)
    expect((await gw.call('whoami', undefined, token)).ok).toBe(false)
  })

  it('end at logout; other sessions of the same user stay', async () => {
    const gw = await start()
    const first = await gw.loginAs('admin', gw.adminPassword!)
    const second = await gw.loginAs('admin', gw.adminPassword!)
    expect(first).not.toBe(second)
    expect(await gw.call('logout', undefined, first)).toEqual({ ok: true, result: null })
    expect(await gw.call('whoami', undefined, first)).toMatchObject({ ok: false, error: { code: 'unauthenticated' } })
    expect(await gw.call('logout', undefined, first)).toMatchObject({ ok: false, error: { code: 'unauthenticated' } })
    expect((await gw.call('whoami', undefined, second)).ok).toBe(true)
  })

  it('end when the gateway restarts (sessions live in memory only)', async () => {
    const gw = await start()
    const token = await gw.loginAs('admin', gw.adminPassword!)
    await gw.gateway.stop()
    const again = await start({ dataDir: gw.dataDir })
    expect(await again.call('whoami', undefined, token)).toMatchObject({ ok: false, error: { code: 'unauthenticated' } })
    expect(await again.loginAs('admin', gw.adminPassword!)).toEqual(expect.any(String))
    await again.stop()
    gateways.splice(gateways.indexOf(gw), 1)
    await fsp.rm(gw.dataDir, { recursive: true, force: true })
  })
})

describe('login throttling', () => {
  it('refuses a username after 5 failures, even with the right password, until the window passes', async () => {
    const gw = await start()
    const clock = withClock(gw)
    for (let i = 0; i < 5; i++) {
      const res = await gw.call('login', { username: 'admin', password: `wrong-${i}` }, null, `10.0.0.${i}`)
      expect(res).toEqual({ ok: false, error: { code: 'unauthenticated', message: 'The username or password is not right.' } })
    }
    const throttled = await gw.call('login', { username: 'ADMIN', password: gw.adminPassword }, null, '10.0.0.99')
    expect(throttled).toMatchObject({ ok: false, error: { code: 'rate_limited' } })
    expect((throttled as { error: { message: string } }).error.message).toMatch(/Too many failed attempts\. Try again in 15 minute/)
    clock.advance(14 * 60_000)
    expect(await gw.call('login', { username: 'admin', password: gw.adminPassword }, null, '10.0.0.99')).toMatchObject({ ok: false, error: { code: 'rate_limited' } })
    clock.advance(60_001)
    expect((await gw.call('login', { username: 'admin', password: gw.adminPassword }, null, '10.0.0.99')).ok).toBe(true)
  })

  it('refuses an address after 5 failures across usernames; other addresses still sign in', async () => {
    const gw = await start()
    withClock(gw)
    for (let i = 0; i < 5; i++) await gw.call('login', { username: `ghost${i}`, password: 'whatever1' }, null, '192.0.2.7')
    expect(await gw.call('login', { username: 'admin', password: gw.adminPassword }, null, '192.0.2.7')).toMatchObject({ ok: false, error: { code: 'rate_limited' } })
    expect((await gw.call('login', { username: 'admin', password: gw.adminPassword }, null, '192.0.2.8')).ok).toBe(true)
  })

  it('forgets failures older than the window', async () => {
    const gw = await start()
    const clock = withClock(gw)
    for (let i = 0; i < 4; i++) await gw.call('login', { username: 'admin', password: 'nope-nope' })
    clock.advance(15 * 60_000 + 1)
    for (let i = 0; i < 4; i++) await gw.call('login', { username: 'admin', password: 'nope-nope' })
    expect((await gw.call('login', { username: 'admin', password: gw.adminPassword })).ok).toBe(true)
  })
})

describe('first administrator with the setup token', () => {
  it('refuses a wrong token, throttles guessing, then creates the admin once', async () => {
    const gw = await start({ adminPassword: null })
    expect(gw.gateway.setupToken).toEqual(expect.any(String))
    expect(await gw.ok('getSetupState')).toMatchObject({ needsFirstAdmin: true })
    const clock = withClock(gw)
    const setupToken = gw.services.accounts.setupToken!
    const attempt = (token: string): ReturnType<TestGateway['call']> =>
      gw.call('setupFirstAdmin', { setupToken: token, username: 'chief', password: 'chief password' }, null, '198.51.100.1')

    for (let i = 0; i < 5; i++) {
      expect(await attempt(`guess-${i}`)).toMatchObject({ ok: false, error: { code: 'unauthenticated', message: expect.stringMatching(/setup token is not right/) } })
    }
    expect(await attempt(setupToken)).toMatchObject({ ok: false, error: { code: 'rate_limited' } })
    expect(gw.services.store.data.users).toEqual([])

    clock.advance(15 * 60_000 + 1)
    const created = await attempt(setupToken)
    expect(created).toMatchObject({ ok: true, result: { token: expect.any(String), user: { username: 'chief', deploymentAdmin: true } } })
    expect(gw.services.accounts.setupToken).toBeNull()
    expect(await gw.ok('getSetupState')).toMatchObject({ needsFirstAdmin: false })
    expect(await attempt(setupToken)).toMatchObject({ ok: false, error: { code: 'conflict' } })
    expect(await attempt('anything')).toMatchObject({ ok: false, error: { code: 'conflict' } })
    expect(gw.services.store.data.users).toHaveLength(1)
    const session = (created as { result: { token: string } }).result.token
    expect((await gw.call('whoami', undefined, session)).ok).toBe(true)
  })

  it('has no setup token when FEDGATE_ADMIN_PASSWORD created the admin', async () => {
    const gw = await start()
    expect(gw.gateway.setupToken).toBeNull()
    expect(await gw.call('setupFirstAdmin', { setupToken: 'x', username: 'chief', password: 'chief password' })).toMatchObject({
      ok: false,
      error: { code: 'conflict' }
    })
  })
})
