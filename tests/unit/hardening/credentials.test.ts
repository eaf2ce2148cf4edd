// Hardening item 10: without credentials every door is shut, and secrets stay where they belong.
// - Every console method except the public three (getSetupState, setupFirstAdmin, login), over HTTP
//   (POST /api/<method>) and over IPC (registerIpc, a trusted frame, no token): `unauthenticated` (HTTP 401 with
//   WWW-Authenticate: Bearer). A bogus or logged-out token is the same. GET /api/events too.
// - Every Marti route without a client certificate (or with one from another CA): the TLS handshake is refused.
// - Every route of the device enrollment API without a valid password or token: 401.
// - A full run (sign in, create a user, enroll a device and download its package, let a device enroll itself with a
//   one-time password, generate and redeem a federation
//   code, add a peer, read the audit log, watch the event stream) shows each secret only in the one response meant
//   to carry it (the login token, the p12 passwords, the code), and no log line carries any of them or a private key.

import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { channelFor, type ApiMethod } from '../../../gateway/api/contract.ts'
import { API_METHODS } from '../../../gateway/api/schema/index.ts'
import type { DispatchResult } from '../../../gateway/api/dispatch.ts'
import { startConsoleServer, type ConsoleServer } from '../../../gateway/console/server.ts'
import { registerIpc, trustedRenderer } from '../../../main/ipc.ts'
import { enrollIdentity } from '../../support/devices.ts'
import { basic, enrollLikeAtak, enrollRequest } from '../../support/enroll-client.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { leafCertificate, throwawayCa } from '../../support/hardening-certs.ts'

const PUBLIC_METHODS = ['getSetupState', 'setupFirstAdmin', 'login']
const OPERATOR_PASSWORD = 'a different long secret for the operator 7'
const WRONG_PASSWORD = 'wrong guess that must never be echoed 9'

interface Exchange {
  method: string
  status: number
  body: string
  headers: http.IncomingHttpHeaders
}

type Handler = (event: unknown, ...args: unknown[]) => Promise<DispatchResult>

class FakeIpcMain {
  readonly handlers = new Map<string, Handler>()
  handle(channel: string, listener: Handler): void {
    this.handlers.set(channel, listener)
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  }
  invoke(channel: string, frameUrl: string, ...args: unknown[]): Promise<DispatchResult> {
    return this.handlers.get(channel)!({ senderFrame: { url: frameUrl }, sender: { id: 1 } }, ...args)
  }
}

const OWN_PAGE = 'file:///opt/Fedgate/resources/app.asar/out/renderer/index.html'

