// The device-facing HTTPS ports (enrollment 8446, Marti 8443) take connections from anyone on the laptop's network:
// one host holds only a few at a time, everyone together a few hundred, and refusals and failed handshakes are
// logged as a line a window rather than a line each. Real sockets on loopback (127.0.0.1 and 127.0.0.2 as two hosts).

import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { guardListener, type ListenerLimits } from '../../../gateway/net/listener-guard.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { testPki, type TestPki } from '../../support/pki.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A TCP connection that never starts a handshake; `closed` tells whether the server hung up. */
function silent(port: number, from = '127.0.0.1'): Promise<{ socket: net.Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let closed = false
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from })
    socket.on('close', () => (closed = true))
    socket.once('connect', () => resolve({ socket, closed: () => closed }))
    socket.once('error', reject)
  })
}

/** Opens `count` silent connections from `from`, then waits for the server to have acted on each. */
async function openSilent(port: number, count: number, from = '127.0.0.1'): Promise<{ socket: net.Socket; closed: () => boolean }[]> {
  const out = []
  for (let i = 0; i < count; i++) out.push(await silent(port, from))
  await sleep(150)
  return out
}

/** A whole HTTPS request from `from`: the status, or the error's code when the server hung up. */
function get(port: number, ca: string, from: string, path = '/'): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path, ca, servername: 'localhost', localAddress: from, agent: false }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

