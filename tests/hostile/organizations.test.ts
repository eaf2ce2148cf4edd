// Issue 22, guessing codes and leaks across organizations: one gateway shared by two organizations, driven over the
// HTTPS console (our CA's server certificate) from several loopback addresses, as a hostile organization admin would.
// - Org B's admin makes users (each from its own address) to guess federation codes: the network's and then the
//   organization's budget stop them, the right code too; a third organization is not held up.
// - Org B registers org A's TAK Server fingerprint: refused without a word of org A; the deployment admins see the
//   conflict; the TAK Server still reaches org A.
// - Names with NUL, a newline or a right-to-left override are refused; an Arabic name is kept as it was typed.

import https from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEntryDto } from '../../gateway/api/contract.ts'
import { startConsoleServer, type ConsoleServer } from '../../gateway/console/server.ts'
import { CODE_GUESS_BUDGETS } from '../../gateway/access/code-guesses.ts'
import { takFederationArea } from '../../gateway/federation/tak/index.ts'
import { serverTls } from '../../gateway/pki/server-identity.ts'
import { until } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { testPki, type TestPki } from '../support/pki.ts'
import { TakFederate } from '../support/tak-federate.ts'

type Reply = { status: number; ok: boolean; result?: any; error?: { code: string; message: string } }

const quiet = { info: () => {}, warn: () => {}, error: () => {} }