describe('refusal without credentials, and no secret where it does not belong', () => {
  let t: TestGateway
  let consoleServer: ConsoleServer
  const exchanges: Exchange[] = []

  function post(method: string, args: unknown, token: string | null = null): Promise<Exchange> {
    return new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(args ?? {}))
      const req = http.request(
        {
          host: '127.0.0.1',
          port: consoleServer.port,
          path: `/api/${method}`,
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': payload.length,
            ...(token ? { Authorization: `Bearer ${token}` } : {})
          }
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const exchange = { method, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }
            exchanges.push(exchange)
            resolve(exchange)
          })
        }
      )
      req.on('error', reject)
      req.end(payload)
    })
  }

  async function ok<T>(method: ApiMethod, args: unknown, token: string | null): Promise<T> {
    const exchange = await post(method, args, token)
    const parsed = JSON.parse(exchange.body) as { ok: boolean; result: T; error?: { message: string } }
    if (!parsed.ok) throw new Error(`${method}: ${exchange.body}`)
    return parsed.result
  }

  function getEvents(query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: consoleServer.port, path: `/api/events${query}`, headers }, (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        .on('error', reject)
    })
  }

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-secrets' } })
    consoleServer = await startConsoleServer({
      services: t.services,
      port: 0,
      host: '127.0.0.1',
      staticDir: null,
      log: t.services.log,
      heartbeatMs: 200
    })
  })

  afterAll(async () => {
    await consoleServer?.close()
    await t?.stop()
  })

  it('the public methods are exactly getSetupState, setupFirstAdmin and login', () => {
    const publicOnes = API_METHODS.filter((m) => t.services.methods[m].auth === 'public')
    expect([...publicOnes].sort()).toEqual([...PUBLIC_METHODS].sort())
  })

  it('refuses every other HTTP method without a token, with a bogus token and with a signed-out token: 401 unauthenticated', async () => {
    const admin = await t.loginAs('admin', t.adminPassword!)
    const signedOut = await t.loginAs('admin', t.adminPassword!)
    await t.ok('logout', {}, signedOut)
    const guarded = API_METHODS.filter((m) => !PUBLIC_METHODS.includes(m))
    expect(guarded.length).toBeGreaterThan(30)
    for (const token of [null, 'not-a-token', signedOut]) {
      for (const method of guarded) {
        const exchange = await post(method, {}, token)
        expect({ method, status: exchange.status }).toEqual({ method, status: 401 })
        expect(JSON.parse(exchange.body)).toMatchObject({ ok: false, error: { code: 'unauthenticated' } })
        expect(exchange.headers['www-authenticate']).toBe('Bearer')
      }
    }
    // Control: the same call with a live token is not refused.
    expect((await post('whoami', {}, admin)).status).toBe(200)
  })

  it('refuses the event stream without a token, with a bogus one and with a signed-out one', async () => {
    const signedOut = await t.loginAs('admin', t.adminPassword!)
    await t.ok('logout', {}, signedOut)
    for (const query of ['', '?token=nope', `?token=${signedOut}`]) {
      const answer = await getEvents(query)
      expect(answer.status).toBe(401)
      expect(JSON.parse(answer.body)).toMatchObject({ ok: false, error: { code: 'unauthenticated' } })
    }
    expect((await getEvents('', { Authorization: 'Bearer nope' })).status).toBe(401)
  })

  it('refuses every IPC channel without a token (unauthenticated) and every channel from a foreign frame (forbidden)', async () => {
    const ipc = new FakeIpcMain()
    const dispose = registerIpc(ipc as never, t.services, trustedRenderer(OWN_PAGE))
    try {
      for (const method of API_METHODS) {
        if (PUBLIC_METHODS.includes(method)) continue
        for (const token of [undefined, null, '', 'not-a-token']) {
          const outcome = await ipc.invoke(channelFor(method), `${OWN_PAGE}#/`, {}, token)
          expect({ method, outcome }).toMatchObject({ method, outcome: { ok: false, error: { code: 'unauthenticated' } } })
        }
      }
      for (const method of API_METHODS) {
        const outcome = await ipc.invoke(
          channelFor(method),
          'https://evil.example/',
          { username: 'admin', password: t.adminPassword },
          null
        )
        expect(outcome).toMatchObject({ ok: false, error: { code: 'forbidden' } })
      }
    } finally {
      dispose()
    }
  })

  it('refuses every Marti route at the TLS handshake without a client certificate or with a foreign one', async () => {
    const routes: [string, string][] = [
      ['GET', '/Marti/api/version'],
      ['GET', '/Marti/api/version/config'],
      ['GET', `/Marti/sync/missionquery?hash=${'a'.repeat(64)}`],
      ['POST', '/Marti/sync/missionupload?filename=x.zip'],
      ['POST', '/Marti/sync/upload?name=x.zip'],
      ['GET', `/Marti/sync/content?hash=${'a'.repeat(64)}`],
      ['HEAD', `/Marti/sync/content?hash=${'a'.repeat(64)}`],
      ['GET', '/Marti/sync/search?keywords=missionpackage'],
      ['PUT', `/Marti/api/sync/metadata/${'a'.repeat(64)}/tool`]
    ]
    const foreign = leafCertificate(throwawayCa('Foreign CA'), 'FOREIGN', -1, 30)
    const attempt = (method: string, route: string, cert?: { cert: string; key: string }): Promise<string> =>
      new Promise((resolve) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            port: t.services.ports.marti,
            path: route,
            method,
            ca: t.services.pki.caCertPem,
            servername: 'localhost',
            agent: false,
            ...cert
          },
          (res) => {
            res.resume()
            resolve(`answered ${res.statusCode}`)
          }
        )
        req.on('error', (err: NodeJS.ErrnoException) => resolve(`refused ${err.code ?? err.message}`))
        req.end(method === 'POST' || method === 'PUT' ? 'public' : undefined)
      })
    for (const [method, route] of routes) {
      expect({ route, outcome: await attempt(method, route) }).toMatchObject({ route, outcome: expect.stringMatching(/^refused /) })
      expect({ route, outcome: await attempt(method, route, { cert: foreign.certPem, key: foreign.keyPem }) }).toMatchObject({
        route,
        outcome: expect.stringMatching(/^refused /)
      })
    }
    // Control: an enrolled device gets answers on the same port.
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Marti control', plan: 'team' }, admin)
    const network = await t.ok('createNetwork', { organizationId: org.id, name: 'M' }, admin)
    const phone = await enrollIdentity(t, admin, network.id, 'CONTROL')
    expect(await attempt('GET', '/Marti/api/version', { cert: phone.cert, key: phone.key })).toBe('answered 200')
  })

  it('refuses every enrollment API route without credentials (401 Basic) and the token grant without them (400)', async () => {
    const phone = { host: '127.0.0.1', port: t.services.ports.enrollment, ca: t.services.pki.caCertPem }
    for (const [method, route] of [
      ['GET', '/Marti/api/tls/config'],
      ['POST', '/Marti/api/tls/signClient/v2?clientUid=x'],
      ['GET', '/Marti/api/tls/profile/enrollment?clientUid=x']
    ] as const) {
      for (const authorization of [undefined, 'Bearer not-a-token', basic('nobody', 'nothing')]) {
        const answer = await enrollRequest({ ...phone, localAddress: '127.0.0.23' }, method, route, {
          authorization,
          body: method === 'POST' ? 'csr' : undefined
        })
        expect({ route, authorization, status: answer.status }).toEqual({ route, authorization, status: 401 })
      }
    }
    const grant = await enrollRequest({ ...phone, localAddress: '127.0.0.24' }, 'POST', '/oauth/token?grant_type=password')
    expect(grant.status).toBe(400)
  })

  it('shows secrets only in their intended responses and never in a log line', async () => {
    exchanges.length = 0
    let streamed = ''

    const adminLogin = await ok<{ token: string }>('login', { username: 'admin', password: t.adminPassword }, null)
    const admin = adminLogin.token
    const loginExchanges = [exchanges.at(-1)!]
    // The event stream of this admin, open for the whole run.
    const streamRequest = {
      host: '127.0.0.1',
      port: consoleServer.port,
      path: '/api/events',
      headers: { Authorization: `Bearer ${admin}` }
    }
    const events = http.get(streamRequest, (res) => {
      res.on('data', (c: Buffer) => (streamed += c.toString()))
    })
    events.on('error', () => {})

    const wrong = await post('login', { username: 'admin', password: WRONG_PASSWORD })
    expect(wrong.status).toBe(401)

    const org = await ok<{ id: string }>('createOrganization', { name: 'Secrets', plan: 'team' }, admin)
    const net1 = await ok<{ id: string }>('createNetwork', { organizationId: org.id, name: 'One' }, admin)
    const other = await ok<{ id: string }>('createOrganization', { name: 'Other side', plan: 'team' }, admin)
    const net2 = await ok<{ id: string }>('createNetwork', { organizationId: other.id, name: 'Two' }, admin)
    await ok('createUser', { username: 'operator', password: OPERATOR_PASSWORD, organizationId: org.id }, admin)
    const operator = (await ok<{ token: string }>('login', { username: 'operator', password: OPERATOR_PASSWORD }, null)).token
    loginExchanges.push(exchanges.at(-1)!)
    await ok('whoami', {}, operator)
    await ok('logout', {}, operator)

    type Enrolled = { device: { id: string }; clientPassword: string; truststorePassword: string }
    const enrolled = await ok<Enrolled>('enrollDevice', { networkId: net1.id, callsign: 'SECRET-1' }, admin)
    const enrollExchange = exchanges.at(-1)!
    const download = await ok<{ clientPassword: string; truststorePassword: string }>(
      'downloadDevicePackage',
      { id: enrolled.device.id },
      admin
    )
    const downloadExchange = exchanges.at(-1)!
    await ok('listDevices', { networkId: net1.id }, admin)

    const selfEnrollment = await ok<{ password: string; enrollmentPort: number }>(
      'createDeviceEnrollment',
      { networkId: net1.id, callsign: 'SECRET-2' },
      admin
    )
    const selfEnrollmentExchange = exchanges.at(-1)!
    await ok('listDeviceEnrollments', { networkId: net1.id }, admin)
    // The phone uses it on the enrollment port (right and wrong), which logs what happened but not the password.
    const phone = { host: '127.0.0.1', port: selfEnrollment.enrollmentPort, ca: t.services.pki.caCertPem }
    expect((await enrollRequest(phone, 'GET', '/Marti/api/tls/config', { authorization: basic('SECRET-2', WRONG_PASSWORD) })).status).toBe(
      401
    )
    await enrollLikeAtak(phone, { username: 'SECRET-2', password: selfEnrollment.password, clientUid: 'secret-2' })

    const code = await ok<{ code: string }>('generateFederationCode', { networkId: net1.id }, admin)
    const codeExchange = exchanges.at(-1)!
    expect(code.code.length).toBeGreaterThan(4)
    await ok('getFederationCode', { networkId: net1.id }, admin)
    await ok('redeemFederationCode', { networkId: net2.id, code: code.code }, admin)
    await ok('listFederations', { networkId: net1.id }, admin)

    const peerCert = leafCertificate(throwawayCa('Peer CA'), 'peer', -1, 30)
    await ok('addExternalPeer', { networkId: net1.id, fingerprint: peerCert.fingerprint, displayName: 'Peer' }, admin)
    for (const [method, args] of [
      ['listExternalPeers', { networkId: net1.id }],
      ['listRejectedPeers', {}],
      ['getConnectionInfo', {}],
      ['listUsers', {}],
      ['listOrganizations', {}],
      ['getDeploymentSettings', {}],
      ['getHealth', {}],
      ['listAuditLog', {}]
    ] as const) {
      await ok(method, args, admin)
    }
    await new Promise((r) => setTimeout(r, 400))
    events.destroy()

    const pkiDir = path.join(t.dataDir, 'pki')
    // A stretch from the middle of each private key: a leaked key would carry it, whatever its armour.
    const keyFragments = fs
      .readdirSync(pkiDir)
      .filter((name) => name.endsWith('.key'))
      .map((name) => fs.readFileSync(path.join(pkiDir, name), 'utf8').split('\n')[3]!)
    expect(keyFragments.length).toBeGreaterThanOrEqual(3)
    const secrets: { what: string; value: string; allowedIn: Exchange[] }[] = [
      { what: 'admin password', value: t.adminPassword!, allowedIn: [] },
      { what: 'operator password', value: OPERATOR_PASSWORD, allowedIn: [] },
      { what: 'wrong password', value: WRONG_PASSWORD, allowedIn: [] },
      { what: 'admin token', value: admin, allowedIn: [loginExchanges[0]!] },
      { what: 'operator token', value: operator, allowedIn: [loginExchanges[1]!] },
      { what: 'client p12 password', value: enrolled.clientPassword, allowedIn: [enrollExchange] },
      { what: 'truststore p12 password', value: enrolled.truststorePassword, allowedIn: [enrollExchange] },
      { what: 'downloaded client p12 password', value: download.clientPassword, allowedIn: [downloadExchange] },
      { what: 'downloaded truststore p12 password', value: download.truststorePassword, allowedIn: [downloadExchange] },
      { what: 'federation code', value: code.code, allowedIn: [codeExchange] },
      { what: 'device enrollment password', value: selfEnrollment.password, allowedIn: [selfEnrollmentExchange] },
      { what: 'PEM private key', value: 'PRIVATE KEY', allowedIn: [] },
      ...keyFragments.map((value, i) => ({ what: `private key ${i}`, value, allowedIn: [] as Exchange[] }))
    ]
    const leaks: string[] = []
    for (const secret of secrets) {
      for (const exchange of exchanges) {
        if (exchange.body.includes(secret.value) && !secret.allowedIn.includes(exchange)) {
          leaks.push(`${secret.what} in the ${exchange.method} response`)
        }
      }
      if (streamed.includes(secret.value)) leaks.push(`${secret.what} in the event stream`)
      for (const line of t.logs) if (line.includes(secret.value)) leaks.push(`${secret.what} in the log line: ${line.slice(0, 120)}`)
    }
    expect(leaks).toEqual([])
    // The intended carriers did carry them (so the scan above looked at real bodies), and events were streamed.
    expect(enrollExchange.body).toContain(enrolled.clientPassword)
    expect(codeExchange.body).toContain(code.code)
    expect(selfEnrollmentExchange.body).toContain(selfEnrollment.password)
    expect(t.logs.join('\n')).toContain("Device 'SECRET-2' enrolled itself")
    expect(exchanges.length).toBeGreaterThan(20)
    expect(streamed).toContain('data:')
    expect(t.logs.length).toBeGreaterThan(0)
  })
})
