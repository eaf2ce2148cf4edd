// The HTTP transport against a real gateway in a temp dir: real sockets on 127.0.0.1, every error path of
// docs/ARCHITECTURE.md §4, the event stream, static files with their security headers, traversal and CSRF refusals.

import fsp from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONSOLE_CSP, startConsoleServer, type ConsoleServer } from '../../../gateway/console/server.ts'
import { serverTls } from '../../../gateway/pki/server-identity.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  json(): { ok: boolean; result?: unknown; error?: { code: string; message: string } }
}

let gw: TestGateway
let server: ConsoleServer
let staticParent: string
let staticDir: string
let adminToken: string

const quietLog = { info: () => {}, warn: () => {}, error: () => {} }

function request(
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; port?: number },
  target = server
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: options.port ?? target.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) })
        })
      }
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

const post = (method: string, body: unknown, token?: string, headers: Record<string, string> = {}): Promise<Answer> =>
  request({
    method: 'POST',
    path: `/api/${method}`,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body)
  })

const snapshot = (): string => JSON.stringify(gw.services.store.data)

beforeAll(async () => {
  gw = await startTestGateway()
  staticParent = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-console-'))
  staticDir = path.join(staticParent, 'dist-web')
  await fsp.mkdir(path.join(staticDir, 'assets'), { recursive: true })
  await fsp.writeFile(path.join(staticDir, 'index.html'), '<!doctype html><title>Fedgate console</title>')
  await fsp.writeFile(path.join(staticDir, 'assets', 'app-1234.js'), 'console.log("app")')
  await fsp.writeFile(path.join(staticParent, 'secret.txt'), 'not for the web')
  await fsp.symlink(path.join(staticParent, 'secret.txt'), path.join(staticDir, 'linked.txt'))
  server = await startConsoleServer({ services: gw.services, port: 0, staticDir, log: quietLog, maxBodyBytes: 64 * 1024, heartbeatMs: 200 })
  const login = await post('login', { username: 'admin', password: gw.adminPassword })
  expect(login.status).toBe(200)
  adminToken = (login.json().result as { token: string }).token
})

afterAll(async () => {
  await server?.close()
  await gw?.stop()
  if (staticParent) await fsp.rm(staticParent, { recursive: true, force: true })
})

