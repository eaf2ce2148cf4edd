// Hardening item 6: a reconnect storm. Gateway B dials gateway A through a TCP relay; A's side drops the link 100
// times, alternately by ending the session with an error status (as A's own code does) and by cutting the TCP
// connection in the relay (a peer that vanishes). B must come back every time, never sooner than the backoff policy
// allows, and open file descriptors and heap return to near their baseline. The jitter is measured on the policy
// itself: a storm's reconnect times are mostly handshake and scheduling noise, and they vary with or without jitter.

import fs from 'node:fs'
import net from 'node:net'
import v8 from 'node:v8'
import vm from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backoffDelay } from '../../../gateway/federation/tak/client.ts'
import { startTakFederation, takFederationArea, type TakFederation } from '../../../gateway/federation/tak/index.ts'
import type { PeerSession } from '../../../gateway/federation/tak/session.ts'
import { until } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

const DROPS = 100
/** Every redial waits base·2^n capped at max, minus up to half as jitter: here always between 20 and 40 ms. */
const REDIAL = { baseDelayMs: 40, maxDelayMs: 40, afterDropMs: 0 }

const openFds = (): number => fs.readdirSync('/proc/self/fd').length
const heapAfterGc = (): number => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A TCP relay to `target` whose live connections can be cut at once. */
function relay(target: number): Promise<{ port: number; cut(): number; close(): Promise<void> }> {
  const pairs = new Set<[net.Socket, net.Socket]>()
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target, '127.0.0.1')
    const pair: [net.Socket, net.Socket] = [inbound, outbound]
    pairs.add(pair)
    inbound.pipe(outbound).pipe(inbound)
    const done = (): void => {
      pairs.delete(pair)
      inbound.destroy()
      outbound.destroy()
    }
    inbound.on('error', done).on('close', done)
    outbound.on('error', done).on('close', done)
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        cut: () => {
          const n = pairs.size
          for (const [inbound, outbound] of [...pairs]) {
            inbound.resetAndDestroy()
            outbound.resetAndDestroy()
          }
          pairs.clear()
          return n
        },
        close: () => new Promise<void>((done) => server.close(() => done()))
      })
    )
  )
}

