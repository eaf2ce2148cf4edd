// Local federation through the contract: within an organization, codes across organizations (generate,
// regenerate, clear, single use, expiry, throttling, wrong-organization cases), end toggles, stop, plans.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, type Gateway } from '../../../gateway/index.ts'
import { dispatch, type DispatchResult } from '../../../gateway/api/dispatch.ts'
import { createLogger } from '../../../gateway/log.ts'

interface Harness {
  gw: Gateway
  dir: string
  call(method: string, args: unknown, token?: string | null): Promise<DispatchResult>
  ok<T = any>(method: string, args: unknown, token?: string | null): Promise<T>
  admin: string
}

async function harness(env: Record<string, string> = {}): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-localfed-'))
  const gw = await startGateway({
    dataDir: dir,
    env: {
      FEDGATE_ADMIN_PASSWORD: 'field-admin-pass',
      Streaming__TlsPort: '0',
      Federation__Port: '0',
      Marti__Port: '0',
      Enrollment__Port: '0',
      ...env
    },
    log: createLogger(() => {}, true)
  })
  const call = (method: string, args: unknown, token: string | null = null) =>
    dispatch(gw.services, method, args, { token, address: '127.0.0.1' })
  const ok = async <T>(method: string, args: unknown, token: string | null = null): Promise<T> => {
    const r = await call(method, args, token)
    if (!r.ok) throw new Error(`${method}: ${r.error.code} ${r.error.message}`)
    return r.result as T
  }
  const login = await ok<{ token: string }>('login', { username: 'admin', password: 'field-admin-pass' })
  return { gw, dir, call, ok, admin: login.token }
}

function expectError(r: DispatchResult, code: string, message?: RegExp): void {
  expect(r.ok).toBe(false)
  if (r.ok) return
  expect(r.error.code).toBe(code)
  if (message) expect(r.error.message).toMatch(message)
}