describe('POST /api/<method>', () => {
  it('signs in, then answers with the bearer token', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`)
    const login = await post('login', { username: 'admin', password: gw.adminPassword })
    expect(login.status).toBe(200)
    const body = login.json()
    expect(body.ok).toBe(true)
    const token = (body.result as { token: string }).token
    expect(token).toMatch(/^\S{20,}$/)
    const who = await post('whoami', {}, token)
    expect(who.status).toBe(200)
    expect(who.json()).toMatchObject({ ok: true, result: { user: { username: 'admin' } } })
    expect(who.headers['cache-control']).toBe('no-store')
    expect(who.headers['content-security-policy']).toBe(CONSOLE_CSP)
    // No body at all is the same as no arguments.
    expect((await post('whoami', undefined, token)).status).toBe(200)
  })

  it('a wrong password is unauthenticated or invalid, never a session', async () => {
    const res = await post('login', { username: 'admin', password: 'not the password at all' })
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.json().ok).toBe(false)
    expect(res.text).not.toContain('not the password')
  })

  it('missing or unknown token → 401 unauthenticated, store unchanged', async () => {
    const before = snapshot()
    const none = await post('createOrganization', { name: 'Nope' })
    expect(none.status).toBe(401)
    expect(none.json().error?.code).toBe('unauthenticated')
    expect(none.headers['www-authenticate']).toBe('Bearer')
    const wrong = await post('createOrganization', { name: 'Nope' }, 'made-up-token')
    expect(wrong.status).toBe(401)
    expect(wrong.json().error?.code).toBe('unauthenticated')
    expect(snapshot()).toBe(before)
  })

  it('malformed JSON → 400 invalid, store unchanged', async () => {
    const before = snapshot()
    const res = await request({
      method: 'POST',
      path: '/api/createOrganization',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: '{"name": "Half'
    })
    expect(res.status).toBe(400)
    expect(res.json()).toEqual({ ok: false, error: { code: 'invalid', message: 'The request body is not valid JSON.' } })
    expect(snapshot()).toBe(before)
  })

  it('wrong argument types → 400 invalid with a sentence, store unchanged', async () => {
    const before = snapshot()
    const res = await post('createOrganization', { name: 42 }, adminToken)
    expect(res.status).toBe(400)
    const error = res.json().error!
    expect(error.code).toBe('invalid')
    expect(error.message).toMatch(/name/i)
    expect(snapshot()).toBe(before)
  })

  it('unknown method → 404 not_found', async () => {
    const res = await post('launchMissiles', {}, adminToken)
    expect(res.status).toBe(404)
    expect(res.json().error?.code).toBe('not_found')
    const odd = await post('__proto__', {}, adminToken)
    expect(odd.status).toBe(404)
    expect(odd.json().error?.code).toBe('not_found')
    const nested = await request({ method: 'POST', path: '/api/login/extra', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(nested.status).toBe(404)
  })

  it('forbidden for a user without the right → 403, store unchanged', async () => {
    const org = (await post('createOrganization', { name: 'Gamma' }, adminToken)).json().result as { id: string }
    const created = await post(
      'createUser',
      { username: 'carol', password: 'a long enough password 1', organizationId: org.id },
      adminToken
    )
    expect(created.status).toBe(200)
    const carol = ((await post('login', { username: 'carol', password: 'a long enough password 1' })).json().result as { token: string })
      .token
    const before = snapshot()
    const res = await post('createOrganization', { name: 'Carol Inc' }, carol)
    expect(res.status).toBe(403)
    expect(res.json().error?.code).toBe('forbidden')
    expect(snapshot()).toBe(before)
  })

  it('a change made over HTTP is stored', async () => {
    const res = await post('createOrganization', { name: 'Delta' }, adminToken)
    expect(res.status).toBe(200)
    expect(gw.services.store.data.organizations.some((o) => o.name === 'Delta')).toBe(true)
  })

  it('wrong content type → 415 invalid', async () => {
    const before = snapshot()
    const res = await request({
      method: 'POST',
      path: '/api/createOrganization',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${adminToken}` },
      body: '{"name":"Plain"}'
    })
    expect(res.status).toBe(415)
    expect(res.json().error?.code).toBe('invalid')
    expect(snapshot()).toBe(before)
  })

  it('GET on a method → 405', async () => {
    const res = await request({ path: '/api/listOrganizations', headers: { authorization: `Bearer ${adminToken}` } })
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('POST')
    expect(res.json().error?.code).toBe('invalid')
  })

  it('a body over the cap → 413, declared or streamed', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(70 * 1024) })
    const declared = await post('createOrganization', JSON.parse(big), adminToken)
    expect(declared.status).toBe(413)
    expect(declared.json().error?.code).toBe('invalid')
    // Chunked: no Content-Length, so the server must count as the bytes arrive.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/api/createOrganization',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}`, 'transfer-encoding': 'chunked' }
        },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        }
      )
      req.on('error', (err) => (String(err).includes('EPIPE') || String(err).includes('ECONNRESET') ? undefined : reject(err)))
      for (let i = 0; i < 10; i++) req.write('x'.repeat(10 * 1024))
      req.end()
    })
    expect(streamed).toBe(413)
  })
})

describe('large uploads', () => {
  it('a data package of several MiB travels base64 through the default cap and comes back intact', async () => {
    const roomy = await startConsoleServer({ services: gw.services, port: 0, staticDir: null, log: quietLog })
    try {
      const org = (await post('createOrganization', { name: 'Uploads' }, adminToken)).json().result as { id: string }
      const network = (await post('createNetwork', { organizationId: org.id, name: 'Uploads net' }, adminToken)).json().result as {
        id: string
      }
      const content = Buffer.alloc(6 * 1_048_576)
      for (let i = 0; i < content.length; i++) content[i] = (i * 31) & 0xff
      const body = JSON.stringify({ networkId: network.id, name: 'big.bin', contentBase64: content.toString('base64') })
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }
      const uploaded = await request({ method: 'POST', path: '/api/uploadDataPackage', headers, body }, roomy)
      expect(uploaded.status, uploaded.text).toBe(200)
      const id = (uploaded.json().result as { id: string }).id
      const downloaded = await request({ method: 'POST', path: '/api/downloadDataPackage', headers, body: JSON.stringify({ id }) }, roomy)
      expect(downloaded.status).toBe(200)
      expect(Buffer.from((downloaded.json().result as { contentBase64: string }).contentBase64, 'base64').equals(content)).toBe(true)
    } finally {
      await roomy.close()
    }
  })
})

