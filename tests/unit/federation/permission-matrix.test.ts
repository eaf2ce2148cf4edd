// The federation permission matrix of docs/ARCHITECTURE.md §5, through the HTTP transport: each of the four federation
// permissions granted alone, every federation action allowed or refused with `forbidden`.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Permission } from '../../../gateway/api/contract.ts'
import { startGateway, type Gateway } from '../../../gateway/index.ts'
import { startConsoleServer } from '../../../gateway/console/server.ts'
import { createLogger } from '../../../gateway/log.ts'

type Reply = { ok: true; result: any } | { ok: false; error: { code: string; message: string } }

const FEDERATION_PERMISSIONS = ['federateWithinOrganization', 'federateAcrossOrganizations', 'changeFederation', 'stopFederating'] as const
const PEER_FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7 + 3).toString(16).padStart(2, '0').toUpperCase()).join(':')

describe('federation permission matrix over HTTP', () => {
  let gw: Gateway
  let server: { url: string; close(): Promise<void> }
  let admin: string
  const ids = {} as { org: string; alpha: string; bravo: string; partner: string }
  const tokens: Record<string, string> = {}

  async function http(method: string, args: unknown, token: string | null): Promise<Reply> {
    const res = await fetch(new URL(`api/${method}`, server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(args ?? {})
    })
    return (await res.json()) as Reply
  }
  async function ok(method: string, args: unknown, token: string | null = admin): Promise<any> {
    const r = await http(method, args, token)
    if (!r.ok) throw new Error(`${method}: ${r.error.code} ${r.error.message}`)
    return r.result
  }

  async function federationBetween(a: string, b: string): Promise<any | undefined> {
    const list = await ok('listFederations', { networkId: a })
    return list.find((f: any) => f.theirs.networkId === b)
  }
  async function ensureFederation(a: string, b: string): Promise<any> {
    return (await federationBetween(a, b)) ?? ok('federateWithinOrganization', { networkId: a, otherNetworkId: b })
  }
  async function ensureNoFederation(a: string, b: string): Promise<void> {
    const f = await federationBetween(a, b)
    if (f) await ok('stopFederating', { federationId: f.id, networkId: a })
  }
  async function peer(): Promise<any | undefined> {
    return (await ok('listExternalPeers', { networkId: ids.alpha })).find((p: any) => p.fingerprint === PEER_FINGERPRINT)
  }
  async function ensurePeer(): Promise<any> {
    return (await peer()) ?? ok('addExternalPeer', { networkId: ids.alpha, fingerprint: PEER_FINGERPRINT, displayName: 'HQ' })
  }
  async function ensureNoPeer(): Promise<void> {
    const p = await peer()
    if (p) await ok('removeExternalPeer', { id: p.id })
  }

  /** Each action: what the admin prepares, what the user tries, and which permissions allow it. */
  const actions: {
    name: string
    allowedBy: Permission[]
    prepare(): Promise<unknown>
    run(token: string, prepared: any): Promise<Reply>
  }[] = [
    {
      name: 'federateWithinOrganization',
      allowedBy: ['federateWithinOrganization'],
      prepare: () => ensureNoFederation(ids.alpha, ids.bravo),
      run: (t) => http('federateWithinOrganization', { networkId: ids.alpha, otherNetworkId: ids.bravo }, t)
    },
    {
      name: 'generateFederationCode',
      allowedBy: ['federateAcrossOrganizations'],
      prepare: async () => null,
      run: (t) => http('generateFederationCode', { networkId: ids.alpha }, t)
    },
    {
      name: 'clearFederationCode',
      allowedBy: ['federateAcrossOrganizations'],
      prepare: () => ok('generateFederationCode', { networkId: ids.alpha }),
      run: (t) => http('clearFederationCode', { networkId: ids.alpha }, t)
    },
    {
      name: 'redeemFederationCode',
      allowedBy: ['federateAcrossOrganizations'],
      prepare: async () => {
        await ensureNoFederation(ids.alpha, ids.partner)
        return ok('generateFederationCode', { networkId: ids.partner })
      },
      run: (t, code) => http('redeemFederationCode', { networkId: ids.alpha, code: code.code }, t)
    },
    {
      name: 'updateFederationEnd',
      allowedBy: ['changeFederation'],
      prepare: () => ensureFederation(ids.alpha, ids.bravo),
      run: (t, f) => http('updateFederationEnd', { federationId: f.id, networkId: ids.alpha, incoming: false }, t)
    },
    {
      name: 'stopFederating',
      allowedBy: ['stopFederating'],
      prepare: () => ensureFederation(ids.alpha, ids.bravo),
      run: (t, f) => http('stopFederating', { federationId: f.id, networkId: ids.alpha }, t)
    },
    {
      name: 'addExternalPeer',
      allowedBy: ['federateAcrossOrganizations'],
      prepare: () => ensureNoPeer(),
      run: (t) => http('addExternalPeer', { networkId: ids.alpha, fingerprint: PEER_FINGERPRINT, displayName: 'HQ' }, t)
    },
    {
      name: 'updateExternalPeer',
      allowedBy: ['changeFederation'],
      prepare: () => ensurePeer(),
      run: (t, p) => http('updateExternalPeer', { id: p.id, outgoing: false }, t)
    },
    {
      name: 'removeExternalPeer',
      allowedBy: ['stopFederating', 'federateAcrossOrganizations'],
      prepare: () => ensurePeer(),
      run: (t, p) => http('removeExternalPeer', { id: p.id }, t)
    }
  ]

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-perm-'))
    const log = createLogger(() => {}, true)
    gw = await startGateway({
      dataDir: dir,
      env: {
        FEDGATE_ADMIN_PASSWORD: 'field-admin-pass',
        Streaming__TlsPort: '0',
        Federation__Port: '0',
        Marti__Port: '0',
        Enrollment__Port: '0',
        Federation__AdvertisedHostname: 'fedgate.test',
        Federation__OurFederateId: 'fedgate-test'
      },
      log
    })
    server = await startConsoleServer({ services: gw.services, port: 0, host: '127.0.0.1', staticDir: dir, log })
    admin = (await ok('login', { username: 'admin', password: 'field-admin-pass' }, null)).token
    const org = await ok('createOrganization', { name: '2-5 Recon', plan: 'team', tokenLimit: 5 })
    const partnerOrg = await ok('createOrganization', { name: 'Partner', plan: 'team' })
    ids.org = org.id
    ids.alpha = (await ok('createNetwork', { organizationId: org.id, name: 'Alpha' })).id
    ids.bravo = (await ok('createNetwork', { organizationId: org.id, name: 'Bravo' })).id
    ids.partner = (await ok('createNetwork', { organizationId: partnerOrg.id, name: 'Partner Net' })).id
    for (const permission of [...FEDERATION_PERMISSIONS, 'none', 'alphaOnly'] as const) {
      const user = await ok('createUser', { username: `u-${permission}`, password: 'member-password', organizationId: org.id })
      const team = await ok('createTeam', { organizationId: org.id, name: `team-${permission}` })
      await ok('setTeamMembers', { teamId: team.id, memberIds: [user.id] })
      const grants =
        permission === 'none'
          ? []
          : permission === 'alphaOnly'
            ? [{ networkId: ids.alpha, permissions: ['federateWithinOrganization'] }]
            : [ids.alpha, ids.bravo].map((networkId) => ({ networkId, permissions: [permission] }))
      await ok('setTeamGrants', { teamId: team.id, grants })
      tokens[permission] = (await ok('login', { username: `u-${permission}`, password: 'member-password' }, null)).token
    }
  })

  afterAll(async () => {
    await server?.close()
    await gw?.stop()
  })

  for (const permission of [...FEDERATION_PERMISSIONS, 'none'] as const) {
    it(`a user holding only ${permission === 'none' ? 'no permission' : `'${permission}'`} can do exactly what docs/ARCHITECTURE.md §5 says`, async () => {
      const outcome: Record<string, string> = {}
      const expected: Record<string, string> = {}
      for (const action of actions) {
        const prepared = await action.prepare()
        const reply = await action.run(tokens[permission]!, prepared)
        outcome[action.name] = reply.ok
          ? 'allowed'
          : reply.error.code === 'forbidden'
            ? 'forbidden'
            : `error:${reply.error.code}:${reply.error.message}`
        expected[action.name] = (action.allowedBy as string[]).includes(permission) ? 'allowed' : 'forbidden'
      }
      expect(outcome).toEqual(expected)
      // Seeing is always allowed: the tables stay visible without any permission.
      expect((await http('listFederations', { networkId: ids.alpha }, tokens[permission]!)).ok).toBe(true)
      expect((await http('listExternalPeers', { networkId: ids.alpha }, tokens[permission]!)).ok).toBe(true)
    })
  }

  it('needs the within-organization permission on both networks', async () => {
    await ensureNoFederation(ids.alpha, ids.bravo)
    const reply = await http('federateWithinOrganization', { networkId: ids.alpha, otherNetworkId: ids.bravo }, tokens.alphaOnly!)
    expect(reply).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(!reply.ok && reply.error.message).toMatch(/Federate within organization.*Bravo/)
  })

  it('refuses every federation action without a session', async () => {
    for (const action of actions) {
      const reply = await action.run('', await action.prepare())
      expect(reply, action.name).toMatchObject({ ok: false, error: { code: 'unauthenticated' } })
    }
  })
})