describe('organizations sharing one gateway (hostile)', () => {
  let t: TestGateway
  let server: ConsoleServer
  let tak: TestPki
  let federate: TakFederate | null = null
  let admin = ''
  const ids = { orgA: '', orgB: '', orgC: '', a1: '', b1: '', b2: '', b3: '', c1: '', bAdmin: '' }
  let bAdmin = ''

  /** POST /api/<method> over HTTPS from `from` (a 127.0.0.0/8 address), trusting only our CA. */
  function api(method: string, args: unknown, token: string | null, from = '127.0.0.1'): Promise<Reply> {
    const body = Buffer.from(JSON.stringify(args ?? {}))
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: server.port,
          localAddress: from,
          method: 'POST',
          path: `/api/${method}`,
          ca: t.services.pki.caCertPem,
          agent: false,
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            ...(token ? { authorization: `Bearer ${token}` } : {})
          }
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ...JSON.parse(Buffer.concat(chunks).toString('utf8')) }))
          res.on('error', reject)
        }
      )
      req.setTimeout(20_000, () => req.destroy(new Error(`${method}: no answer in 20 s`)))
      req.on('error', reject)
      req.end(body)
    })
  }

  async function ok(method: string, args: unknown, token: string | null, from?: string): Promise<any> {
    const r = await api(method, args, token, from)
    if (!r.ok) throw new Error(`${method}: ${r.error?.code} ${r.error?.message}`)
    return r.result
  }

  const login = async (username: string, password: string, from?: string): Promise<string> =>
    (await ok('login', { username, password }, null, from)).token

  /** A member of org B made by org B's admin, holding `Federate with other organizations` on B1-B3, signed in from `from`. */
  async function orgBUser(name: string, teamId: string, from: string): Promise<string> {
    const user = await ok(
      'createUser',
      { username: name, password: `${name}-long-password`, organizationId: ids.orgB },
      bAdmin,
      '127.0.0.2'
    )
    const team = await ok('listTeams', { organizationId: ids.orgB }, bAdmin, '127.0.0.2')
    const members: string[] = team.find((x: { id: string }) => x.id === teamId).memberIds
    await ok('setTeamMembers', { teamId, memberIds: [...members, user.id] }, bAdmin, '127.0.0.2')
    return login(name, `${name}-long-password`, from)
  }

  beforeAll(async () => {
    const loopbackOnly = {
      Federation__BindAddress: '127.0.0.1',
      Streaming__BindAddress: '127.0.0.1',
      Marti__BindAddress: '127.0.0.1',
      Enrollment__BindAddress: '127.0.0.1'
    }
    t = await startTestGateway({
      env: { ...loopbackOnly, Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-hostile-orgs' }
    })
    server = await startConsoleServer({
      services: t.services,
      port: 0,
      host: '127.0.0.1',
      tls: () => serverTls(t.services.pki),
      staticDir: null,
      log: quiet
    })
    tak = await testPki()
    admin = await login('admin', t.adminPassword!)
    ids.orgA = (await ok('createOrganization', { name: 'Alpha Recon', plan: 'team' }, admin)).id
    ids.orgB = (await ok('createOrganization', { name: 'Bravo Logistics', plan: 'team' }, admin)).id
    ids.orgC = (await ok('createOrganization', { name: 'Charlie Medical', plan: 'team' }, admin)).id
    ids.a1 = (await ok('createNetwork', { organizationId: ids.orgA, name: 'Alpha Main' }, admin)).id
    ids.c1 = (await ok('createNetwork', { organizationId: ids.orgC, name: 'Charlie Main' }, admin)).id
    ids.bAdmin = (
      await ok(
        'createUser',
        { username: 'bravo-admin', password: 'bravo-admin-password', organizationId: ids.orgB, organizationAdmin: true },
        admin
      )
    ).id
    bAdmin = await login('bravo-admin', 'bravo-admin-password', '127.0.0.2')
    for (const key of ['b1', 'b2', 'b3'] as const) {
      ids[key] = (await ok('createNetwork', { organizationId: ids.orgB, name: `Bravo ${key.toUpperCase()}` }, admin)).id
    }
  }, 60_000)

  afterAll(async () => {
    federate?.close()
    await server?.close()
    await t?.stop()
    tak?.cleanup()
  })

  it("org B's admin makes users on new addresses to guess codes: the network's, then the organization's budget ends it", async () => {
    const target = await ok('generateFederationCode', { networkId: ids.a1 }, admin)
    const team = await ok('createTeam', { organizationId: ids.orgB, name: 'Guessers' }, bAdmin, '127.0.0.2')
    const grant = ['federateAcrossOrganizations']
    await ok(
      'setTeamGrants',
      { teamId: team.id, grants: [ids.b1, ids.b2, ids.b3].map((networkId) => ({ networkId, permissions: grant })) },
      bAdmin,
      '127.0.0.2'
    )

    const perUser = CODE_GUESS_BUDGETS.user.burst
    const perNetwork = CODE_GUESS_BUDGETS.network.burst
    const perOrganization = CODE_GUESS_BUDGETS.organization.burst
    let wrong = 0
    let serial = 0
    const refusals: string[] = []
    /** One fresh user on a fresh address guesses on `networkId` until refused (at most a user's budget + 1 tries). */
    async function guessAsNewUser(networkId: string): Promise<void> {
      serial++
      const from = `127.0.0.${10 + serial}`
      const token = await orgBUser(`guesser-${serial}`, team.id, from)
      for (let i = 0; i <= perUser; i++) {
        const code = `ZZZZ-${String(serial * 10 + i)
          .padStart(4, '2')
          .replace(/[01]/g, '2')}`
        const r = await api('redeemFederationCode', { networkId, code }, token, from)
        if (r.ok) throw new Error('a guessed code was accepted')
        if (r.error!.code === 'rate_limited') {
          expect(r.status).toBe(429)
          refusals.push(r.error!.message)
          return
        }
        expect(r.error).toMatchObject({ code: 'not_found' })
        wrong++
      }
    }

    // Network B1: new users keep coming, but the network's budget holds.
    for (let n = 0; n < Math.ceil(perNetwork / perUser) + 1; n++) await guessAsNewUser(ids.b1)
    expect(wrong).toBe(perNetwork)
    expect(refusals.at(-1)).toMatch(/^Too many wrong federation codes for this network\. Try again in \d+ minutes?/)

    // Other networks of the organization: the organization's budget holds.
    for (let n = 0; n < 8 && wrong < perOrganization + perUser; n++) await guessAsNewUser(n % 2 === 0 ? ids.b2 : ids.b3)
    expect(wrong).toBe(perOrganization)
    expect(refusals.at(-1)).toMatch(/^Too many wrong federation codes from your organization\. Try again in \d+ minutes?/)

    // Even the right code waits now, from a new user on a new address...
    const last = await orgBUser('guesser-last', team.id, '127.0.0.99')
    const right = await api('redeemFederationCode', { networkId: ids.b3, code: target.code }, last, '127.0.0.99')
    expect(right.error?.code).toBe('rate_limited')

    // ...while another organization redeems it at once.
    const redeemed = await ok('redeemFederationCode', { networkId: ids.c1, code: target.code }, admin, '127.0.0.3')
    expect(redeemed.kind).toBe('acrossOrganizations')
  })

  it("org B registering org A's TAK Server is refused without naming org A; deployment admins see it; A keeps the connection", async () => {
    const fingerprint = tak.pki.federation!.fingerprint
    const peerA = await ok('addExternalPeer', { networkId: ids.a1, fingerprint, displayName: 'Alpha Secret HQ' }, admin)

    const r = await api('addExternalPeer', { networkId: ids.b1, fingerprint, displayName: 'Bravo HQ' }, bAdmin, '127.0.0.2')
    expect(r.status).toBe(409)
    expect(r.error).toEqual({
      code: 'conflict',
      message:
        "That TAK Server's certificate is already registered on this gateway by another organization; ask the gateway's administrator."
    })
    for (const secret of ['Alpha', 'Secret', 'HQ', peerA.id, ids.a1, ids.orgA]) expect(r.error!.message).not.toContain(secret)

    // Within one organization the sentence may name its own peer and network.
    const own = 'AB:'.repeat(31) + 'AB'
    await ok('addExternalPeer', { networkId: ids.b1, fingerprint: own, displayName: 'Bravo Relay' }, bAdmin, '127.0.0.2')
    const again = await api('addExternalPeer', { networkId: ids.b2, fingerprint: own, displayName: 'Bravo Relay 2' }, bAdmin, '127.0.0.2')
    expect(again.error?.message).toMatch(/already registered as peer 'Bravo Relay' on network 'Bravo B1'/)

    // The deployment admins find the conflict in the audit log; neither organization's log shows it.
    const conflicts = (entries: AuditEntryDto[]): AuditEntryDto[] => entries.filter((e) => e.action === 'externalPeerConflict')
    const seen = conflicts((await ok('listAuditLog', {}, admin)).entries)
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({
      organizationId: null,
      target: `fingerprint ${fingerprint}`,
      details: {
        registered: { peerId: peerA.id, peer: 'Alpha Secret HQ', network: 'Alpha Main', organization: 'Alpha Recon' },
        refused: { peer: 'Bravo HQ', network: 'Bravo B1', organization: 'Bravo Logistics' }
      }
    })
    expect(conflicts((await ok('listAuditLog', { organizationId: ids.orgB }, bAdmin, '127.0.0.2')).entries)).toEqual([])
    expect((await api('listAuditLog', {}, bAdmin, '127.0.0.2')).error?.code).toBe('forbidden')

    // The TAK Server with that certificate dials in over mutual TLS and lands on org A's network.
    const fed = takFederationArea(t.services)!
    federate = new TakFederate({
      port: fed.port,
      ca: t.services.pki.caCertPem,
      key: tak.pki.federation!.keyPem,
      certChain: `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
      healthIntervalMs: 500
    }).start()
    await until(() => fed.status(peerA.id).connected, 15_000, "the TAK Server connected as org A's peer")
    const bravoPeers = await ok('listExternalPeers', { networkId: ids.b1 }, bAdmin, '127.0.0.2')
    expect(bravoPeers.map((p: { fingerprint: string }) => p.fingerprint)).not.toContain(fingerprint)
  })

  it('refuses names with NUL, a newline or a right-to-left override, everywhere a name is typed; keeps Arabic', async () => {
    const expectRefused = async (method: string, args: Record<string, unknown>, field: string, codePoint: string): Promise<void> => {
      const r = await api(method, args, admin)
      expect(r.status, `${method} ${JSON.stringify(args)}`).toBe(400)
      expect(r.error).toEqual({
        code: 'invalid',
        message: `'${field}' must not contain control characters, line breaks or invisible direction or spacing marks (it has U+${codePoint}).`
      })
    }
    const hostile: [string, string][] = [
      ['Ops\u0000Room', '0000'],
      ['Ops\n2024-01-01 admin deleted network Alpha', '000A'],
      ['Invoice \u202Egpj.exe', '202E']
    ]
    for (const [name, codePoint] of hostile) {
      await expectRefused('createOrganization', { name, plan: 'team' }, 'name', codePoint)
      await expectRefused('updateOrganization', { id: ids.orgB, name }, 'name', codePoint)
      await expectRefused('createNetwork', { organizationId: ids.orgB, name }, 'name', codePoint)
      await expectRefused('renameNetwork', { id: ids.b3, name }, 'name', codePoint)
      await expectRefused('createTeam', { organizationId: ids.orgB, name }, 'name', codePoint)
      await expectRefused(
        'createUser',
        { username: 'someone', password: 'someone-long-password', displayName: name, organizationId: ids.orgB },
        'displayName',
        codePoint
      )
      await expectRefused(
        'addExternalPeer',
        { networkId: ids.b3, fingerprint: 'CD:'.repeat(31) + 'CD', displayName: name },
        'displayName',
        codePoint
      )
    }
    const names = (await ok('listNetworks', { organizationId: ids.orgB }, admin)).map((n: { name: string }) => n.name)
    expect(names.some((n: string) => /[\u0000\n\u202E]/.test(n))).toBe(false)

    const arabic = 'شبكة العمليات'
    const network = await ok('createNetwork', { organizationId: ids.orgB, name: arabic }, admin)
    expect(network.name).toBe(arabic)
    const listed = (await ok('listNetworks', { organizationId: ids.orgB }, admin)).find((n: { id: string }) => n.id === network.id)
    expect(listed.name).toBe(arabic)
    expect((await ok('createOrganization', { name: 'فريق الإسعاف', plan: 'team' }, admin)).name).toBe('فريق الإسعاف')
  })
})
