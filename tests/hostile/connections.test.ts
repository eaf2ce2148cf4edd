// Issue 22, connections: idle connections from several addresses must not hold any listening port (streaming,
// federation, enrollment, Marti, console) nor use up the file handles the others need. Real sockets on loopback
// (attackers on 127.0.0.2 and up, real clients on 127.0.0.1), real TLS with the gateway's CA; caps and deadlines are
// lowered through the gateway's listener policy so a few hundred connections and seconds show what 35k would.

import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startConsoleServer, type ConsoleServer } from '../../gateway/console/server.ts'
import { takFederationArea } from '../../gateway/federation/tak/index.ts'
import type { ListenerLimits, ListenerPolicyOptions, PortName } from '../../gateway/net/listener-guard.ts'
import { DeviceClient } from '../support/device-client.ts'
import { enrollIdentity, martiGet, until, type EnrolledIdentity } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { leafCertificate, throwawayCa, type HardeningLeaf } from '../support/hardening-certs.ts'
import { TakFederate } from '../support/tak-federate.ts'

const PORTS: PortName[] = ['streaming', 'federation', 'enrollment', 'marti', 'console']
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const attacker = (i: number): string => `127.0.0.${i + 2}`

interface Held {
  socket: net.Socket
  closed: () => boolean
}

const everyone: net.Socket[] = []

function track(socket: net.Socket): Held {
  let closed = false
  socket.on('close', () => (closed = true))
  socket.on('error', () => {})
  everyone.push(socket)
  return { socket, closed: () => closed }
}

/** A TCP connection from `from` that never sends a byte (no TLS ClientHello, no HTTP request). */
function rawIdle(port: number, from: string): Promise<Held> {
  return new Promise((resolve) => {
    const held = track(net.connect({ port, host: '127.0.0.1', localAddress: from }))
    held.socket.once('connect', () => resolve(held))
    held.socket.once('close', () => resolve(held))
  })
}

/** A TLS connection from `from` that completes its handshake (with `cert` when given), then says nothing. */
function tlsIdle(port: number, from: string, ca: string, cert?: { cert: string; key: string }): Promise<Held> {
  return new Promise((resolve) => {
    const raw = net.connect({ port, host: '127.0.0.1', localAddress: from })
    const held = track(tls.connect({ socket: raw, ca, servername: 'localhost', ...cert }))
    held.socket.once('secureConnect', () => resolve(held))
    held.socket.once('close', () => resolve(held))
  })
}

async function many(count: number, open: () => Promise<Held>): Promise<Held[]> {
  const out: Held[] = []
  for (let i = 0; i < count; i++) out.push(await open())
  return out
}

const stillOpen = (held: Held[]): number => held.filter((h) => !h.closed()).length

interface Stage {
  t: TestGateway
  console: ConsoleServer
  port: Record<PortName, number>
  device: EnrolledIdentity
  peer: HardeningLeaf
}

async function stage(listeners: ListenerPolicyOptions): Promise<Stage> {
  const t = await startTestGateway({
    env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-conn' },
    listeners
  })
  const consoleServer = await startConsoleServer({ services: t.services, port: 0, host: '127.0.0.1', staticDir: null, log: t.services.log })
  const admin = await t.loginAs('admin', t.adminPassword!)
  const org = await t.ok('createOrganization', { name: 'Conn', plan: 'team' }, admin)
  const networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
  const device = await enrollIdentity(t, admin, networkId, 'REAL')
  const peer = leafCertificate(throwawayCa('Peer CA'), 'real-federate', -1, 30)
  await t.ok('addExternalPeer', { networkId, fingerprint: peer.fingerprint, displayName: 'Real federate' }, admin)
  const { ports } = t.services
  return {
    t,
    console: consoleServer,
    port: {
      streaming: ports.streaming,
      federation: takFederationArea(t.services)!.port,
      enrollment: ports.enrollment,
      marti: ports.marti,
      console: consoleServer.port
    },
    device,
    peer
  }
}

/** A real client of `port` from 127.0.0.1 gets its answer: true, or the reason it did not. */
async function serves(s: Stage, port: PortName): Promise<true | string> {
  try {
    switch (port) {
      case 'streaming': {
        const device = await DeviceClient.connect({ port: s.port.streaming, ...s.device })
        try {
          await until(() => device.received.length > 0, 5000, 'the protocol offer') // the gateway speaks first
        } finally {
          await device.close()
        }
        return true
      }
      case 'federation': {
        const federate = new TakFederate({
          port: s.port.federation,
          ca: s.t.services.pki.caCertPem,
          key: s.peer.keyPem,
          certChain: s.peer.chainPem,
          healthIntervalMs: 300
        }).start()
        try {
          await federate.serving(5000)
        } finally {
          federate.close()
        }
        return true
      }
      case 'enrollment':
        return (await status(https, s.port.enrollment, '/Marti/api/tls/config', s.t.services.pki.caCertPem)) === 401 || 'no 401'
      case 'marti':
        return (await martiGet(s.port.marti, '/Marti/api/version', s.device)).status === 200 || 'no 200'
      case 'console':
        return (await status(http, s.port.console, '/api/events')) === 401 || 'no 401'
    }
  } catch (err) {
    return (err as Error).message
  }
}

