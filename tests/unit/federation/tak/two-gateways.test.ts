// Two Fedgates federating over loopback with TAK federation v2: B dials A (client role, pinned fingerprint),
// A accepts B's registered certificate (server role). Devices on each side exchange CoT through the link, toggles
// on either end act live, a wrong fingerprint is refused by the dialer, B reconnects after A's side restarts, and
// two ends that both dial keep one connection.

import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packagesArea } from '../../../../gateway/packages/index.ts'
import { zipOf } from '../../../support/zip.ts'
import { startTakFederation, type TakFederation } from '../../../../gateway/federation/tak/index.ts'
import { backoffDelay } from '../../../../gateway/federation/tak/client.ts'
import { DeviceClient } from '../../../support/device-client.ts'
import { directMessage, enrollIdentity, until } from '../../../support/devices.ts'
import type { TestGateway } from '../../../support/gateway.ts'
import { federatePair, startFederatingGateway } from '../../../support/tak-gateway.ts'

const FAST_REDIAL = { baseDelayMs: 100, maxDelayMs: 400, afterDropMs: 300 }

interface Side {
  t: TestGateway
  fed: TakFederation
  admin: string
  networkId: string
  device: DeviceClient
  callsign: string
  peerId: string
}

function pli(uid: string, callsign: string, remark: string): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 120_000)
  return (
    `<event version="2.0" uid="${uid}" type="a-f-G-U-C" how="m-g" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="1.5" lon="2.5" hae="3" ce="4" le="5"/><detail><contact callsign="${callsign}" endpoint="*:-1:stcp"/><remarks>${remark}</remarks></detail></event>`
  )
}

const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function side(federateId: string, callsign: string): Promise<Side> {
  const { t, fed, admin, networkId } = await startFederatingGateway(federateId, FAST_REDIAL)
  const identity = await enrollIdentity(t, admin, networkId, callsign)
  const device = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
  device.send(pli(`${callsign}-UID`, callsign, 'hello'))
  return { t, fed, admin, networkId, device, callsign, peerId: '' }
}

