// The local federation toggle matrix with real device connections (certificates from real enrollment packages):
// networks A–B federated with every combination of In/Out on both ends, B–C fully on. Exactly the expected
// deliveries happen, toggles apply to live connections, and nothing goes A → C through B (single hop).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceClient } from '../../support/device-client.ts'
import { directMessage, enrollIdentity, pli } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

const SETTLE_MS = 150

describe('local federation toggle matrix with enrolled devices', () => {
  let t: TestGateway
  const devices: Record<'a1' | 'a2' | 'b' | 'c', DeviceClient> = {} as never
  let federationAB = ''
  let admin = ''
  let nets = { a: '', b: '', c: '' }

  async function enrollAndConnect(networkId: string, callsign: string): Promise<DeviceClient> {
    const identity = await enrollIdentity(t, admin, networkId, callsign)
    return DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
  }

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
    const a = await t.ok('createNetwork', { organizationId: org.id, name: 'A' }, admin)
    const b = await t.ok('createNetwork', { organizationId: org.id, name: 'B' }, admin)
    const c = await t.ok('createNetwork', { organizationId: org.id, name: 'C' }, admin)
    const ab = await t.ok('federateWithinOrganization', { networkId: a.id, otherNetworkId: b.id }, admin)
    await t.ok('federateWithinOrganization', { networkId: b.id, otherNetworkId: c.id }, admin)
    federationAB = ab.id
    nets = { a: a.id, b: b.id, c: c.id }
    devices.a1 = await enrollAndConnect(a.id, 'ALPHA-1')
    devices.a2 = await enrollAndConnect(a.id, 'ALPHA-2')
    devices.b = await enrollAndConnect(b.id, 'BRAVO-1')
    devices.c = await enrollAndConnect(c.id, 'CHARLIE-1')
    // Each device introduces itself once, so the gateway knows its uid; then start from a clean slate.
    const callsigns = { a1: 'ALPHA-1', a2: 'ALPHA-2', b: 'BRAVO-1', c: 'CHARLIE-1' }
    for (const [name, d] of Object.entries(devices)) d.send(pli(`intro-${name}`, callsigns[name as keyof typeof callsigns]))
    await new Promise((r) => setTimeout(r, SETTLE_MS * 2))
    for (const d of Object.values(devices)) d.received.length = 0
  })

  afterAll(async () => {
    await Promise.all(Object.values(devices).map((d) => d?.close()))
    await t?.stop()
  })

  it('delivers exactly what the In/Out toggles of both ends allow, for all 16 combinations', async () => {
    const mismatches: string[] = []
    for (let combo = 0; combo < 16; combo++) {
      const aOut = Boolean(combo & 1)
      const aIn = Boolean(combo & 2)
      const bOut = Boolean(combo & 4)
      const bIn = Boolean(combo & 8)
      await t.ok('updateFederationEnd', { federationId: federationAB, networkId: nets.a, outgoing: aOut, incoming: aIn }, admin)
      await t.ok('updateFederationEnd', { federationId: federationAB, networkId: nets.b, outgoing: bOut, incoming: bIn }, admin)
      for (const d of Object.values(devices)) d.received.length = 0

      const tag = `m${combo}`
      devices.a1.send(pli(`${tag}-from-a`, 'ALPHA-1'))
      devices.b.send(pli(`${tag}-from-b`, 'BRAVO-1'))
      devices.c.send(pli(`${tag}-from-c`, 'CHARLIE-1'))

      const expected: Record<string, string[]> = {
        a1: [...(bOut && aIn ? ['b'] : [])],
        a2: ['a', ...(bOut && aIn ? ['b'] : [])],
        b: [...(aOut && bIn ? ['a'] : []), 'c'],
        c: ['b']
      }
      // Wait for every expected event (bounded), then a little longer to catch any that should not come.
      await Promise.all(
        Object.entries(expected).flatMap(([name, froms]) =>
          froms.map((from) => devices[name as keyof typeof devices].waitFor((e) => e.uid === `${tag}-from-${from}`, 3000).catch(() => null))
        )
      )
      await new Promise((r) => setTimeout(r, SETTLE_MS))
      for (const [name, froms] of Object.entries(expected)) {
        const got = devices[name as keyof typeof devices].events
          .filter((e) => e.uid.startsWith(`${tag}-`))
          .map((e) => e.uid.slice(`${tag}-from-`.length))
          .sort()
        if (JSON.stringify(got) !== JSON.stringify([...froms].sort())) {
          mismatches.push(`A out=${aOut} in=${aIn}, B out=${bOut} in=${bIn}: device ${name} got [${got}] expected [${froms}]`)
        }
      }
    }
    expect(mismatches).toEqual([])
  })

  it('delivers a direct message across the federation only to the named device, and only when the toggles allow', async () => {
    await t.ok('updateFederationEnd', { federationId: federationAB, networkId: nets.a, outgoing: true, incoming: true }, admin)
    await t.ok('updateFederationEnd', { federationId: federationAB, networkId: nets.b, outgoing: true, incoming: true }, admin)
    for (const d of Object.values(devices)) d.received.length = 0
    devices.a1.sendRaw(directMessage('dm-open', 'BRAVO-1'))
    const got = await devices.b.waitFor((e) => e.uid === 'dm-open', 3000)
    expect(got.xml.toString()).not.toContain('<dest')
    await t.ok('updateFederationEnd', { federationId: federationAB, networkId: nets.b, incoming: false }, admin)
    devices.a1.sendRaw(directMessage('dm-closed', 'BRAVO-1'))
    await new Promise((r) => setTimeout(r, SETTLE_MS * 2))
    expect(devices.b.events.map((e) => e.uid)).toEqual(['dm-open'])
    expect({ a2: devices.a2.events.map((e) => e.uid), c: devices.c.events.map((e) => e.uid) }).toEqual({ a2: [], c: [] })
  })

  it('pushes live events-per-second figures per federation and direction', async () => {
    await t.ok('updateFederationEnd', { federationId: federationAB, networkId: nets.a, outgoing: true, incoming: true }, admin)
    await t.ok('updateFederationEnd', { federationId: federationAB, networkId: nets.b, outgoing: true, incoming: true }, admin)
    const pushed: { networkId: string; inPerSecond: number; outPerSecond: number; lastActivity: string | null }[] = []
    const unsubscribe = t.services.events.subscribe((event) => {
      if (event.type !== 'federationStats') return
      const stats = event.federations.find((f) => f.federationId === federationAB)
      if (stats) pushed.push(stats)
    })
    try {
      // A's end is the first end: its "out" is A → B.
      for (let i = 0; i < 20; i++) devices.a1.send(pli(`rate-${i}`, 'ALPHA-1'))
      const deadline = Date.now() + 3000
      while (!pushed.some((s) => s.outPerSecond > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    } finally {
      unsubscribe()
    }
    const busy = pushed.find((s) => s.outPerSecond > 0)
    expect(busy).toBeDefined()
    expect(busy!.lastActivity).not.toBeNull()
    expect(busy!.networkId).toBe(nets.a) // says whose "out" it is
    const [listed] = (await t.ok('listFederations', { networkId: nets.b }, admin)).filter((f) => f.id === federationAB)
    expect(listed!.stats.inPerSecond).toBeGreaterThan(0)
  })

  it('pauses with both In and Out off on one end, keeping the relationship', async () => {
    await t.ok('updateFederationEnd', { federationId: federationAB, networkId: nets.a, outgoing: true, incoming: true }, admin)
    await t.ok('updateFederationEnd', { federationId: federationAB, networkId: nets.b, outgoing: false, incoming: false }, admin)
    for (const d of Object.values(devices)) d.received.length = 0
    devices.a1.send(pli('paused-from-a', 'ALPHA-1'))
    devices.b.send(pli('paused-from-b', 'BRAVO-1'))
    await devices.a2.waitFor((e) => e.uid === 'paused-from-a', 3000)
    await devices.c.waitFor((e) => e.uid === 'paused-from-b', 3000)
    await new Promise((r) => setTimeout(r, SETTLE_MS))
    expect(devices.b.events.map((e) => e.uid)).not.toContain('paused-from-a')
    expect(devices.a1.events.map((e) => e.uid)).not.toContain('paused-from-b')
    const list = await t.ok('listFederations', { networkId: nets.a }, admin)
    expect(list.map((f) => f.id)).toContain(federationAB)
  })
})