describe('GET /api/events', () => {
  it('refuses a stream without a valid session', async () => {
    const res = await request({ path: '/api/events' })
    expect(res.status).toBe(401)
    expect(res.json().error?.code).toBe('unauthenticated')
    const bad = await request({ path: '/api/events?token=nonsense' })
    expect(bad.status).toBe(401)
  })

  it('delivers events for the session and ends when the session ends', async () => {
    const token = ((await post('login', { username: 'admin', password: gw.adminPassword })).json().result as { token: string }).token
    const received: string[] = []
    let ended = false
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: server.port, path: `/api/events?token=${encodeURIComponent(token)}` }, resolve)
        .on('error', reject)
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP)
    let buffer = ''
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      buffer += chunk
      let at: number
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        received.push(buffer.slice(0, at))
        buffer = buffer.slice(at + 2)
      }
    })
    const endedPromise = new Promise<void>((resolve) => res.on('end', () => ((ended = true), resolve())))

    await post('createOrganization', { name: 'Echo' }, adminToken)
    await waitFor(() => received.some((m) => m.startsWith('data: ') && m.includes('Echo')))
    const message = received.find((m) => m.startsWith('data: ') && m.includes('Echo'))!
    const event = JSON.parse(message.slice('data: '.length)) as { type: string }
    expect(event.type).toBe('auditAppended')
    await waitFor(() => received.some((m) => m === ': heartbeat'))

    // Also accepted: the Authorization header.
    const viaHeader = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: server.port, path: '/api/events', headers: { authorization: `Bearer ${token}` } }, resolve)
        .on('error', reject)
    })
    expect(viaHeader.statusCode).toBe(200)
    viaHeader.resume()

    expect((await post('logout', {}, token)).status).toBe(200)
    await endedPromise
    expect(ended).toBe(true)
    await new Promise<void>((resolve) => (viaHeader.complete ? resolve() : viaHeader.on('end', () => resolve())))
  })

  it('a session that ends elsewhere (expiry, removal) closes its stream at the next heartbeat', async () => {
    const token = ((await post('login', { username: 'admin', password: gw.adminPassword })).json().result as { token: string }).token
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: server.port, path: `/api/events?token=${encodeURIComponent(token)}` }, resolve)
        .on('error', reject)
    })
    expect(res.statusCode).toBe(200)
    res.resume()
    const ended = new Promise<void>((resolve) => res.on('end', () => resolve()))
    await gw.services.accounts.endSession(token)
    await ended
  })

  it('an event about one organization does not reach a member of another', async () => {
    const orgA = (await post('createOrganization', { name: 'Foxtrot' }, adminToken)).json().result as { id: string }
    const orgB = (await post('createOrganization', { name: 'Golf' }, adminToken)).json().result as { id: string }
    await post('createUser', { username: 'gina', password: 'a long enough password 2', organizationId: orgB.id }, adminToken)
    const gina = ((await post('login', { username: 'gina', password: 'a long enough password 2' })).json().result as { token: string })
      .token
    const received: string[] = []
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server.port, path: `/api/events?token=${gina}` }, resolve).on('error', reject)
    })
    res.setEncoding('utf8')
    res.on('data', (c: string) => received.push(c))
    await post('createNetwork', { organizationId: orgA.id, name: 'Secret A' }, adminToken)
    await post('createNetwork', { organizationId: orgB.id, name: 'Visible B' }, adminToken)
    await waitFor(() => received.join('').includes('Visible B'))
    expect(received.join('')).not.toContain('Secret A')
    res.destroy()
  })
})

