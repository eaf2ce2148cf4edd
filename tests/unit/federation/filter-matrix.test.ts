// Filters by kind of traffic (issue 20) as a matrix over real parts: enrolled devices on networks A and B (a local
// federation A–B) and a TAK-like federate registered on A (tests/support/tak-federate.ts). For each kind, with a
// filter that leaves exactly that kind out, in each direction, exactly the other kinds cross; emergencies cross with
// the editor's default filter when positions do not; the prefix list lets its types through; the counters count.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { takFederationArea } from '../../../gateway/federation/tak/index.ts'
import { TRAFFIC_KINDS, type TrafficKind } from '../../../gateway/api/vocabulary.ts'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity, fileshareEvent, pli } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { testPki } from '../../support/pki.ts'
import { geoEvent, TakFederate } from '../../support/tak-federate.ts'

const SETTLE_MS = 250

/** One CoT type per kind; packages is the fileshare announcement. */
const TYPE_OF: Record<TrafficKind, string> = {
  positions: 'a-f-G-U-C',
  chat: 'b-t-f',
  markers: 'b-m-p-s-p-i',
  emergencies: 'b-a-o-tbl',
  packages: 'b-f-t-r',
  other: 'b-r-f-h-c'
}

function cot(uid: string, type: string): string {
  if (type === 'b-f-t-r') return fileshareEvent('ab'.repeat(32), 10, { name: uid }).replace(/uid="fs-[^"]+"/, `uid="${uid}"`)
  const now = new Date()
  const stale = new Date(now.getTime() + 120_000)
  return (
    `<event version="2.0" uid="${uid}" type="${type}" how="h-g-i-g-o" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="34.1" lon="-117.2" hae="20" ce="9.9" le="9999999"/><detail><remarks>${uid}</remarks></detail></event>`
  )
}

/** The round's end marker: of a kind that crosses, so it is neither counted nor waited for in vain. */
const markerType = (left: TrafficKind | null): string => (left === 'positions' ? 'b-m-p-s-m' : 'a-f-G')

const allBut = (kind: TrafficKind): TrafficKind[] => TRAFFIC_KINDS.filter((k) => k !== kind)

