// Issue 16 §3, memory: the picture a new TAK session is given (markers, shapes, positions) is something a device can
// grow. One device drops markers of 64 KiB under a fresh uid each: the cache stays within the gateway-wide byte budget
// (Memory:CacheBytes, small here), oldest out first, and a TAK federate that dials in afterwards gets the newest
// markers through its bounded queue, not the evicted ones, and the link stays up.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTakFederation, takFederationArea, type TakFederation } from '../../gateway/federation/tak/index.ts'
import { DeviceClient } from '../support/device-client.ts'
import { enrollIdentity, until } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { testPki, type TestPki } from '../support/pki.ts'
import { federatingEnv } from '../support/tak-gateway.ts'
import { TakFederate } from '../support/tak-federate.ts'

const CACHE_BYTES = 2 * 1_048_576
const FILLER = 'x'.repeat(64 * 1024)
const MARKERS = 96

function bigMarker(uid: string): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 3_600_000)
  return (
    `<event version="2.0" uid="${uid}" type="b-m-p-s-m" how="h-g-i-g-o" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="34.2" lon="-117.3" hae="0" ce="9999999" le="9999999"/>` +
    `<detail><contact callsign="${uid}"/><remarks>${FILLER}</remarks></detail></event>`
  )
}

describe('one device and the picture given to a joining TAK session', () => {
  let t: TestGateway
  let fed: TakFederation
  let tak: TestPki
  let admin = ''
  let networkId = ''

  beforeAll(async () => {
    t = await startTestGateway({ env: { ...federatingEnv('fedgate-flood'), Memory__CacheBytes: String(CACHE_BYTES) } })
    await takFederationArea(t.services)!.stop()
    fed = await startTakFederation(t.services, { router: t.services.router!, pki: t.services.pki, host: '127.0.0.1', port: 0 })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Org', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
    tak = await testPki({ freshCa: true, hostname: 'tak-flood.test', federateId: 'tak-flood' })
  }, 60_000)

  afterAll(async () => {
    await fed?.stop()
    await t?.stop()
    tak?.cleanup()
  })

  it('keeps the markers within the byte budget, oldest out, and a joining federate gets the newest only', async () => {
    const sender = await enrollIdentity(t, admin, networkId, 'FLOOD-1')
    const flood = await DeviceClient.connect({ port: t.services.ports.streaming, cert: sender.cert, key: sender.key, ca: sender.ca })
    for (let i = 0; i < MARKERS; i++) flood.send(bigMarker(`marker-${i}`))
    const router = t.services.router!
    const last = `marker-${MARKERS - 1}`
    await until(() => router.latestPicture(networkId).some((e) => e.uid === last), 20_000, 'the last marker held')

    // What the picture holds, counted from its content, against the budget.
    const held = router.latestPicture(networkId)
    expect(held.reduce((sum, e) => sum + e.xml.length, 0)).toBeLessThanOrEqual(CACHE_BYTES)
    expect(held.length).toBeLessThan(MARKERS)
    expect(router.cacheBudget.bytes).toBeLessThanOrEqual(CACHE_BYTES)

    const peerId = (await t.ok('addExternalPeer', { networkId, fingerprint: tak.pki.federation!.fingerprint, displayName: 'TAK' }, admin))
      .id
    const federate = new TakFederate({
      port: fed.port,
      ca: t.services.pki.caCertPem,
      key: tak.pki.federation!.keyPem,
      certChain: `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
      healthIntervalMs: 500
    }).start()
    try {
      await federate.waitUntil(() => federate.received.some((m) => m.event?.uid === last), 20_000, 'the newest marker')
      const got = federate.received.flatMap((m) => (m.event?.uid ? [m.event.uid] : []))
      expect(got).not.toContain('marker-0')
      expect(got.length).toBeLessThanOrEqual(held.length)
      expect(fed.status(peerId).connected).toBe(true)
    } finally {
      federate.close()
      await flood.close()
    }
  })
})