describe('local federation methods', () => {
  let h: Harness
  let ids: Record<string, string>

  beforeAll(async () => {
    h = await harness()
    const orgA = await h.ok('createOrganization', { name: '2-5 Recon', plan: 'team' }, h.admin)
    const orgB = await h.ok('createOrganization', { name: 'Partner', plan: 'enterprise' }, h.admin)
    const orgF = await h.ok('createOrganization', { name: 'Freeloaders', plan: 'free' }, h.admin)
    const a1 = await h.ok('createNetwork', { organizationId: orgA.id, name: 'Alpha' }, h.admin)
    const a2 = await h.ok('createNetwork', { organizationId: orgA.id, name: 'Bravo' }, h.admin)
    const b1 = await h.ok('createNetwork', { organizationId: orgB.id, name: 'Charlie' }, h.admin)
    const b2 = await h.ok('createNetwork', { organizationId: orgB.id, name: 'Delta' }, h.admin)
    const f1 = await h.ok('createNetwork', { organizationId: orgF.id, name: 'Echo' }, h.admin)
    ids = { orgA: orgA.id, orgB: orgB.id, orgF: orgF.id, a1: a1.id, a2: a2.id, b1: b1.id, b2: b2.id, f1: f1.id }
  })

  afterAll(async () => {
    await h.gw.stop()
    fs.rmSync(h.dir, { recursive: true, force: true })
  })

  it('federates two networks of one organization at once, and refuses a duplicate or another organization', async () => {
    const f = await h.ok('federateWithinOrganization', { networkId: ids.a1, otherNetworkId: ids.a2 }, h.admin)
    expect(f.kind).toBe('withinOrganization')
    expect(f.ours).toMatchObject({
      networkId: ids.a1,
      networkName: 'Alpha',
      incoming: true,
      outgoing: true,
      acceptPackages: false,
      sharePackages: false
    })
    expect(f.theirs).toMatchObject({ networkId: ids.a2, networkName: 'Bravo' })
    expectError(
      await h.call('federateWithinOrganization', { networkId: ids.a2, otherNetworkId: ids.a1 }, h.admin),
      'conflict',
      /already federates/
    )
    expectError(
      await h.call('federateWithinOrganization', { networkId: ids.a1, otherNetworkId: ids.b1 }, h.admin),
      'invalid',
      /another organization/
    )
    expectError(await h.call('federateWithinOrganization', { networkId: ids.a1, otherNetworkId: ids.a1 }, h.admin), 'invalid', /itself/)
    const fromBravo = await h.ok<any[]>('listFederations', { networkId: ids.a2 }, h.admin)
    expect(fromBravo).toHaveLength(1)
    expect(fromBravo[0].ours.networkId).toBe(ids.a2)
  })

  it('issues 8-character codes from an unambiguous alphabet, stored only as a keyed hash', async () => {
    const code = await h.ok('generateFederationCode', { networkId: ids.a1 }, h.admin)
    expect(code.code).toMatch(/^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/)
    expect(Date.parse(code.expiresAt) - Date.parse(code.createdAt)).toBe(24 * 3600 * 1000)
    const current = await h.ok('getFederationCode', { networkId: ids.a1 }, h.admin)
    expect(current).toMatchObject({ code: null, expiresAt: code.expiresAt })
    await h.gw.services.store.flush()
    const db = fs.readFileSync(path.join(h.dir, 'db.json'), 'utf8')
    expect(db).not.toContain(code.code.replace('-', ''))
    expect(db).not.toContain(code.code)
    const keyFile = path.join(h.dir, 'pki', 'federation-code.key')
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600)
  })

  it('invalidates the old code on regenerate, refuses cleared codes, and accepts the current one once', async () => {
    const old = await h.ok('generateFederationCode', { networkId: ids.a1 }, h.admin)
    const fresh = await h.ok('generateFederationCode', { networkId: ids.a1 }, h.admin)
    expectError(await h.call('redeemFederationCode', { networkId: ids.b1, code: old.code }, h.admin), 'invalid', /replaced by a newer one/)

    await h.ok('clearFederationCode', { networkId: ids.a1 }, h.admin)
    expect(await h.ok('getFederationCode', { networkId: ids.a1 }, h.admin)).toBeNull()
    expectError(await h.call('redeemFederationCode', { networkId: ids.b1, code: fresh.code }, h.admin), 'invalid', /cleared/)

    const live = await h.ok('generateFederationCode', { networkId: ids.a1 }, h.admin)
    // Typed as read over the radio: lower case, a space instead of the dash.
    const typed = live.code.toLowerCase().replace('-', ' ')
    const f = await h.ok('redeemFederationCode', { networkId: ids.b1, code: typed, outgoing: false, acceptPackages: true }, h.admin)
    expect(f.kind).toBe('acrossOrganizations')
    expect(f.ours).toMatchObject({ networkId: ids.b1, incoming: true, outgoing: false, acceptPackages: true, sharePackages: false })
    expect(f.theirs).toMatchObject({
      networkId: ids.a1,
      organizationName: '2-5 Recon',
      incoming: true,
      outgoing: true,
      acceptPackages: false,
      sharePackages: false
    })

    expectError(await h.call('redeemFederationCode', { networkId: ids.b2, code: live.code }, h.admin), 'conflict', /already been used/)
    // Clearing a code later does not touch accepted federations.
    await h.ok('generateFederationCode', { networkId: ids.a1 }, h.admin)
    await h.ok('clearFederationCode', { networkId: ids.a1 }, h.admin)
    expect((await h.ok<any[]>('listFederations', { networkId: ids.b1 }, h.admin)).map((x) => x.theirs.networkId)).toEqual([ids.a1])
  })

  it('refuses own network, own organization and an already federated pair', async () => {
    const code = await h.ok('generateFederationCode', { networkId: ids.a1 }, h.admin)
    expectError(await h.call('redeemFederationCode', { networkId: ids.a1, code: code.code }, h.admin), 'invalid', /belongs to this network/)
    expectError(await h.call('redeemFederationCode', { networkId: ids.a2, code: code.code }, h.admin), 'invalid', /your own organization/)
    expectError(await h.call('redeemFederationCode', { networkId: ids.b1, code: code.code }, h.admin), 'conflict', /already federates/)
  })

  it('keeps the Free plan from federating until it is upgraded', async () => {
    expectError(await h.call('generateFederationCode', { networkId: ids.f1 }, h.admin), 'plan_limit', /Free plan does not federate/)
    const code = await h.ok('generateFederationCode', { networkId: ids.b2 }, h.admin)
    const second = await h.ok('createNetwork', { organizationId: ids.orgF, name: 'Foxtrot' }, h.admin)
    expectError(await h.call('redeemFederationCode', { networkId: ids.f1, code: code.code }, h.admin), 'plan_limit')
    expectError(await h.call('federateWithinOrganization', { networkId: ids.f1, otherNetworkId: second.id }, h.admin), 'plan_limit')
    await h.ok('updateOrganization', { id: ids.orgF, plan: 'team' }, h.admin)
    const f = await h.ok('federateWithinOrganization', { networkId: ids.f1, otherNetworkId: second.id }, h.admin)
    expect(f.kind).toBe('withinOrganization')
  })

  it('lets each side edit only its own end, and stop from either side', async () => {
    const [f] = await h.ok<any[]>('listFederations', { networkId: ids.b1 }, h.admin)
    const after = await h.ok(
      'updateFederationEnd',
      { federationId: f.id, networkId: ids.b1, incoming: false, sharePackages: true },
      h.admin
    )
    expect(after.ours).toMatchObject({ incoming: false, outgoing: false, acceptPackages: true, sharePackages: true })
    expect(after.theirs).toMatchObject({ incoming: true, outgoing: true })
    expectError(
      await h.call('updateFederationEnd', { federationId: f.id, networkId: ids.a2, incoming: false }, h.admin),
      'invalid',
      /not an end/
    )
    expectError(
      await h.call('updateFederationEnd', { federationId: f.id, networkId: ids.b1, bogus: true }, h.admin),
      'invalid',
      /Unknown field/
    )
    await h.ok('stopFederating', { federationId: f.id, networkId: ids.a1 }, h.admin)
    expect(await h.ok<any[]>('listFederations', { networkId: ids.b1 }, h.admin)).toEqual([])
    expectError(await h.call('stopFederating', { federationId: f.id, networkId: ids.b1 }, h.admin), 'not_found')
    const actions = (await h.gw.services.audit.page({ limit: 100 })).entries.map((e) => e.action)
    expect(actions).toEqual(
      expect.arrayContaining([
        'federateWithinOrganization',
        'generateFederationCode',
        'clearFederationCode',
        'redeemFederationCode',
        'updateFederationEnd',
        'stopFederating'
      ])
    )
  })
  // Last in this block: it leaves the admin throttled.
  it('gives a clear error for malformed and unknown codes and throttles repeated wrong codes', async () => {
    expectError(await h.call('redeemFederationCode', { networkId: ids.b2, code: 'AB0O-1IL!' }, h.admin), 'invalid', /8 letters and digits/)
    for (let i = 0; i < 4; i++) {
      expectError(
        await h.call('redeemFederationCode', { networkId: ids.b2, code: 'ZZZZ-ZZZZ' }, h.admin),
        'not_found',
        /No network has that code/
      )
    }
    expectError(
      await h.call('redeemFederationCode', { networkId: ids.b2, code: 'YYYY-YYYY' }, h.admin),
      'rate_limited',
      /Too many wrong federation codes/
    )
    // Even the right code waits out the throttle.
    const code = await h.ok('generateFederationCode', { networkId: ids.a2 }, h.admin)
    expectError(await h.call('redeemFederationCode', { networkId: ids.b2, code: code.code }, h.admin), 'rate_limited')
  })
})