function status(lib: typeof http | typeof https, port: number, path: string, ca?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = lib.get({ host: '127.0.0.1', port, path, ca, servername: 'localhost', agent: false, timeout: 5000 }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')))
    req.on('error', reject)
  })
}

afterEach(() => {
  for (const socket of everyone.splice(0)) socket.destroy()
})

describe('idle connections from several addresses, over the caps, on every port', () => {
  const small: Partial<ListenerLimits> = {
    perAddress: 8,
    unadmittedPerAddress: 4,
    total: 24,
    handshakeTimeoutMs: 1500,
    firstRequestTimeoutMs: 1500
  }
  let s: Stage

  beforeAll(async () => {
    s = await stage({ limits: Object.fromEntries(PORTS.map((p) => [p, small])), fileHandleLimit: null })
  })

  afterAll(async () => {
    await s?.console.close()
    await s?.t.stop()
  })

  it('each address keeps only its share, every port serves a real client meanwhile, and the deadlines close the rest', async () => {
    const ca = s.t.services.pki.caCertPem
    const attackers = 5
    const raw = new Map<PortName, Held[][]>()
    for (const port of PORTS) {
      const byAddress: Held[][] = []
      for (let i = 0; i < attackers; i++) byAddress.push(await many(10, () => rawIdle(s.port[port], attacker(i))))
      raw.set(port, byAddress)
    }
    // TLS that completes, then nothing: no request on enrollment (no certificate needed) and on Marti (a device's).
    const quietTls = [
      ...(await many(3, () => tlsIdle(s.port.enrollment, attacker(attackers), ca))),
      ...(await many(3, () => tlsIdle(s.port.marti, attacker(attackers), ca, s.device)))
    ]
    await sleep(300)

    for (const port of PORTS) {
      // 10 opened from each address, 4 may wait to be admitted: the other 6 were cut off at once.
      expect({ port, open: raw.get(port)!.map(stillOpen) }).toEqual({ port, open: Array(attackers).fill(4) })
    }
    expect(stillOpen(quietTls)).toBe(6)

    // With every attacker at its share, each port still has room for the real clients on 127.0.0.1.
    for (const port of PORTS) expect({ port, served: await serves(s, port) }).toEqual({ port, served: true })

    // The deadlines (1.5 s here; 30 s for a handshake and 15 s for a first request by default) close every idle one.
    const all = [...[...raw.values()].flat(2), ...quietTls]
    await until(() => stillOpen(all) === 0, 10_000, 'every idle connection closed by its deadline')
    expect(s.t.logs.join('\n')).toMatch(
      /TAK federation: connection from 127\.0\.0\.\d+ closed: its TLS handshake did not finish within 1\.5 s/
    )
    expect(s.t.logs.join('\n')).toMatch(/Enrollment API: connection from 127\.0\.0\.\d+ (closed|refused)/)
  })
})

describe('a flood on one port cannot take the file handles the other ports need', () => {
  // 400 handles: 200 for the listeners, half of that reserved (20 a port, equal totals), 100 shared.
  const roomy: Partial<ListenerLimits> = { perAddress: 200, unadmittedPerAddress: 200, total: 200 }
  let s: Stage

  beforeAll(async () => {
    s = await stage({ limits: Object.fromEntries(PORTS.map((p) => [p, roomy])), fileHandleLimit: 400 })
  })

  afterAll(async () => {
    await s?.console.close()
    await s?.t.stop()
  })

  it('the streaming and Marti ports take the shared handles and no more; enrollment, federation and console still serve', async () => {
    const streaming: Held[] = []
    const marti: Held[] = []
    for (let i = 0; i < 4; i++) streaming.push(...(await many(50, () => rawIdle(s.port.streaming, attacker(i)))))
    for (let i = 0; i < 4; i++) marti.push(...(await many(50, () => rawIdle(s.port.marti, attacker(i)))))
    await sleep(300)
    // Streaming: its reserve of 20 plus the whole shared 100; Marti then only its own 20.
    expect(stillOpen(streaming)).toBe(120)
    expect(stillOpen(marti)).toBe(20)
    expect(s.t.logs.join('\n')).toMatch(
      /Device streaming: connection from 127\.0\.0\.\d+ refused: the file handles left are kept for the other ports/
    )

    for (const port of ['enrollment', 'federation', 'console'] as const)
      expect({ port, served: await serves(s, port) }).toEqual({ port, served: true })

    // Let go, and the streaming port serves devices again.
    for (const held of [...streaming, ...marti]) held.socket.destroy()
    await until(() => stillOpen(streaming) + stillOpen(marti) === 0, 5000, 'the flood closed')
    await sleep(100)
    expect(await serves(s, 'streaming')).toBe(true)
    expect(await serves(s, 'marti')).toBe(true)
  })
})
