// Issue 18, the live map: one device floods atoms under fresh uids with callsigns of 8 KiB and no contact endpoint
// (so only the map's store takes them). The map keeps at most its count per network, cuts every label to 80
// characters, stays within the shared byte budget, and pushes what changed in batches of at most 1,000.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConsoleEvent } from '../../gateway/api/contract.ts'
import { MAX_MAP_POSITIONS_PER_NETWORK } from '../../gateway/routing/map-positions.ts'
import { DeviceClient } from '../support/device-client.ts'
import { enrollIdentity, until } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'

const FLOOD = MAX_MAP_POSITIONS_PER_NETWORK + 1500
const LONG = 'W'.repeat(8 * 1024)

function atom(uid: string): string {
  const now = new Date().toISOString()
  const stale = new Date(Date.now() + 600_000).toISOString()
  return (
    `<event version="2.0" uid="${uid}" type="a-h-G" how="h-e" time="${now}" start="${now}" stale="${stale}">` +
    `<point lat="1" lon="1" hae="0" ce="1" le="1"/><detail><contact callsign="${LONG}"/></detail></event>`
  )
}

describe('one device and the live map', () => {
  let t: TestGateway
  let networkId = ''
  let admin = ''

  beforeAll(async () => {
    t = await startTestGateway()
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Org', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
  }, 60_000)

  afterAll(async () => {
    await t?.stop()
  })

  it('holds at most its count per network, cuts labels, and pushes in bounded batches', async () => {
    const pushed: ConsoleEvent[] = []
    t.services.events.subscribe((e) => pushed.push(e))
    const id = await enrollIdentity(t, admin, networkId, 'FLOOD-1')
    const flood = await DeviceClient.connect({ port: t.services.ports.streaming, cert: id.cert, key: id.key, ca: id.ca })
    try {
      for (let i = 0; i < FLOOD; i++) flood.send(atom(`flood-${i}`))
      const store = t.services.router.mapPositions
      await until(() => store.entered(networkId).some((p) => p.uid === `flood-${FLOOD - 1}`), 60_000, 'the last atom on the map')
      const held = store.entered(networkId)
      expect(held.length).toBe(MAX_MAP_POSITIONS_PER_NETWORK)
      expect(held[0]!.uid).toBe(`flood-${FLOOD - MAX_MAP_POSITIONS_PER_NETWORK}`)
      expect(Math.max(...held.map((p) => p.callsign.length))).toBeLessThanOrEqual(80)
      expect(t.services.router.cacheBudget.bytes).toBeLessThanOrEqual(t.services.settings.Memory.CacheBytes)
      await until(() => pushed.some((e) => e.type === 'positions'), 5_000, 'a positions push')
      await new Promise((r) => setTimeout(r, 1200))
      for (const e of pushed) if (e.type === 'positions') expect(e.positions.length).toBeLessThanOrEqual(1000)
    } finally {
      await flood.close()
    }
  }, 120_000)
})
