// Issue 22, the console: attacks over real HTTPS (our CA's server certificate) on 127.0.0.x against a running gateway's
// console. Bodies are bounded before they are read (unauthenticated, per method, all at once), wrong passwords slow
// guessing without locking the right password out, one user cannot take every event stream, and a user without an
// organization sees neither deployment-level audit events nor the data directory.

import https from 'node:https'
import type http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bodyLimit } from '../../gateway/console/body.ts'
import { startConsoleServer, type ConsoleServer } from '../../gateway/console/server.ts'
import { serverTls } from '../../gateway/pki/server-identity.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'

const MiB = 1_048_576
const quietLog = { info: () => {}, warn: () => {}, error: () => {} }

let gw: TestGateway
let server: ConsoleServer
let adminToken: string

interface Answer {
  status: number
  text: string
}

function agentOptions(localAddress?: string): https.RequestOptions {
  return { host: '127.0.0.1', port: server.port, ca: gw.services.pki.caCertPem, agent: false, ...(localAddress ? { localAddress } : {}) }
}

function post(method: string, body: unknown, token?: string, localAddress?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = https.request(
      {
        ...agentOptions(localAddress),
        method: 'POST',
        path: `/api/${method}`,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      }
    )
    req.on('error', reject)
    req.end(payload)
  })
}

const login = async (username: string, password: string, localAddress?: string): Promise<Answer> =>
  post('login', { username, password }, undefined, localAddress)
const tokenOf = (answer: Answer): string => (JSON.parse(answer.text) as { result: { token: string } }).result.token
const codeOf = (answer: Answer): string | undefined => (JSON.parse(answer.text) as { error?: { code: string } }).error?.code

interface Push {
  /** Status of the answer, 0 if none came. */
  status: number
  /** Bytes the client got to hand over before the answer came or the connection closed. */
  written: number
}

interface PushOptions {
  token?: string
  /** Once `bound` is sent, keep the request open (sending nothing) until aborted. */
  hold?: boolean
  /** Keep streaming after the answer, as a hostile client would, until the server closes the connection. */
  ignoreAnswer?: boolean
}

/**
 * A POST announcing `declared` bytes that streams up to `bound` of them (waiting on backpressure), stopping as soon as
 * an answer arrives (unless told to ignore it) or the connection closes.
 */
function push(
  method: string,
  declared: number | 'chunked',
  bound: number,
  options: PushOptions = {}
): { done: Promise<Push>; abort(): void } {
  const { token, hold = false, ignoreAnswer = false } = options
  let req!: http.ClientRequest
  const done = new Promise<Push>((resolve) => {
    let status = 0
    let written = 0
    let finished = false
    const finish = (): void => {
      if (finished) return
      finished = true
      req.destroy()
      resolve({ status, written })
    }
    req = https.request(
      {
        ...agentOptions(),
        method: 'POST',
        path: `/api/${method}`,
        headers: {
          'content-type': 'application/json',
          ...(declared === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(declared) }),
          ...(token ? { authorization: `Bearer ${token}` } : {})
        }
      },
      (res) => {
        status = res.statusCode ?? 0
        res.resume()
        if (!ignoreAnswer) finish()
      }
    )
    req.on('error', finish)
    req.on('close', finish)
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    const pump = (): void => {
      while (!finished && written < bound) {
        written += chunk.length
        if (!req.write(chunk)) {
          req.once('drain', pump)
          return
        }
      }
      // Bound reached without an answer: give up (the old code answers only once the whole body is in).
      if (!finished && !hold) setTimeout(finish, 1000)
    }
    req.flushHeaders()
    pump()
  })
  return { done, abort: () => req.destroy() }
}

beforeAll(async () => {
  gw = await startTestGateway({ env: { Packages__MaxBytes: String(MiB) } })
  server = await startConsoleServer({
    services: gw.services,
    port: 0,
    host: '127.0.0.1',
    tls: () => serverTls(gw.services.pki),
    staticDir: null,
    log: quietLog,
    heartbeatMs: 200
  })
  adminToken = tokenOf(await login('admin', gw.adminPassword!))
})