describe('federation code expiry', () => {
  it('tells the redeemer the code has expired', async () => {
    const h = await harness({ Federation__CodeLifetimeSeconds: '0.3' })
    try {
      const orgA = await h.ok('createOrganization', { name: 'A' }, h.admin)
      const orgB = await h.ok('createOrganization', { name: 'B' }, h.admin)
      const a = await h.ok('createNetwork', { organizationId: orgA.id, name: 'Alpha' }, h.admin)
      const b = await h.ok('createNetwork', { organizationId: orgB.id, name: 'Bravo' }, h.admin)
      const code = await h.ok('generateFederationCode', { networkId: a.id }, h.admin)
      await new Promise((r) => setTimeout(r, 400))
      expectError(
        await h.call('redeemFederationCode', { networkId: b.id, code: code.code }, h.admin),
        'invalid',
        /The code has expired; ask the other organization for a new one/
      )
      expect(await h.ok('getFederationCode', { networkId: a.id }, h.admin)).toBeNull()
      // Another network generating a code (which prunes old records) does not turn "expired" into "no such code".
      const c = await h.ok('createNetwork', { organizationId: orgA.id, name: 'Charlie' }, h.admin)
      await h.ok('generateFederationCode', { networkId: c.id }, h.admin)
      expectError(await h.call('redeemFederationCode', { networkId: b.id, code: code.code }, h.admin), 'invalid', /The code has expired/)
    } finally {
      await h.gw.stop()
      fs.rmSync(h.dir, { recursive: true, force: true })
    }
  })
})