describe('filters by kind of traffic: local federation and TAK peer matrix', () => {
  let t: TestGateway
  let admin = ''
  const nets = { a: '', b: '' }
  let federationId = ''
  let peerId = ''
  let a1: DeviceClient
  let a2: DeviceClient
  let b1: DeviceClient
  let federate: TakFederate

  async function connect(networkId: string, callsign: string): Promise<DeviceClient> {
    const identity = await enrollIdentity(t, admin, networkId, callsign)
    const d = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
    d.send(pli(`intro-${callsign}`, callsign))
    return d
  }

  const settle = (ms = SETTLE_MS): Promise<void> => new Promise((r) => setTimeout(r, ms))

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-a' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
    nets.a = (await t.ok('createNetwork', { organizationId: org.id, name: 'A' }, admin)).id
    nets.b = (await t.ok('createNetwork', { organizationId: org.id, name: 'B' }, admin)).id
    federationId = (await t.ok('federateWithinOrganization', { networkId: nets.a, otherNetworkId: nets.b }, admin)).id
    // Package announcements cross a local link only with DP-Out and DP-In on.
    await t.ok('updateFederationEnd', { federationId, networkId: nets.a, sharePackages: true, acceptPackages: true }, admin)
    await t.ok('updateFederationEnd', { federationId, networkId: nets.b, sharePackages: true, acceptPackages: true }, admin)
    const tak = await testPki({ freshCa: true, hostname: 'tak-alpha.test', federateId: 'tak-alpha' })
    const fingerprint = tak.pki.federation!.fingerprint.replace(/:/g, '').toLowerCase()
    peerId = (await t.ok('addExternalPeer', { networkId: nets.a, fingerprint, displayName: 'TAK Alpha' }, admin)).id
    a1 = await connect(nets.a, 'ALPHA-1')
    a2 = await connect(nets.a, 'ALPHA-2')
    b1 = await connect(nets.b, 'BRAVO-1')
    federate = new TakFederate({
      port: takFederationArea(t.services)!.port,
      ca: t.services.pki.caCertPem,
      key: tak.pki.federation!.keyPem,
      certChain: `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
      name: 'tak-alpha-out'
    }).start()
    await federate.serving()
    await settle()
  })

  afterAll(async () => {
    federate?.close()
    await Promise.all([a1, a2, b1].map((d) => d?.close()))
    await t?.stop()
  })

  /** Sends one event of each kind from A's device; returns the kinds B's device and the federate got. */
  async function roundFromA(
    tag: string,
    left: TrafficKind | null,
    kinds: readonly TrafficKind[] = TRAFFIC_KINDS
  ): Promise<{ b: string[]; peer: string[] }> {
    b1.received.length = 0
    federate.received.length = 0
    for (const kind of kinds) a1.send(cot(`${tag}-${kind}`, TYPE_OF[kind]))
    // The last one sent, of a kind the filter lets cross, marks that everything before it was routed.
    a1.send(cot(`${tag}-end`, markerType(left)))
    await Promise.all([
      b1.waitFor((e) => e.uid === `${tag}-end`, 3000).catch(() => null),
      federate.waitForEvent((m) => m.event?.uid === `${tag}-end`, 3000).catch(() => null)
    ])
    await settle(100)
    const got = (uid: string): string | null => (uid.startsWith(`${tag}-`) && uid !== `${tag}-end` ? uid.slice(tag.length + 1) : null)
    return {
      b: b1.received.map((e) => got(e.uid)).filter((k): k is string => k !== null),
      peer: federate.received.map((m) => got(m.event?.uid ?? '')).filter((k): k is string => k !== null)
    }
  }

  const end = (networkId: string, args: Record<string, unknown>): Promise<unknown> =>
    t.ok('updateFederationEnd', { federationId, networkId, ...args }, admin)

  it("A's Out filter and B's In filter each let exactly the ticked kinds cross the local federation", async () => {
    const mismatches: string[] = []
    for (const side of ['aOut', 'bIn'] as const) {
      for (const left of TRAFFIC_KINDS) {
        const filter = { kinds: allBut(left) }
        await end(side === 'aOut' ? nets.a : nets.b, side === 'aOut' ? { outFilter: filter } : { inFilter: filter })
        const { b } = await roundFromA(`${side}-${left}`, left)
        const expected = allBut(left)
        if (JSON.stringify([...b].sort()) !== JSON.stringify([...expected].sort()))
          mismatches.push(`${side} without ${left}: B got ${b.join(',')}`)
        await end(side === 'aOut' ? nets.a : nets.b, side === 'aOut' ? { outFilter: null } : { inFilter: null })
      }
    }
    expect(mismatches).toEqual([])
    const [federation] = await t.ok('listFederations', { networkId: nets.a }, admin)
    // Six kinds each left out once by A's Out filter and once by B's In filter: twelve events kept back A → B.
    expect(federation!.stats.outFiltered).toBe(12)
    expect(federation!.stats.inFiltered).toBe(0)
  })

  it('with the default filter minus positions, emergencies still cross while positions do not; prefixes add their types', async () => {
    await end(nets.b, { inFilter: { kinds: ['chat', 'markers', 'emergencies', 'packages', 'other'] } })
    const { b } = await roundFromA('default', 'positions')
    expect(b).toContain('emergencies')
    expect(b).not.toContain('positions')
    await end(nets.b, { inFilter: { kinds: [], typePrefixes: ['b-t-*', 'a-f-G-U'] } })
    const only = await roundFromA('prefixes', null)
    expect(only.b.sort()).toEqual(['chat', 'positions'])
    await end(nets.b, { inFilter: null })
  })

  it("a device joining B later is not shown positions B's In filter keeps out; without the filter it is", async () => {
    await end(nets.b, { inFilter: { kinds: ['chat', 'markers', 'emergencies', 'packages', 'other'] } })
    a1.send(pli('replay-ALPHA-9', 'ALPHA-9'))
    await settle()
    const late = await connect(nets.b, 'BRAVO-LATE')
    await settle()
    expect(late.received.some((e) => e.uid === 'replay-ALPHA-9')).toBe(false)
    await end(nets.b, { inFilter: null })
    const later = await connect(nets.b, 'BRAVO-LATER')
    await later.waitFor((e) => e.uid === 'replay-ALPHA-9', 3000)
    await Promise.all([late.close(), later.close()])
  })

  it("the peer's Out filter lets exactly the ticked kinds go to the TAK Server", async () => {
    const mismatches: string[] = []
    // Package announcements to a TAK peer travel with their package over ROL (DP toggles), not as CoT: left out here.
    const kinds = TRAFFIC_KINDS.filter((k) => k !== 'packages')
    for (const left of kinds) {
      await t.ok('updateExternalPeer', { id: peerId, outFilter: { kinds: allBut(left) } }, admin)
      const { peer } = await roundFromA(`pout-${left}`, left, kinds)
      const expected = kinds.filter((k) => k !== left)
      if (JSON.stringify([...peer].sort()) !== JSON.stringify([...expected].sort()))
        mismatches.push(`peer out without ${left}: got ${peer.join(',')}`)
    }
    await t.ok('updateExternalPeer', { id: peerId, outFilter: null }, admin)
    expect(mismatches).toEqual([])
    const [listed] = await t.ok('listExternalPeers', { networkId: nets.a }, admin)
    expect(listed!.status.outFiltered).toBe(kinds.length)
  })

  it("the peer's In filter lets exactly the ticked kinds reach the network's devices", async () => {
    const mismatches: string[] = []
    const kinds = TRAFFIC_KINDS.filter((k) => k !== 'packages')
    for (const left of kinds) {
      await t.ok('updateExternalPeer', { id: peerId, inFilter: { kinds: allBut(left) } }, admin)
      a2.received.length = 0
      const tag = `pin-${left}`
      for (const kind of kinds) federate.send({ event: geoEvent(`${tag}-${kind}`, { type: TYPE_OF[kind] }) })
      federate.send({ event: geoEvent(`${tag}-end`, { type: markerType(left) }) })
      await a2.waitFor((e) => e.uid === `${tag}-end`, 3000).catch(() => null)
      await settle(100)
      const got = a2.received.filter((e) => e.uid.startsWith(`${tag}-`) && e.uid !== `${tag}-end`).map((e) => e.uid.slice(tag.length + 1))
      const expected = kinds.filter((k) => k !== left)
      if (JSON.stringify([...got].sort()) !== JSON.stringify([...expected].sort()))
        mismatches.push(`peer in without ${left}: A got ${got.join(',')}`)
    }
    await t.ok('updateExternalPeer', { id: peerId, inFilter: null }, admin)
    expect(mismatches).toEqual([])
    const [listed] = await t.ok('listExternalPeers', { networkId: nets.a }, admin)
    expect(listed!.status.inFiltered).toBe(kinds.length)
  })

  it('refuses a prefix list over its bounds and a prefix with other characters', async () => {
    const tooMany = Array.from({ length: 33 }, (_, i) => `a-${i}`)
    await expect(t.ok('updateExternalPeer', { id: peerId, inFilter: { kinds: [], typePrefixes: tooMany } }, admin)).rejects.toThrow()
    await expect(t.ok('updateExternalPeer', { id: peerId, inFilter: { kinds: [], typePrefixes: ['a f'] } }, admin)).rejects.toThrow()
    await expect(
      t.ok('updateExternalPeer', { id: peerId, inFilter: { kinds: [], typePrefixes: ['a'.repeat(65)] } }, admin)
    ).rejects.toThrow()
  })

  it('audits a filter change in words', async () => {
    await end(nets.a, { outFilter: { kinds: ['positions', 'emergencies'], typePrefixes: ['b-m-p'] } })
    await end(nets.a, { outFilter: null })
    await t.ok('updateExternalPeer', { id: peerId, inFilter: { kinds: ['emergencies'] } }, admin)
    await t.ok('updateExternalPeer', { id: peerId, inFilter: null }, admin)
    const page = await t.ok('listAuditLog', { limit: 20 }, admin)
    const sentences = page.entries.map((e) => e.sentence).join('\n')
    expect(sentences).toContain('let only positions, emergencies, CoT types starting b-m-p out')
    expect(sentences).toContain('let everything out')
    expect(sentences).toContain('changed TAK Server peer TAK Alpha on network A: let only emergencies in from it')
  })
})
