// @vitest-environment happy-dom
/// <reference types="node" />
// The browser transport of renderer/src/api.ts against a real HTTP server on 127.0.0.1 (hence Node types here):
// URLs, bearer token kept in localStorage after login (every tab of the browser), errors carrying the gateway's code,
// logout forgetting it, and the gateway's loss and return heard by onReachability.

import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ApiCallError, createHttpBridge, isUnreachable, onReachability } from '../../renderer/src/api.ts'

interface Seen {
  method: string
  url: string
  authorization: string | undefined
  contentType: string | undefined
  body: unknown
}

let server: http.Server
let origin = ''
const seen: Seen[] = []

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (raw += chunk))
    req.on('end', () => {
      const body = raw ? (JSON.parse(raw) as unknown) : null
      const { authorization, 'content-type': contentType } = req.headers
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization, contentType, body })
      const name = (req.url ?? '').replace(/^\/api\//, '')
      const reply = (status: number, payload: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(payload))
      }
      if (name === 'login') reply(200, { ok: true, result: { token: 'tok-123', user: { id: 'u1' }, expiresAt: '2030-01-01T00:00:00Z' } })
      else if (name === 'listNetworks') {
        if (req.headers.authorization === 'Bearer tok-123') reply(200, { ok: true, result: [{ id: 'n1', name: 'Alpha' }] })
        else reply(401, { ok: false, error: { code: 'unauthenticated', message: 'Sign in first.' } })
      } else if (name === 'createNetwork')
        reply(403, { ok: false, error: { code: 'forbidden', message: 'You may not create networks here.' } })
      else if (name === 'logout') reply(200, { ok: true, result: null })
      else reply(404, { ok: false, error: { code: 'not_found', message: `There is no method '${name}'.` } })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // The console is served by the same origin as its API, as `fedgate serve` does.
  ;(window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(`${origin}/`)
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

beforeEach(() => {
  seen.length = 0
  localStorage.clear()
})

describe('HTTP bridge', () => {
  it('posts JSON to ./api/<method>, keeps the login token and sends it as a bearer token', async () => {
    const bridge = createHttpBridge(`${origin}/api/`)
    const result = await bridge.login({ username: 'admin', password: 'pw' })
    expect(result.token).toBe('tok-123')
    const body = { username: 'admin', password: 'pw' }
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/login', contentType: 'application/json', body })
    expect(seen[0]?.authorization).toBeUndefined()
    expect(Object.keys(localStorage).some((key) => localStorage.getItem(key) === 'tok-123')).toBe(true)

    const networks = await bridge.listNetworks({ organizationId: 'o1' })
    expect(networks).toEqual([{ id: 'n1', name: 'Alpha' }])
    expect(seen[1]).toMatchObject({ url: '/api/listNetworks', authorization: 'Bearer tok-123', body: { organizationId: 'o1' } })
  })

  it('a method without arguments sends an empty object', async () => {
    const bridge = createHttpBridge(`${origin}/api/`)
    await bridge.logout()
    expect(seen[0]).toMatchObject({ url: '/api/logout', body: {} })
  })

  it('a new bridge (another tab) reuses the token from localStorage; logout forgets it', async () => {
    await createHttpBridge(`${origin}/api/`).login({ username: 'admin', password: 'pw' })
    const again = createHttpBridge(`${origin}/api/`)
    await expect(again.listNetworks({ organizationId: 'o1' })).resolves.toHaveLength(1)
    await again.logout()
    const afterLogout = createHttpBridge(`${origin}/api/`)
    const error = await afterLogout.listNetworks({ organizationId: 'o1' }).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(ApiCallError)
    expect((error as ApiCallError).code).toBe('unauthenticated')
  })

  it('rejects with an Error carrying the gateway code and sentence', async () => {
    const bridge = createHttpBridge(`${origin}/api/`)
    const error = (await bridge.createNetwork({ organizationId: 'o1', name: 'X' }).catch((err: unknown) => err)) as ApiCallError
    expect(error).toBeInstanceOf(Error)
    expect(error.code).toBe('forbidden')
    expect(error.message).toBe('You may not create networks here.')
  })

  it('an unreachable gateway is an `unavailable` error, not a crash', async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const bridge = createHttpBridge(`http://127.0.0.1:${port}/api/`)
    const error = (await bridge.getSetupState().catch((err: unknown) => err)) as ApiCallError
    expect(error.code).toBe('unavailable')
    // The connection banner speaks for it.
    expect(isUnreachable(error)).toBe(true)
  })

  it('reports the gateway lost when a call gets no answer, and back by itself once it answers again', async () => {
    const heard: boolean[] = []
    const stop = onReachability((reachable) => heard.push(reachable))
    const flaky = http.createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ ok: true, result: { needsFirstAdmin: false, storeRecovery: null } }))
      })
    })
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve))
    const port = (flaky.address() as AddressInfo).port
    const setURL = (url: string): void => (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(url)
    setURL(`http://127.0.0.1:${port}/`)
    const bridge = createHttpBridge(`http://127.0.0.1:${port}/api/`)
    try {
      await bridge.getSetupState()
      await new Promise<void>((resolve) => flaky.close(() => resolve()))
      await expect(bridge.getSetupState()).rejects.toMatchObject({ code: 'unavailable' })
      expect(heard).toEqual([false])
      // The gateway returns on the same port: the bridge's own knocking finds it, no call from the page needed.
      await new Promise<void>((resolve) => flaky.listen(port, '127.0.0.1', resolve))
      await expect.poll(() => heard, { timeout: 8000 }).toEqual([false, true])
    } finally {
      stop()
      setURL(`${origin}/`)
      flaky.closeAllConnections()
      await new Promise<void>((resolve) => flaky.close(() => resolve()))
    }
  })
})