afterAll(async () => {
  await server?.close()
  await gw?.stop()
})

describe('request bodies', () => {
  it('twelve unauthenticated 145 MiB bodies are answered 401 before they are read, and their connections closed', async () => {
    const bound = 24 * MiB
    const pushes = Array.from({ length: 12 }, () => push('createOrganization', 145 * MiB, bound, { ignoreAnswer: true }).done)
    const results = await Promise.all(pushes)
    for (const r of results) {
      expect(r.status).toBe(401)
      // The client streams on after the answer; only the closed connection stops it. Socket buffers hold a few MiB at
      // most; the old code read on until the client gave up at the bound.
      expect(r.written).toBeLessThan(bound / 2)
    }
    expect((await post('whoami', undefined, adminToken)).status).toBe(200)
  })

  it('a signed-in call gets only what its method needs: 64 KiB for ordinary methods, declared or streamed', async () => {
    const bound = 16 * MiB
    const declared = await push('createOrganization', 10 * MiB, bound, { token: adminToken }).done
    expect(declared.status).toBe(413)
    expect(declared.written).toBeLessThan(bound / 2)
    const streamed = await push('createOrganization', 'chunked', bound, { token: adminToken }).done
    expect(streamed.status).toBe(413)
    expect(streamed.written).toBeLessThan(bound / 2)
    // Login without a session is smaller still.
    const loginBody = await push('login', 1 * MiB, 4 * MiB).done
    expect(loginBody.status).toBe(413)
  })

  it('bounds the bytes of concurrent uploads: a third full-size upload waits its turn with 503, and the room comes back', async () => {
    const org = JSON.parse((await post('createOrganization', { name: 'Uploads' }, adminToken)).text).result as { id: string }
    const network = JSON.parse((await post('createNetwork', { organizationId: org.id, name: 'Uploads net' }, adminToken)).text).result as {
      id: string
    }
    const limit = bodyLimit(gw.services, 'uploadDataPackage', true)
    // Two uploads announce the full limit and send a little: their bytes are reserved while they trickle in.
    const slow = [
      push('uploadDataPackage', limit, 128 * 1024, { token: adminToken, hold: true }),
      push('uploadDataPackage', limit, 128 * 1024, { token: adminToken, hold: true })
    ]
    await new Promise((r) => setTimeout(r, 300))
    const third = await push('uploadDataPackage', limit, limit, { token: adminToken }).done
    expect(third.status).toBe(503)
    for (const s of slow) s.abort()
    await Promise.all(slow.map((s) => s.done))
    // Released when those connections went away: a real upload goes through.
    const content = Buffer.alloc(512 * 1024, 7).toString('base64')
    let uploaded: Answer | null = null
    for (let i = 0; i < 20 && uploaded?.status !== 200; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100))
      uploaded = await post('uploadDataPackage', { networkId: network.id, name: 'ok.bin', contentBase64: content }, adminToken)
    }
    expect(uploaded?.status, uploaded?.text).toBe(200)
  })
})

describe('login throttle', () => {
  it('wrong passwords from one address slow that address down but do not lock the right password out elsewhere', async () => {
    const guesses: string[] = []
    for (let i = 0; i < 8; i++) guesses.push(codeOf(await login('admin', `wrong password ${i}`, '127.0.0.2'))!)
    // The first few are checked; then the guesser must wait, and is not told whether a guess was right.
    expect(guesses.slice(0, 3)).toEqual(['unauthenticated', 'unauthenticated', 'unauthenticated'])
    expect(guesses.slice(4)).toEqual(['rate_limited', 'rate_limited', 'rate_limited', 'rate_limited'])
    expect(codeOf(await login('admin', gw.adminPassword!, '127.0.0.2'))).toBe('rate_limited')
    // The admin at another address signs in at once.
    expect((await login('admin', gw.adminPassword!, '127.0.0.3')).status).toBe(200)
  })

  it('made-up names from a shared address do not keep a user who signs in there out', async () => {
    expect((await login('admin', gw.adminPassword!, '127.0.0.4')).status).toBe(200)
    const codes: string[] = []
    for (let i = 0; i < 20; i++) codes.push(codeOf(await login(`ghost${i}`, 'whatever password', '127.0.0.4'))!)
    // Spraying names is slowed per address too.
    expect(codes.filter((c) => c === 'rate_limited').length).toBeGreaterThan(5)
    expect((await login('admin', gw.adminPassword!, '127.0.0.4')).status).toBe(200)
  })
})