describe('guardListener', () => {
  let pki: TestPki
  let server: https.Server
  let port = 0
  const lines: string[] = []
  const limits: ListenerLimits = {
    perAddress: 3,
    unadmittedPerAddress: 3,
    total: 5,
    handshakeTimeoutMs: 10_000,
    firstRequestTimeoutMs: 10_000,
    logWindowMs: 400
  }
  const held: net.Socket[] = []

  beforeAll(async () => {
    pki = await testPki()
    server = https.createServer({ key: pki.pki.server.keyPem, cert: pki.pki.server.certPem }, (_req, res) => res.end('ok'))
    guardListener(server, { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) }, 'Test port', limits)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as net.AddressInfo).port
  })

  afterEach(async () => {
    for (const socket of held.splice(0)) socket.destroy()
    // Closing them mid-handshake is refused handshakes too: wait out their window and the one its sum opens.
    await sleep(2 * limits.logWindowMs + 100)
    lines.length = 0
  })

  afterAll(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('one host holds at most perAddress connections; another host is still served, and the first again once it lets go', async () => {
    const first = await openSilent(port, 3)
    held.push(...first.map((c) => c.socket))
    const fourth = await silent(port)
    held.push(fourth.socket)
    await sleep(150)
    expect(first.map((c) => c.closed())).toEqual([false, false, false])
    expect(fourth.closed()).toBe(true)
    expect(await get(port, pki.pki.caCertPem, '127.0.0.1')).toBe('ECONNRESET')
    expect(await get(port, pki.pki.caCertPem, '127.0.0.2')).toBe(200)
    expect(lines).toEqual([expect.stringMatching(/^Test port: connection from 127\.0\.0\.1 refused: it already holds 3$/)])
    // The refused request is the one more in the window's sum: a connection cut off is not counted again as a handshake.
    await sleep(limits.logWindowMs + 100)
    expect(lines[1]).toMatch(
      /^Test port: 1 more refused in the last 0\.4 s \(the last: connection from 127\.0\.0\.1 refused: it already holds 3\)$/
    )

    first[0]!.socket.destroy()
    await sleep(100)
    expect(await get(port, pki.pki.caCertPem, '127.0.0.1')).toBe(200)
  })

  it('all hosts together hold at most total connections', async () => {
    const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']
    for (const from of hosts) held.push(...(await openSilent(port, 1, from)).map((c) => c.socket))
    const sixth = await silent(port, '127.0.0.7')
    held.push(sixth.socket)
    await sleep(150)
    expect(sixth.closed()).toBe(true)
    expect(lines.join('\n')).toMatch(/refused: 5 connections are open/)
  })

  it('failed handshakes make one line at once and one sum per window, not a line each', async () => {
    for (let i = 0; i < 12; i++) {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.1.${i + 1}` })
      socket.on('error', () => {})
      socket.once('connect', () => socket.end('GET / HTTP/1.1\r\n\r\n'))
    }
    await sleep(250)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^Test port: TLS handshake from 127\.0\.1\.\d+ refused \(http request\)$/)
    await sleep(400)
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatch(/^Test port: 11 more refused in the last 0.4 s \(the last: TLS handshake from 127\.0\.1\.\d+ refused/)
    // A quiet window closes the summing: the next refusal is logged at once again.
    await sleep(500)
    expect(lines).toHaveLength(2)
    const late = net.connect({ port, host: '127.0.0.1' })
    late.on('error', () => {})
    late.once('connect', () => late.end('garbage\r\n\r\n'))
    await sleep(200)
    expect(lines).toHaveLength(3)
  })
})

describe('the enrollment and Marti ports are guarded', () => {
  let t: TestGateway

  beforeAll(async () => {
    t = await startTestGateway()
  })

  afterAll(async () => {
    await t?.stop()
  })

  it('the enrollment port lets one host hold 16 connections, and serves another host meanwhile', async () => {
    const port = t.services.ports.enrollment
    const sixteen = await openSilent(port, 16)
    const seventeenth = await silent(port)
    await sleep(150)
    try {
      expect(sixteen.filter((c) => c.closed())).toHaveLength(0)
      expect(seventeenth.closed()).toBe(true)
      expect(await get(port, t.services.pki.caCertPem, '127.0.0.2', '/Marti/api/tls/config')).toBe(401)
      expect(t.logs.filter((line) => line.includes('Enrollment API: connection from 127.0.0.1 refused'))).toHaveLength(1)
    } finally {
      for (const c of [...sixteen, seventeenth]) c.socket.destroy()
    }
  })

  it('the Marti port lets one host hold 64 connections', async () => {
    const port = t.services.ports.marti
    const sixtyFour = await openSilent(port, 64)
    const next = await silent(port)
    await sleep(150)
    try {
      expect(sixtyFour.filter((c) => c.closed())).toHaveLength(0)
      expect(next.closed()).toBe(true)
    } finally {
      for (const c of [...sixtyFour, next]) c.socket.destroy()
    }
  })
})

describe('the first-request deadline of an HTTP port', () => {
  const limits: ListenerLimits = {
    perAddress: 8,
    unadmittedPerAddress: 8,
    total: 16,
    handshakeTimeoutMs: 10_000,
    firstRequestTimeoutMs: 300,
    logWindowMs: 60_000
  }
  let server: http.Server
  let port = 0

  beforeAll(async () => {
    // Answers once the whole body is in: a slow upload keeps its request open far past the deadline.
    server = http.createServer((req, res) => {
      let bytes = 0
      req.on('data', (c: Buffer) => (bytes += c.length))
      req.on('end', () => res.end(String(bytes)))
    })
    guardListener(server, { info() {}, warn() {}, error() {} }, 'Test port', limits)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as net.AddressInfo).port
  })

  afterAll(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('closes a connection that sends no request, and leaves one whose request has started alone however long it runs', async () => {
    const idle = await silent(port)
    const upload = await silent(port)
    upload.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n')
    let answer = ''
    upload.socket.on('data', (c: Buffer) => (answer += c.toString()))
    for (let i = 0; i < 9; i++) {
      await sleep(100)
      upload.socket.write('x')
    }
    expect(idle.closed()).toBe(true)
    expect(upload.closed()).toBe(false)
    upload.socket.write('x')
    await sleep(100)
    expect(answer).toMatch(/^HTTP\/1\.1 200[\s\S]*\r\n\r\n10$/)
    upload.socket.destroy()
  })
})