describe('static files', () => {
  it('serves the renderer with strict headers and falls back to index.html for routes', async () => {
    const index = await request({ path: '/' })
    expect(index.status).toBe(200)
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(index.text).toContain('Fedgate console')
    expect(index.headers['content-security-policy']).toBe(CONSOLE_CSP)
    expect(index.headers['x-content-type-options']).toBe('nosniff')
    expect(index.headers['referrer-policy']).toBe('no-referrer')
    expect(index.headers['x-frame-options']).toBe('DENY')

    const script = await request({ path: '/assets/app-1234.js' })
    expect(script.status).toBe(200)
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(script.headers['cache-control']).toContain('immutable')

    const route = await request({ path: '/networks/net_123?tab=devices' })
    expect(route.status).toBe(200)
    expect(route.text).toContain('Fedgate console')

    const missing = await request({ path: '/assets/missing.js' })
    expect(missing.status).toBe(404)
    expect(missing.headers['content-security-policy']).toBe(CONSOLE_CSP)

    const head = await request({ method: 'HEAD', path: '/' })
    expect(head.status).toBe(200)
    expect(head.text).toBe('')
  })

  it('refuses path traversal in every spelling, and links out of the folder', async () => {
    for (const p of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%5csecret.txt',
      '/linked.txt',
      '/.%2e/secret.txt'
    ]) {
      const res = await rawGet(p)
      expect(res, p).not.toContain('not for the web')
      expect(res, p).toMatch(/^HTTP\/1\.1 (400|404)/)
    }
  })

  it('refuses other methods on static paths', async () => {
    const res = await request({ method: 'DELETE', path: '/index.html' })
    expect(res.status).toBe(405)
  })
})

describe('CSRF and rebinding', () => {
  it('refuses a foreign Origin, accepts our own', async () => {
    const before = snapshot()
    const foreign = await post('createOrganization', { name: 'Evil' }, adminToken, { origin: 'http://evil.example' })
    expect(foreign.status).toBe(403)
    expect(foreign.json().error?.code).toBe('forbidden')
    const crossSite = await post('createOrganization', { name: 'Evil' }, adminToken, { 'sec-fetch-site': 'cross-site' })
    expect(crossSite.status).toBe(403)
    const loginFromElsewhere = await post('login', { username: 'admin', password: gw.adminPassword }, undefined, { origin: 'null' })
    expect(loginFromElsewhere.status).toBe(403)
    expect(snapshot()).toBe(before)
    const own = await post('whoami', {}, adminToken, { origin: `http://127.0.0.1:${server.port}` })
    expect(own.status).toBe(200)
  })

  it('refuses a Host that is not a loopback name (DNS rebinding)', async () => {
    const res = await post('login', { username: 'admin', password: gw.adminPassword }, undefined, {
      host: `evil.example:${server.port}`,
      origin: `http://evil.example:${server.port}`
    })
    expect(res.status).toBe(403)
    const page = await request({ path: '/', headers: { host: 'rebound.example' } })
    expect(page.status).toBe(403)
    const localhost = await request({ path: '/', headers: { host: `localhost:${server.port}` } })
    expect(localhost.status).toBe(200)
  })
})

describe('binding', () => {
  it('refuses a non-loopback address without TLS', async () => {
    await expect(startConsoleServer({ services: gw.services, port: 0, host: '0.0.0.0', staticDir: null, log: quietLog })).rejects.toThrow(
      /TLS/
    )
  })

  it('serves HTTPS with our server certificate', async () => {
    const tlsServer = await startConsoleServer({
      services: gw.services,
      port: 0,
      tls: () => serverTls(gw.services.pki),
      staticDir: null,
      log: quietLog
    })
    try {
      expect(tlsServer.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/)
      const answer = await new Promise<{ status: number; hsts: string | undefined; body: string }>((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            port: tlsServer.port,
            method: 'POST',
            path: '/api/getSetupState',
            ca: gw.services.pki.caCertPem,
            headers: { 'content-type': 'application/json' }
          },
          (res) => {
            let body = ''
            res.on('data', (c: Buffer) => (body += c.toString()))
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, hsts: res.headers['strict-transport-security'] as string | undefined, body })
            )
          }
        )
        req.on('error', reject)
        req.end('{}')
      })
      expect(answer.status).toBe(200)
      expect(answer.hsts).toMatch(/max-age/)
      expect(JSON.parse(answer.body)).toMatchObject({ ok: true, result: { needsFirstAdmin: false } })
      const page = await new Promise<number>((resolve, reject) => {
        https
          .get(
            { host: '127.0.0.1', port: tlsServer.port, path: '/', ca: gw.services.pki.caCertPem },
            (res) => (res.resume(), resolve(res.statusCode ?? 0))
          )
          .on('error', reject)
      })
      expect(page).toBe(503)
    } finally {
      await tlsServer.close()
    }
  })
})

function rawGet(requestPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1', () => {
      socket.write(`GET ${requestPath} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`)
    })
    let text = ''
    socket.on('data', (c: Buffer) => (text += c.toString()))
    socket.on('end', () => resolve(text))
    socket.on('error', reject)
  })
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 20))
  }
}
