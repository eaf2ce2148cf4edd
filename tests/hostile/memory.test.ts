// Issue 22, memory: one device must not be able to make the gateway hold memory without bound. (1) Position reports
// of ~256 KiB under a fresh uid each filled the latest-position cache (10,000 per network, whatever their size) until
// the heap ran out; the cache is now charged to the gateway-wide byte budget, Memory:CacheBytes (small here).
// (2) A zip bomb uploaded through Marti and shared with a TAK federate was expanded in memory to check its entries.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceClient } from '../support/device-client.ts'
import { enrollIdentity, pli, until, type EnrolledIdentity } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'

const CACHE_BYTES = 2 * 1_048_576
const REPORT_FILLER = 'x'.repeat(256 * 1024)
const REPORTS = 48

describe('one device and the latest-position cache', () => {
  let t: TestGateway
  let networkId: string
  let sender: EnrolledIdentity
  let late: EnrolledIdentity

  beforeAll(async () => {
    t = await startTestGateway({ env: { Memory__CacheBytes: String(CACHE_BYTES) } })
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Org', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
    sender = await enrollIdentity(t, admin, networkId, 'FLOOD-1')
    late = await enrollIdentity(t, admin, networkId, 'LATE-1')
  }, 60_000)

  afterAll(async () => {
    await t?.stop()
  })

  it('keeps the cached positions within the byte budget and still replays the newest to a device that connects later', async () => {
    const port = t.services.ports.streaming
    const flood = await DeviceClient.connect({ port, cert: sender.cert, key: sender.key, ca: sender.ca })
    for (let i = 0; i < REPORTS; i++) flood.send(pli(`flood-${i}`, `FLOOD-${i}`, { lat: 10, lon: 10 }, REPORT_FILLER))
    const router = t.services.router!
    const lastUid = `flood-${REPORTS - 1}`
    await until(() => router.latestPositions(networkId).some((e) => e.uid === lastUid), 20_000, 'the last report in the cache')

    // What the cache holds, counted from its content (not from the budget's own figure), against the budget.
    const held = router.latestPositions(networkId)
    const heldBytes = held.reduce((sum, e) => sum + e.xml.length, 0)
    expect(heldBytes).toBeLessThanOrEqual(CACHE_BYTES)
    expect(held.length).toBeLessThan(REPORTS)
    expect(router.cacheBudget.bytes).toBeLessThanOrEqual(CACHE_BYTES)
    expect((await t.gateway.services.health()).dropsByReason['cache.evicted']).toBeGreaterThan(0)

    // A device that connects later gets the newest positions (oldest evicted first), not the first ones.
    const phone = await DeviceClient.connect({ port, cert: late.cert, key: late.key, ca: late.ca })
    await phone.waitFor((e) => e.uid === lastUid, 10_000)
    expect(phone.events.some((e) => e.uid === 'flood-0')).toBe(false)
    await phone.close()
    await flood.close()
  })
})
