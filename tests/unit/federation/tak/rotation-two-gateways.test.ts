// Two Fedgates over TAK federation v2 rotate their federation certificates with no manual step: each prepares a next
// one, the other learns it over the live link (HealthCheck metadata), both switch while devices stream both ways
// (every event delivered once), and when the link is made again each side presents its new certificate, which the
// other accepts and promotes to its only pin.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTakFederation, type TakFederation } from '../../../../gateway/federation/tak/index.ts'
import { DeviceClient } from '../../../support/device-client.ts'
import { enrollIdentity, until } from '../../../support/devices.ts'
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

async function side(federateId: string, callsign: string): Promise<Side> {
  const { t, fed, admin, networkId } = await startFederatingGateway(federateId, FAST_REDIAL)
  const identity = await enrollIdentity(t, admin, networkId, callsign)
  const device = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
  device.send(pli(`${callsign}-UID`, callsign, 'hello'))
  return { t, fed, admin, networkId, device, callsign, peerId: '' }
}

const pinOf = (s: Side): { fingerprint: string; nextFingerprint?: string | null } =>
  s.t.services.store.data.externalPeers.find((p) => p.id === s.peerId)!

/** How many times each of the sender's marks reached the receiver's device. */
function marksSeen(receiver: Side, sender: Side, prefix: string): Map<string, number> {
  const seen = new Map<string, number>()
  for (const e of receiver.device.events) {
    if (e.uid !== `${sender.callsign}-UID`) continue
    const mark = new RegExp(`<remarks>(${prefix}-\\d+)</remarks>`).exec(e.detailXml)?.[1]
    if (mark) seen.set(mark, (seen.get(mark) ?? 0) + 1)
  }
  return seen
}

describe('two Fedgates rotate their federation certificates', () => {
  let a: Side
  let b: Side

  beforeAll(async () => {
    ;[a, b] = await Promise.all([side('fedgate-a', 'ALPHA'), side('fedgate-b', 'BRAVO')])
    ;({ acceptingPeerId: a.peerId, dialingPeerId: b.peerId } = await federatePair(a, b, { accepting: 'Fedgate B', dialing: 'Fedgate A' }))
  })

  afterAll(async () => {
    for (const s of [a, b]) {
      await s?.device.close()
      await s?.fed.stop()
      await s?.t.stop()
    }
  })

  it('learns the next certificate over the link, switches under streaming traffic, and promotes it on the next connection', async () => {
    const oldA = a.t.services.pki.federation!.fingerprint
    const oldB = b.t.services.pki.federation!.fingerprint
    const nextA = (await a.t.ok('prepareNextFederationCertificate', {}, a.admin)).next!.fingerprint
    const nextB = (await b.t.ok('prepareNextFederationCertificate', {}, b.admin)).next!.fingerprint
    // Learned both ways within a few health checks: B dials (A's answer carries A's), A accepts (B's request carries B's).
    await until(() => pinOf(b).nextFingerprint === nextA && pinOf(a).nextFingerprint === nextB, 5000, 'both next fingerprints learned')
    expect((await b.t.ok('listExternalPeers', { networkId: b.networkId }, b.admin))[0]).toMatchObject({
      fingerprint: oldA,
      nextFingerprint: nextA
    })

    // Devices stream both ways while both sides switch.
    const total = 60
    for (let i = 0; i < total; i++) {
      a.device.send(pli('ALPHA-UID', 'ALPHA', `a-${i}`))
      b.device.send(pli('BRAVO-UID', 'BRAVO', `b-${i}`))
      if (i === 20) await a.t.ok('switchFederationCertificate', {}, a.admin)
      if (i === 30) await b.t.ok('switchFederationCertificate', {}, b.admin)
      await new Promise((r) => setTimeout(r, 15))
    }
    await until(() => marksSeen(b, a, 'a').size === total && marksSeen(a, b, 'b').size === total, 5000, 'every streamed event')
    await new Promise((r) => setTimeout(r, 300))
    for (const seen of [marksSeen(b, a, 'a'), marksSeen(a, b, 'b')]) {
      expect(seen.size).toBe(total)
      expect([...seen.values()].every((n) => n === 1)).toBe(true)
    }
    expect(a.t.services.pki.federation!.fingerprint).toBe(nextA)
    expect(b.t.services.pki.federation!.fingerprint).toBe(nextB)

    // The link is made again (A's side restarts): both present their new certificates, accepted and promoted.
    const port = a.fed.port
    await a.fed.stop()
    await until(() => !b.fed.status(b.peerId).connected, 5000, 'B noticing the drop')
    a.fed = await startTakFederation(a.t.services, {
      router: a.t.services.router!,
      pki: a.t.services.pki,
      host: '127.0.0.1',
      port,
      statusIntervalMs: 100
    })
    await until(() => a.fed.status(a.peerId).connected && b.fed.status(b.peerId).connected, 10_000, 'the link on the new certificates')
    await until(() => pinOf(a).fingerprint === nextB && pinOf(b).fingerprint === nextA, 3000, 'both pins promoted')
    expect(pinOf(a)).toMatchObject({ fingerprint: nextB, nextFingerprint: null })
    expect(pinOf(b)).toMatchObject({ fingerprint: nextA, nextFingerprint: null })
    expect([oldA, oldB]).not.toContain(pinOf(a).fingerprint)
    a.device.send(pli('ALPHA-UID', 'ALPHA', 'after-1'))
    await b.device.waitFor((e) => e.detailXml.includes('after-1'), 3000)
    b.device.send(pli('BRAVO-UID', 'BRAVO', 'after-2'))
    await a.device.waitFor((e) => e.detailXml.includes('after-2'), 3000)
  })
})