describe('two Fedgates over TAK federation v2', () => {
  let a: Side
  let b: Side
  let counter = 0

  /** A sends a marked event; resolves whether B's device got it within the wait. */
  async function crosses(from: Side, to: Side, waitMs = 1500): Promise<boolean> {
    const mark = `m${++counter}-${from.callsign}`
    from.device.send(pli(`${from.callsign}-UID`, from.callsign, mark))
    try {
      await to.device.waitFor((e) => e.detailXml.includes(mark), waitMs)
      return true
    } catch {
      return false
    }
  }

  beforeAll(async () => {
    ;[a, b] = await Promise.all([side('fedgate-a', 'ALPHA'), side('fedgate-b', 'BRAVO')])
    // A accepts B's certificate; B dials A and pins A's certificate.
    ;({ acceptingPeerId: a.peerId, dialingPeerId: b.peerId } = await federatePair(a, b, { accepting: 'Fedgate B', dialing: 'Fedgate A' }))
  })

  afterAll(async () => {
    for (const s of [a, b]) {
      await s?.device.close()
      await s?.fed.stop()
      await s?.t.stop()
    }
  })

  it('connects in the right roles and exchanges CoT and contacts both ways', async () => {
    expect(a.fed.sessionsOf(a.peerId)[0]!.role).toBe('server')
    expect(b.fed.sessionsOf(b.peerId)[0]!.role).toBe('client')
    expect(await crosses(a, b, 4000)).toBe(true)
    expect(await crosses(b, a, 4000)).toBe(true)
    // Each side learned the other's device as a contact, so direct messages can find it.
    await until(() => b.fed.sessionsOf(b.peerId)[0]!.remoteContacts.get('ALPHA-UID') === 'ALPHA', 3000, 'ALPHA as a contact on B')
    await until(() => a.fed.sessionsOf(a.peerId)[0]!.remoteContacts.get('BRAVO-UID') === 'BRAVO', 3000, 'BRAVO as a contact on A')
    const received = await b.device.waitFor((e) => e.uid === 'ALPHA-UID')
    expect(received.point).toEqual({ lat: 1.5, lon: 2.5, hae: 3, ce: 4, le: 5 })
    await until(() => a.fed.status(a.peerId).outPerSecond > 0 && b.fed.status(b.peerId).inPerSecond > 0, 3000, 'rates')
  })

  it('carries a direct message to the named device on the other side (contacts, ptpCallsigns, dest)', async () => {
    b.device.sendRaw(directMessage('dm-1', 'ALPHA', 'only for alpha'))
    const got = await a.device.waitFor((e) => e.uid === 'dm-1', 3000)
    expect(got.detailXml).toContain('only for alpha')
    // Delivered as TAK Server does: the dest element is removed before it reaches the device.
    expect(got.xml.toString()).not.toContain('<dest')
    b.device.sendRaw(directMessage('dm-2', 'NOBODY', 'for nobody'))
    await settle(500)
    expect(a.device.received.filter((e) => e.uid === 'dm-2').map((e) => e.xml.toString())).toEqual([])
  })

  it('carries data packages both ways over ROL, each stored once with its bytes, only where DP-Out meets DP-In', async () => {
    const upload = async (s: Side, name: string): Promise<{ hash: string; bytes: Buffer }> => {
      const bytes = await zipOf(
        { 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'payload.bin': randomBytes(300_000) },
        { compress: false }
      )
      const record = await s.t.ok('uploadDataPackage', { networkId: s.networkId, name, contentBase64: bytes.toString('base64') }, s.admin)
      return { hash: record.hash, bytes }
    }
    const fromPeer = async (s: Side, hash: string): Promise<number> =>
      (await s.t.ok('listDataPackages', { networkId: s.networkId }, s.admin)).filter((p) => p.hash === hash && p.source.kind === 'peer')
        .length
    const storedBytes = (s: Side, hash: string): Buffer => fs.readFileSync(packagesArea(s.t.services)!.store.filePath(hash))

    // DP-Out is off by default: nothing crosses.
    const quiet = await upload(b, 'quiet.zip')
    await settle(600)
    expect(await fromPeer(a, quiet.hash)).toBe(0)

    // B (dialing) shares, A (accepting) takes: B's earlier package goes as soon as its DP-Out opens, a new one follows.
    await a.t.ok('updateExternalPeer', { id: a.peerId, acceptPackages: true }, a.admin)
    await b.t.ok('updateExternalPeer', { id: b.peerId, sharePackages: true }, b.admin)
    for (let i = 0; i < 100 && (await fromPeer(a, quiet.hash)) === 0; i++) await settle(50)
    expect(await fromPeer(a, quiet.hash)).toBe(1)
    const fromB = await upload(b, 'from-b.zip')
    for (let i = 0; i < 100 && (await fromPeer(a, fromB.hash)) === 0; i++) await settle(50)
    expect(await fromPeer(a, fromB.hash)).toBe(1)
    expect(storedBytes(a, fromB.hash).equals(fromB.bytes)).toBe(true)
    expect(storedBytes(a, quiet.hash).equals(quiet.bytes)).toBe(true)

    // A shares back to B (B reads it on ClientROLStream as the dialing side); B does not send it back again.
    await a.t.ok('updateExternalPeer', { id: a.peerId, sharePackages: true }, a.admin)
    await b.t.ok('updateExternalPeer', { id: b.peerId, acceptPackages: true }, b.admin)
    const fromA = await upload(a, 'from-a.zip')
    for (let i = 0; i < 100 && (await fromPeer(b, fromA.hash)) === 0; i++) await settle(50)
    expect(await fromPeer(b, fromA.hash)).toBe(1)
    expect(storedBytes(b, fromA.hash).equals(fromA.bytes)).toBe(true)
    await settle(500)
    // Single hop: what arrived from a peer is never offered to a peer, so each side holds one copy of each.
    expect((await a.t.ok('listDataPackages', { networkId: a.networkId }, a.admin)).filter((p) => p.hash === fromA.hash)).toHaveLength(1)
    expect((await b.t.ok('listDataPackages', { networkId: b.networkId }, b.admin)).filter((p) => p.hash === fromB.hash)).toHaveLength(1)
    for (const [s, id] of [
      [a, a.peerId],
      [b, b.peerId]
    ] as const) {
      await s.t.ok('updateExternalPeer', { id, sharePackages: false, acceptPackages: false }, s.admin)
    }
  })

  it('keeps positions flowing, none lost, while three 8 MiB packages cross the same link', async () => {
    await a.t.ok('updateExternalPeer', { id: a.peerId, sharePackages: true }, a.admin)
    await b.t.ok('updateExternalPeer', { id: b.peerId, acceptPackages: true }, b.admin)
    // Three at once: B stores one while the next waits on its ROL stream (read in order, paused), beside the events.
    const zips = await Promise.all(
      [0, 1, 2].map(() =>
        zipOf(
          { 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'imagery.bin': randomBytes(8 * 1_048_576) },
          { compress: false }
        )
      )
    )
    const flow = (): number[] =>
      b.device.received.filter((e) => e.detailXml.includes('flow-')).map((e) => Number(/flow-(\d+)/.exec(e.detailXml)![1]))
    // A's device reports 100 positions a second; B's device's arrivals are sampled every 5 ms.
    let sending = true
    let sent = 0
    const sender = (async () => {
      while (sending) {
        a.device.send(pli('ALPHA-UID', 'ALPHA', `flow-${sent++}`))
        await settle(10)
      }
    })()
    // [time, positions so far]: by the clock, since a stalled event loop (this process hosts both gateways) takes no samples.
    const samples: [number, number][] = []
    const sampler = setInterval(() => samples.push([performance.now(), flow().length]), 5)
    await settle(500)
    const transferFrom = samples.length
    for (const [i, zip] of zips.entries()) {
      await a.t.ok(
        'uploadDataPackage',
        { networkId: a.networkId, name: `imagery-${i}.zip`, contentBase64: zip.toString('base64') },
        a.admin
      )
    }
    const storedAtB = async (): Promise<number> =>
      (await b.t.ok('listDataPackages', { networkId: b.networkId }, b.admin)).filter(
        (p) => p.name.startsWith('imagery-') && p.source.kind === 'peer'
      ).length
    let stored = false
    for (let i = 0; i < 300 && !stored; i++) {
      stored = (await storedAtB()) === 3
      if (!stored) await settle(20)
    }
    const transferTo = samples.length
    await settle(300)
    sending = false
    await sender
    await until(() => flow().length === sent, 3000, 'every position')
    clearInterval(sampler)
    expect(stored).toBe(true)
    expect(flow()).toEqual(Array.from({ length: sent }, (_, i) => i))
    // The longest time without a new position at B while the package crossed.
    let longest = 0
    let lastChange = samples[transferFrom - 1]![0]
    for (let i = transferFrom; i < transferTo; i++) {
      if (samples[i]![1] === samples[i - 1]![1]) continue
      longest = Math.max(longest, samples[i]![0] - lastChange)
      lastChange = samples[i]![0]
    }
    longest = Math.max(longest, samples[transferTo - 1]![0] - lastChange)
    expect(longest).toBeLessThan(750)
    for (const [s, id] of [
      [a, a.peerId],
      [b, b.peerId]
    ] as const) {
      await s.t.ok('updateExternalPeer', { id, sharePackages: false, acceptPackages: false }, s.admin)
    }
  })

  it('applies toggles on either end live', async () => {
    await a.t.ok('updateExternalPeer', { id: a.peerId, outgoing: false }, a.admin)
    expect(await crosses(a, b, 700)).toBe(false)
    expect(await crosses(b, a)).toBe(true)
    await a.t.ok('updateExternalPeer', { id: a.peerId, outgoing: true }, a.admin)
    await b.t.ok('updateExternalPeer', { id: b.peerId, incoming: false }, b.admin)
    expect(await crosses(a, b, 700)).toBe(false)
    await b.t.ok('updateExternalPeer', { id: b.peerId, incoming: true }, b.admin)
    expect(await crosses(a, b)).toBe(true)
  })

  it('reconnects after the accepting side restarts', async () => {
    const port = a.fed.port
    await a.fed.stop()
    await until(() => !b.fed.status(b.peerId).connected, 5000, 'B noticing the drop')
    expect(await crosses(b, a, 500)).toBe(false)
    a.fed = await startTakFederation(a.t.services, {
      router: a.t.services.router!,
      pki: a.t.services.pki,
      host: '127.0.0.1',
      port,
      statusIntervalMs: 100
    })
    await until(() => a.fed.status(a.peerId).connected && b.fed.status(b.peerId).connected, 10_000, 'the reconnection')
    expect(await crosses(b, a, 3000)).toBe(true)
    expect(await crosses(a, b, 3000)).toBe(true)
  })

  it('keeps one connection when both ends are set to dial: the second waits, and a simultaneous start settles', async () => {
    const connects = (s: Side): number => s.t.logs.filter((line) => line.includes("' connected (")).length
    const restart = async (s: Side): Promise<void> => {
      const port = s.fed.port
      await s.fed.stop()
      s.fed = await startTakFederation(s.t.services, {
        router: s.t.services.router!,
        pki: s.t.services.pki,
        host: '127.0.0.1',
        port,
        redial: FAST_REDIAL,
        healthIntervalMs: 300,
        statusIntervalMs: 100
      })
    }
    await until(() => a.fed.status(a.peerId).connected && b.fed.status(b.peerId).connected, 10_000, 'the link')
    // A is told to dial B while B's connection to A is up: A stands by instead of opening a second one.
    await a.t.ok('updateExternalPeer', { id: a.peerId, dial: { address: '127.0.0.1', port: b.fed.port } }, a.admin)
    let before = [connects(a), connects(b)]
    await settle(1500)
    expect([connects(a) - before[0]!, connects(b) - before[1]!]).toEqual([0, 0])
    expect(a.fed.sessionsOf(a.peerId).map((x) => x.role)).toEqual(['server'])

    // Both start at once, each dialing the other: they settle on one connection and stay there.
    await Promise.all([restart(a), restart(b)])
    await until(() => a.fed.status(a.peerId).connected && b.fed.status(b.peerId).connected, 10_000, 'the link after both restarted')
    await settle(1000)
    before = [connects(a), connects(b)]
    await settle(3000) // ten health intervals, ten redial delays
    expect([connects(a) - before[0]!, connects(b) - before[1]!]).toEqual([0, 0])
    const roles = [...a.fed.sessionsOf(a.peerId), ...b.fed.sessionsOf(b.peerId)].filter((x) => !x.isEnded).map((x) => x.role)
    expect(roles.sort()).toEqual(['client', 'server'])
    expect(await crosses(a, b, 3000)).toBe(true)
    expect(await crosses(b, a, 3000)).toBe(true)
    await a.t.ok('updateExternalPeer', { id: a.peerId, dial: null }, a.admin)
  }, 30_000)

  it('refuses to federate with a server whose certificate is not the registered one', async () => {
    const wrong = '00:'.repeat(31) + '00'
    const peer = await b.t.ok(
      'addExternalPeer',
      { networkId: b.networkId, fingerprint: wrong, displayName: 'Impostor', dial: { address: '127.0.0.1', port: a.fed.port } },
      b.admin
    )
    await until(() => (b.fed.status(peer.id).lastError ?? '').includes('presented certificate'), 5000, 'the mismatch error')
    expect(b.fed.status(peer.id).connected).toBe(false)
    await b.t.ok('removeExternalPeer', { id: peer.id }, b.admin)
  })

  it('backs off exponentially with jitter up to the cap', () => {
    const policy = { baseDelayMs: 2000, maxDelayMs: 60_000, afterDropMs: 15_000 }
    expect(backoffDelay(0, policy, () => 1)).toBe(2000)
    expect(backoffDelay(3, policy, () => 1)).toBe(16_000)
    expect(backoffDelay(10, policy, () => 1)).toBe(60_000)
    expect(backoffDelay(3, policy, () => 0)).toBe(8000)
  })
})