describe('event streams', () => {
  it('one user opening 64 streams keeps 8 and leaves room for the admin', async () => {
    await post('createUser', { username: 'mallory', password: 'a long enough password 9' }, adminToken)
    const mallory = tokenOf(await login('mallory', 'a long enough password 9'))
    const opened: http.IncomingMessage[] = []
    const ended: boolean[] = []
    try {
      for (let i = 0; i < 64; i++) {
        const res = await openStream(mallory)
        expect(res.statusCode).toBe(200)
        const at = opened.push(res) - 1
        ended[at] = false
        res.on('end', () => (ended[at] = true))
        res.on('close', () => (ended[at] = true))
        res.resume()
      }
      const admin = await openStream(adminToken)
      opened.push(admin)
      expect(admin.statusCode).toBe(200)
      admin.resume()
      for (let i = 0; i < 50 && ended.filter(Boolean).length < 56; i++) await new Promise((r) => setTimeout(r, 50))
      expect(ended.filter(Boolean).length).toBe(56)
      // The newest ones are those kept.
      expect(ended.slice(56).every((e) => !e)).toBe(true)
    } finally {
      for (const res of opened) res.destroy()
    }
  })

  it('a user without an organization sees neither deployment-level audit events nor the data directory', async () => {
    await post('createUser', { username: 'nobody', password: 'a long enough password 8' }, adminToken)
    const nobody = tokenOf(await login('nobody', 'a long enough password 8'))
    const theirs = collect(await openStream(nobody))
    const admins = collect(await openStream(adminToken))
    try {
      await post('createUser', { username: 'newchief', password: 'a long enough password 7', deploymentAdmin: true }, adminToken)
      await waitFor(() => admins.text().includes('newchief'))
      // A heartbeat written after the event proves the event was (or was not) written to this stream before it.
      const mark = theirs.text().length
      await waitFor(() => theirs.text().slice(mark).includes(': heartbeat'))
      expect(theirs.text()).not.toContain('newchief')

      const settings = await post('getDeploymentSettings', undefined, nobody)
      expect(settings.status).toBe(200)
      expect(JSON.parse(settings.text).result).toMatchObject({ dataDir: null, settingsPath: null })
      expect(settings.text).not.toContain(gw.dataDir)
      // getConnectionInfo (the TAK Servers tab) names the settings file only to deployment admins too.
      const info = await post('getConnectionInfo', undefined, nobody)
      expect(info.status).toBe(200)
      expect(JSON.parse(info.text).result.settingsPath).toBeNull()
      expect(info.text).not.toContain(gw.dataDir)
      const adminSettings = JSON.parse((await post('getDeploymentSettings', undefined, adminToken)).text).result as { dataDir: string }
      expect(adminSettings.dataDir).toBe(gw.dataDir)
    } finally {
      theirs.res.destroy()
      admins.res.destroy()
    }
  })
})

function openStream(token: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    https.get({ ...agentOptions(), path: '/api/events', headers: { authorization: `Bearer ${token}` } }, resolve).on('error', reject)
  })
}

function collect(res: http.IncomingMessage): { res: http.IncomingMessage; text(): string } {
  let text = ''
  res.setEncoding('utf8')
  res.on('data', (c: string) => (text += c))
  return { res, text: () => text }
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (condition()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('timed out waiting for a condition')
}
