// The live map's positions (issue 18) over a real gateway: devices enrolled on networks A and B (federated)
// stream PLIs over mutual TLS; listPositions shows each where its last PLI put it, with its source; a user of
// another organization sees none of it, by method or by event; and the store stays within its count, bytes and stale time.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConsoleEvent, PositionDto } from '../../../gateway/api/contract.ts'
import { parseEvent } from '../../../gateway/cot/parse.ts'
import { eventForUser } from '../../../gateway/events.ts'
import { ByteBudget } from '../../../gateway/routing/byte-budget.ts'
import { MapPositions, STALE_GRACE_MS } from '../../../gateway/routing/map-positions.ts'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity, pli, until } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

function trackedPli(uid: string, callsign: string, lat: number, lon: number, staleMs = 120_000): string {
  const now = new Date()
  return (
    `<event version="2.0" uid="${uid}" type="a-f-G-U-C" how="m-g" time="${now.toISOString()}" start="${now.toISOString()}" ` +
    `stale="${new Date(now.getTime() + staleMs).toISOString()}"><point lat="${lat}" lon="${lon}" hae="20" ce="9.9" le="9999999"/>` +
    `<detail><contact callsign="${callsign}" endpoint="*:-1:stcp"/><track course="271.5" speed="3.2"/></detail></event>`
  )
}

describe('live map positions over a real gateway', () => {
  let t: TestGateway
  let admin = ''
  let outsider = ''
  const nets = { a: '', b: '', other: '' }
  let orgId = ''
  const devices: DeviceClient[] = []
  const pushed: ConsoleEvent[] = []

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
    const otherOrg = await t.ok('createOrganization', { name: 'Elsewhere', plan: 'team' }, admin)
    orgId = org.id
    nets.a = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
    nets.b = (await t.ok('createNetwork', { organizationId: org.id, name: 'Bravo' }, admin)).id
    nets.other = (await t.ok('createNetwork', { organizationId: otherOrg.id, name: 'Other' }, admin)).id
    await t.ok('federateWithinOrganization', { networkId: nets.a, otherNetworkId: nets.b }, admin)
    await t.ok('createUser', { username: 'outsider', password: 'outsider-password', organizationId: otherOrg.id }, admin)
    outsider = await t.loginAs('outsider', 'outsider-password')
    t.services.events.subscribe((e) => pushed.push(e))
    for (const [net, callsign] of [
      [nets.a, 'ALPHA-1'],
      [nets.b, 'BRAVO-1']
    ] as const) {
      const id = await enrollIdentity(t, admin, net, callsign)
      devices.push(await DeviceClient.connect({ port: t.services.ports.streaming, cert: id.cert, key: id.key, ca: id.ca }))
    }
  })

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()))
    await t?.stop()
  })

  it('shows each device where its last PLI put it, with course, speed, a trail and its source, on its network and across the federation', async () => {
    devices[0]!.send(trackedPli('alpha-1', 'ALPHA-1', 10, 20))
    devices[0]!.send(trackedPli('alpha-1', 'ALPHA-1', 10.5, 20.5))
    devices[1]!.send(pli('bravo-1', 'BRAVO-1', { lat: -33.9, lon: 151.2 }))
    let onB: PositionDto[] = []
    for (let i = 0; i < 50 && onB.length < 2; i++) {
      onB = await t.ok('listPositions', { networkId: nets.b }, admin)
      if (onB.length < 2 || onB.find((p) => p.uid === 'alpha-1')?.lat !== 10.5) await new Promise((r) => setTimeout(r, 50))
    }
    const alpha = onB.find((p) => p.uid === 'alpha-1')!
    expect(alpha).toMatchObject({
      callsign: 'ALPHA-1',
      lat: 10.5,
      lon: 20.5,
      course: 271.5,
      speed: 3.2,
      sourceKind: 'network',
      sourceId: nets.a
    })
    expect(alpha.sourceName).toBe('Alpha')
    expect(alpha.trail).toEqual([
      [10, 20],
      [10.5, 20.5]
    ])
    expect(onB.find((p) => p.uid === 'bravo-1')).toMatchObject({ lat: -33.9, lon: 151.2, sourceName: 'Bravo' })
    // The federation is on both ways: Alpha's map shows Bravo's device too, under Bravo.
    const onA = await t.ok('listPositions', { networkId: nets.a }, admin)
    expect(onA.find((p) => p.uid === 'bravo-1')).toMatchObject({ sourceId: nets.b, networkId: nets.a })
    // The organization's map lists the Alpha device once, though two networks show it.
    const org = await t.ok('listPositions', { organizationId: orgId }, admin)
    expect(org.map((p) => p.uid).sort()).toEqual(['alpha-1', 'bravo-1'])
  })

  it('shows what a TAK peer sent on its network only, under the peer as source', async () => {
    // TAK peers often drop the contact endpoint: the map shows the atom all the same.
    const fromPeer = pli('peer-1', 'PEER-1', { lat: 1, lon: 2 }).replace(' endpoint="*:-1:stcp"', '')
    t.services.router.publish(parseEvent(Buffer.from(fromPeer)), {
      kind: 'peer',
      networkId: nets.a,
      endpointId: 'peer-session',
      peerId: 'peer-x'
    })
    const onA = await t.ok('listPositions', { networkId: nets.a }, admin)
    expect(onA.find((p) => p.uid === 'peer-1')).toMatchObject({ sourceKind: 'peer', sourceId: 'peer-x', lat: 1, lon: 2 })
    // Single hop: a peer's positions do not cross the local federation.
    expect((await t.ok('listPositions', { networkId: nets.b }, admin)).some((p) => p.uid === 'peer-1')).toBe(false)
  })

  it('pushes batched updates, at most one per device per second, and only to users who may see the network', async () => {
    pushed.length = 0
    for (let i = 0; i < 5; i++) devices[0]!.send(trackedPli('alpha-1', 'ALPHA-1', 11 + i, 21))
    await until(() => pushed.some((e) => e.type === 'positions'), 3000, 'a positions push')
    const batches = pushed.filter((e) => e.type === 'positions')
    const forA = batches.filter((e) => e.networkId === nets.a).flatMap((e) => e.positions)
    expect(forA.filter((p) => p.uid === 'alpha-1')).toHaveLength(1)
    expect(forA.find((p) => p.uid === 'alpha-1')!.lat).toBe(15)
    expect(batches.some((e) => e.networkId === nets.b)).toBe(true)
    const outsiderUser = t.services.store.data.users.find((u) => u.username === 'outsider')!
    const adminUser = t.services.store.data.users.find((u) => u.username === 'admin')!
    for (const e of batches) {
      expect(eventForUser(e, t.services, outsiderUser)).toBeNull()
      expect(eventForUser(e, t.services, adminUser)).toBe(e)
    }
    // And by method: another organization's network and organization are not found for them.
    expect((await t.call('listPositions', { networkId: nets.a }, outsider)).ok).toBe(false)
    expect((await t.call('listPositions', { organizationId: orgId }, outsider)).ok).toBe(false)
    expect(await t.ok('listPositions', { networkId: nets.other }, outsider)).toEqual([])
  })
})