describe('federation flapping: 100 drops', () => {
  let a: TestGateway
  let b: TestGateway
  let fedA: TakFederation
  let fedB: TakFederation
  let proxy: Awaited<ReturnType<typeof relay>>
  let peerOnA = ''
  let peerOnB = ''

  beforeAll(async () => {
    const env = (id: string): Record<string, string> => ({ Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: id })
    ;[a, b] = await Promise.all([startTestGateway({ env: env('fedgate-a') }), startTestGateway({ env: env('fedgate-b') })])
    fedA = takFederationArea(a.services)!
    await takFederationArea(b.services)!.stop()
    fedB = await startTakFederation(b.services, {
      router: b.services.router!,
      pki: b.services.pki,
      host: '127.0.0.1',
      port: 0,
      redial: REDIAL,
      healthIntervalMs: 1000
    })
    proxy = await relay(fedA.port)
    const [adminA, adminB] = await Promise.all([a.loginAs('admin', a.adminPassword!), b.loginAs('admin', b.adminPassword!)])
    const network = async (t: TestGateway, admin: string): Promise<string> => {
      const org = await t.ok('createOrganization', { name: 'Flap', plan: 'team' }, admin)
      return (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
    }
    const [netA, netB] = await Promise.all([network(a, adminA), network(b, adminB)])
    const fingerprintOfB = b.services.pki.federation!.fingerprint
    peerOnA = (await a.ok('addExternalPeer', { networkId: netA, fingerprint: fingerprintOfB, displayName: 'B' }, adminA)).id
    peerOnB = (
      await b.ok(
        'addExternalPeer',
        {
          networkId: netB,
          fingerprint: a.services.pki.federation!.fingerprint,
          displayName: 'A',
          dial: { address: '127.0.0.1', port: proxy.port }
        },
        adminB
      )
    ).id
    await until(() => fedA.sessionsOf(peerOnA).length === 1 && fedB.sessionsOf(peerOnB).length === 1, 10_000)
  }, 30_000)

  afterAll(async () => {
    await fedB?.stop()
    proxy?.cut()
    await proxy?.close()
    await Promise.all([a?.stop(), b?.stop()])
  })

  /** Drop the link from A's side; resolves with the ms between the drop and B having a new session. */
  async function dropOnce(i: number): Promise<number> {
    const before: PeerSession = fedB.sessionsOf(peerOnB)[0]!
    const beforeOnA = fedA.sessionsOf(peerOnA)[0]!
    // Measured from the moment we drop the link, so a slow poll can only lengthen the figure, never shorten it below
    // the redial delay: the figure is the delay plus B noticing plus a TLS + HTTP/2 handshake on loopback.
    const lostAt = performance.now()
    if (i % 2 === 0) beforeOnA.end('Flapping test drop.')
    else expect(proxy.cut()).toBeGreaterThan(0)
    while (!before.isEnded) await sleep(1)
    for (;;) {
      const now = fedB.sessionsOf(peerOnB)[0]
      if (now && now !== before) break
      if (performance.now() - lostAt > 5000) throw new Error(`drop ${i}: B did not reconnect within 5 s`)
      await sleep(1)
    }
    const gap = performance.now() - lostAt
    await until(() => fedA.sessionsOf(peerOnA).length === 1 && fedA.sessionsOf(peerOnA)[0] !== beforeOnA, 5000)
    return gap
  }

  it('comes back after every drop, never sooner than the policy allows, and fds and heap return to baseline', async () => {
    // Warm-up drops first, so lazily created state is not counted as growth.
    for (let i = 0; i < 4; i++) await dropOnce(i)
    await sleep(1300) // A destroys an ended session's socket after a 1 s grace
    const fdsBefore = openFds()
    const heapBefore = heapAfterGc()

    const gaps: number[] = []
    for (let i = 0; i < DROPS; i++) gaps.push(await dropOnce(i))
    expect(gaps).toHaveLength(DROPS)

    // Never sooner than the policy's shortest wait (half the base): a gap is measured from before the drop, so load
    // can only lengthen it.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(REDIAL.baseDelayMs / 2)

    // The link works after the storm and there is exactly one session each side.
    expect(fedA.sessionsOf(peerOnA)).toHaveLength(1)
    expect(fedB.sessionsOf(peerOnB)).toHaveLength(1)
    expect(fedB.status(peerOnB).connected).toBe(true)

    await sleep(1300)
    const fdsAfter = openFds()
    const heapDelta = heapAfterGc() - heapBefore
    // 100 connections each way came and went: a leak of one descriptor per drop would show as ~100.
    expect(Math.abs(fdsAfter - fdsBefore)).toBeLessThanOrEqual(8)
    expect(heapDelta).toBeLessThan(8 * 1_048_576)
    // 14 to 16 s seen on a loaded two-core machine (30 s was the old bound): the bound is for a hang, not a speed target.
  }, 90_000)
})

// Outside the storm: the policy needs no gateways.
describe('reconnect jitter', () => {
  it('spreads each redial over the policy: from half the delay to all of it, never one fixed value', () => {
    // The dialer takes every redial delay from backoffDelay with Math.random; the bounds as two-gateways.test.ts checks them.
    expect(backoffDelay(0, REDIAL, () => 0)).toBe(REDIAL.baseDelayMs / 2)
    expect(backoffDelay(5, REDIAL, () => 1)).toBe(REDIAL.maxDelayMs)
    const delays = Array.from({ length: DROPS }, (_, attempt) => backoffDelay(attempt, REDIAL))
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(REDIAL.baseDelayMs / 2)
    expect(Math.max(...delays)).toBeLessThanOrEqual(REDIAL.maxDelayMs)
    // 100 draws over the 21 whole milliseconds from 20 to 40: fewer than 11 distinct values would be a fixed delay.
    expect(new Set(delays).size).toBeGreaterThan(10)
  })
})
