// Accounts: scrypt hashes (never plain text in db.json), sessions with expiry and logout, login throttling per
// (name, address) and per address with doubling waits, and the one-time setup token for the first administrator.

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

  it('survive a gateway restart on the same data, stored only as a hash of the token', async () => {
    const gw = await start()
    const token = await gw.loginAs('admin', gw.adminPassword!)
    const ended = await gw.loginAs('admin', gw.adminPassword!)
    await gw.ok('logout', undefined, ended)
    await gw.gateway.stop()
    gateways.splice(gateways.indexOf(gw), 1)
    const again = await start({ dataDir: gw.dataDir })
    try {
      expect((await again.call('whoami', undefined, token)).ok).toBe(true)
      // Signing out is written down too: a restart does not bring the session back.
      expect(await again.call('whoami', undefined, ended)).toMatchObject({ ok: false, error: { code: 'unauthenticated' } })
      await again.services.store.flush()
      for (const name of await fsp.readdir(gw.dataDir, { recursive: true })) {
        const file = path.join(gw.dataDir, name)
        if (!(await fsp.stat(file)).isFile()) continue
        const content = await fsp.readFile(file, 'latin1')
        expect(content, name).not.toContain(token)
        expect(content, name).not.toContain(ended)
      }
      expect(JSON.stringify(again.services.store.data.sessions)).toMatch(/"tokenHash":"[0-9a-f]{64}"/)
    } finally {
      await again.stop()
      await fsp.rm(gw.dataDir, { recursive: true, force: true })
    }
  })

  it('keep their idle limit across a restart', async () => {
    const gw = await start()
    let now = Date.parse('2030-01-01T00:00:00Z')
    const options = { now: () => now, sessionTtlMs: 60_000 }
    gw.services.accounts = new Accounts(gw.services.store, options)
    const token = await gw.loginAs('admin', gw.adminPassword!)
    await gw.services.store.flush()
    // A new Accounts on the same db.json is what a restart builds.
    now += 30_000
    expect(new Accounts(gw.services.store, options).peekUser(token)?.username).toBe('admin')
    now += 30_001
    expect(new Accounts(gw.services.store, options).peekUser(token)).toBeNull()
  })

  it('of a user end at once for every tab and stay ended after a restart', async () => {
    const gw = await start()
    const a = await gw.loginAs('admin', gw.adminPassword!)
    const b = await gw.loginAs('admin', gw.adminPassword!)
    const adminId = gw.services.store.data.users[0]!.id
    await gw.services.accounts.endSessionsOf(adminId)
    expect(gw.services.accounts.peekUser(a)).toBeNull()
    const restarted = new Accounts(gw.services.store)
    expect(restarted.peekUser(a)).toBeNull()
    expect(restarted.peekUser(b)).toBeNull()
  })
})

describe('login throttling', () => {
  const wrong = { ok: false, error: { code: 'unauthenticated', message: 'The username or password is not right.' } }

  it('lets 3 wrong passwords through per name and address, then doubles the wait from 5 s; the right password works after it', async () => {
    const gw = await start()
    const clock = withClock(gw)
    const at = '10.0.0.1'
    for (let i = 0; i < 3; i++) expect(await gw.call('login', { username: 'admin', password: `wrong-${i}` }, null, at)).toEqual(wrong)
    const throttled = await gw.call('login', { username: 'ADMIN', password: gw.adminPassword }, null, at)
    expect(throttled).toMatchObject({
      ok: false,
      error: { code: 'rate_limited', message: 'Too many failed sign-ins. Try again in 5 second(s).' }
    })
    clock.advance(5000)
    expect(await gw.call('login', { username: 'admin', password: 'wrong-3' }, null, at)).toEqual(wrong)
    clock.advance(9000)
    expect(await gw.call('login', { username: 'admin', password: gw.adminPassword }, null, at)).toMatchObject({
      error: { code: 'rate_limited' }
    })
    clock.advance(1000)
    expect((await gw.call('login', { username: 'admin', password: gw.adminPassword }, null, at)).ok).toBe(true)
  })

  it('caps the wait at 15 minutes: about 4 guesses an hour for one name from one address', async () => {
    const gw = await start()
    const clock = withClock(gw)
    let checked = 0
    // Two simulated hours, one attempt every 10 s.
    for (let t = 0; t < 720; t++) {
      const res = await gw.call('login', { username: 'admin', password: 'guess' }, null, '10.0.0.2')
      if (!res.ok && res.error.code === 'unauthenticated') checked++
      clock.advance(10_000)
    }
    // 3 free, then 5 s … 640 s (8 more) in the first ~21 minutes, then one per 15 minutes.
    expect(checked).toBeGreaterThanOrEqual(14)
    expect(checked).toBeLessThanOrEqual(20)
  }, 60_000)

  it('the right password from another address is never held up by guesses elsewhere', async () => {
    const gw = await start()
    withClock(gw)
    for (let i = 0; i < 10; i++) await gw.call('login', { username: 'admin', password: `wrong-${i}` }, null, `10.0.0.${i % 2}`)
    expect((await gw.call('login', { username: 'admin', password: gw.adminPassword }, null, '10.0.0.99')).ok).toBe(true)
  })

  it('slows an address spraying names, but not a name that signed in there before; others wait at most a minute', async () => {
    const gw = await start()
    const clock = withClock(gw)
    await gw.ok('createUser', { username: 'bob', password: 'a long enough password 3' }, await gw.loginAs('admin', gw.adminPassword!))
    const at = '192.0.2.7'
    expect((await gw.call('login', { username: 'admin', password: gw.adminPassword }, null, at)).ok).toBe(true)
    for (let i = 0; i < 10; i++) expect(await gw.call('login', { username: `ghost${i}`, password: 'whatever1' }, null, at)).toEqual(wrong)
    for (let i = 0; i < 7; i++) {
      expect(await gw.call('login', { username: `ghost-late-${i}`, password: 'whatever1' }, null, at)).toMatchObject({
        error: { code: 'rate_limited' }
      })
      clock.advance(2 ** i * 1000)
      expect(await gw.call('login', { username: `ghost-late-${i}`, password: 'whatever1' }, null, at)).toEqual(wrong)
    }
    // admin signed in from here before: not held up by the address's wait.
    expect((await gw.call('login', { username: 'admin', password: gw.adminPassword }, null, at)).ok).toBe(true)
    // bob never did: he waits for the address, which never exceeds a minute.
    expect(await gw.call('login', { username: 'bob', password: 'a long enough password 3' }, null, at)).toMatchObject({
      error: { code: 'rate_limited' }
    })
    clock.advance(60_000)
    expect((await gw.call('login', { username: 'bob', password: 'a long enough password 3' }, null, at)).ok).toBe(true)
  })

  it('forgets failures an hour after the last one', async () => {
    const gw = await start()
    const clock = withClock(gw)
    for (let i = 0; i < 3; i++) await gw.call('login', { username: 'admin', password: 'nope-nope' })
    clock.advance(60 * 60_000 + 1)
    for (let i = 0; i < 3; i++) expect(await gw.call('login', { username: 'admin', password: 'nope-nope' })).toEqual(wrong)
    clock.advance(5000)
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
      expect(await attempt(`guess-${i}`)).toMatchObject({
        ok: false,
        error: { code: 'unauthenticated', message: expect.stringMatching(/setup token is not right/) }
      })
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