describe('map position store bounds', () => {
  const event = (uid: string, staleInMs: number, now: number, callsign = uid) =>
    parseEvent(Buffer.from(trackedPli(uid, callsign, 1, 1, staleInMs).replace(/time="[^"]+"/, `time="${new Date(now).toISOString()}"`)))
  const origin = { kind: 'device' as const, networkId: 'n1', endpointId: 'e1' }

  it('keeps at most the count cap per network, the oldest giving way', () => {
    const store = new MapPositions(new ByteBudget(), Date.now, 3)
    for (let i = 0; i < 5; i++) store.record(event(`u${i}`, 60_000, Date.now()), origin)
    expect(store.entered('n1').map((p) => p.uid)).toEqual(['u2', 'u3', 'u4'])
  })

  it('is charged to the shared byte budget and evicted past it', () => {
    const budget = new ByteBudget(() => 5_000)
    const store = new MapPositions(budget, Date.now)
    for (let i = 0; i < 100; i++) store.record(event(`u${i}`, 60_000, Date.now(), 'X'.repeat(500)), origin)
    expect(budget.bytes).toBeLessThanOrEqual(5_000)
    expect(store.size).toBeLessThan(100)
    expect(store.size).toBe(budget.entries)
    // Callsigns are cut: a label, not a document.
    expect(store.entered('n1')[0]!.callsign.length).toBeLessThanOrEqual(80)
  })

  it('keeps a stale position for the grace, then forgets it and releases its bytes', () => {
    let now = Date.now()
    const budget = new ByteBudget()
    const store = new MapPositions(budget, () => now)
    store.record(event('soon', 1_000, now), origin)
    store.record(event('later', 60_000, now), origin)
    expect(store.entered('n1')).toHaveLength(2)
    // Past its stale time it is still shown (greyed) for the grace; after that it is gone.
    now += 5_000
    expect(store.entered('n1')).toHaveLength(2)
    now += STALE_GRACE_MS
    store.sweep()
    expect(store.entered('n1').map((p) => p.uid)).toEqual(['later'])
    expect(budget.entries).toBe(1)
  })
})
