// Hardening item 4: a loop. Three gateways federated in a triangle over TAK federation v2 (A dials B, B dials C,
// C dials A), and on A a local federation between its networks A1 (the one with the external peers) and A2.
// docs/ARCHITECTURE.md §6 single hop: what arrives over a federation is delivered to that network's devices and never forwarded
// over another federation. So an event from A1 reaches A1's other device, A2 (local link), B and C (A's own links)
// exactly once; B does not pass on to C what it got from A (C already has it, from A directly), and nothing that
// arrived over one link leaves over another: A2's events stay between A1 and A2, and B's and C's events do not
// reach A2. Every delivery is counted, so a duplicate, an echo or a missing event fails the test.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { takFederationArea } from '../../../gateway/federation/tak/index.ts'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity, until } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

interface Site {
  t: TestGateway
  admin: string
  networkId: string
}

interface Phone {
  name: string
  client: DeviceClient
}

function marked(sender: string, seq: number): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 120_000)
  return (
    `<event version="2.0" uid="${sender}-UID" type="a-f-G-U-C" how="m-g" time="${now.toISOString()}" start="${now.toISOString()}"` +
    ` stale="${stale.toISOString()}"><point lat="1" lon="2" hae="3" ce="4" le="5"/>` +
    `<detail><contact callsign="${sender}"/><remarks>loop:${sender}:${seq}:end</remarks></detail></event>`
  )
}

async function site(federateId: string): Promise<Site> {
  const t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: federateId } })
  const admin = await t.loginAs('admin', t.adminPassword!)
  const org = await t.ok('createOrganization', { name: `Org ${federateId}`, plan: 'team' }, admin)
  const networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
  return { t, admin, networkId }
}

async function phone(s: Site, networkId: string, name: string): Promise<Phone> {
  const client = await DeviceClient.connect({
    port: s.t.services.ports.streaming,
    ...(await enrollIdentity(s.t, s.admin, networkId, name))
  })
  return { name, client }
}

const SENDS_PER_DEVICE = 5

describe('a triangle of gateways plus a local federation', () => {
  let a: Site
  let b: Site
  let c: Site
  let a2NetworkId = ''
  const phones: Phone[] = []

  beforeAll(async () => {
    ;[a, b, c] = await Promise.all([site('fedgate-a'), site('fedgate-b'), site('fedgate-c')])
    const fingerprint = (s: Site): string => s.t.services.pki.federation!.fingerprint
    const port = (s: Site): number => takFederationArea(s.t.services)!.port
    const idOf = (s: Site): string => s.t.services.settings.Federation.OurFederateId
    // Accepting ends first, so every first dial is answered (no backoff wait).
    const accepts: [Site, Site][] = [
      [b, a],
      [c, b],
      [a, c]
    ]
    const acceptIds = await Promise.all(
      accepts.map(([host, guest]) =>
        host.t.ok(
          'addExternalPeer',
          { networkId: host.networkId, fingerprint: fingerprint(guest), displayName: `accept ${idOf(guest)}` },
          host.admin
        )
      )
    )
    const dials = await Promise.all(
      accepts.map(([host, guest]) =>
        guest.t.ok(
          'addExternalPeer',
          {
            networkId: guest.networkId,
            fingerprint: fingerprint(host),
            displayName: `dial ${idOf(host)}`,
            dial: { address: '127.0.0.1', port: port(host) }
          },
          guest.admin
        )
      )
    )
    await until(
      () =>
        accepts.every(([host], i) => takFederationArea(host.t.services)!.sessionsOf(acceptIds[i]!.id).length === 1) &&
        accepts.every(([, guest], i) => takFederationArea(guest.t.services)!.sessionsOf(dials[i]!.id).length === 1),
      10_000
    )

    // A2: a second network of A's organization, federated locally with A1.
    const orgId = a.t.services.store.data.networks.find((n) => n.id === a.networkId)!.organizationId
    a2NetworkId = (await a.t.ok('createNetwork', { organizationId: orgId, name: 'Second' }, a.admin)).id
    await a.t.ok('federateWithinOrganization', { networkId: a.networkId, otherNetworkId: a2NetworkId }, a.admin)

    phones.push(
      await phone(a, a.networkId, 'A1'),
      await phone(a, a.networkId, 'A1BIS'),
      await phone(a, a2NetworkId, 'A2'),
      await phone(b, b.networkId, 'B'),
      await phone(c, c.networkId, 'C')
    )
  }, 30_000)

  afterAll(async () => {
    for (const p of phones) await p.client.close()
    await Promise.all([a, b, c].map((s) => s?.t.stop()))
  })

  it('delivers every event to every device that single hop reaches, exactly once, never echoed', async () => {
    // Who receives what (sender → receivers), per docs/ARCHITECTURE.md §6.
    const reaches: Record<string, string[]> = {
      A1: ['A1BIS', 'A2', 'B', 'C'],
      A1BIS: ['A1', 'A2', 'B', 'C'],
      A2: ['A1', 'A1BIS'],
      B: ['A1', 'A1BIS', 'C'],
      C: ['A1', 'A1BIS', 'B']
    }
    for (let seq = 0; seq < SENDS_PER_DEVICE; seq++) {
      for (const p of phones) p.client.send(marked(p.name, seq))
      await new Promise((r) => setTimeout(r, 30))
    }

    /** receiver → "sender:seq" → times received */
    const counts = (): Map<string, Map<string, number>> => {
      const all = new Map<string, Map<string, number>>()
      for (const p of phones) {
        const seen = new Map<string, number>()
        for (const e of p.client.events) {
          const m = /loop:([A-Z0-9]+):(\d+):end/.exec(e.detailXml)
          if (m) seen.set(`${m[1]}:${m[2]}`, (seen.get(`${m[1]}:${m[2]}`) ?? 0) + 1)
        }
        all.set(p.name, seen)
      }
      return all
    }
    const expectedTotal = Object.values(reaches).reduce((n, list) => n + list.length, 0) * SENDS_PER_DEVICE
    const delivered = (): number => [...counts().values()].reduce((n, seen) => n + [...seen.values()].reduce((x, y) => x + y, 0), 0)
    await until(() => delivered() >= expectedTotal, 8000).catch(() => {})
    // Time for any late duplicate (a second path through the loop) to arrive.
    await new Promise((r) => setTimeout(r, 1000))

    const final = counts()
    const duplicates: string[] = []
    const missing: string[] = []
    const unexpected: string[] = []
    for (const [sender, receivers] of Object.entries(reaches)) {
      for (const p of phones) {
        for (let seq = 0; seq < SENDS_PER_DEVICE; seq++) {
          const times = final.get(p.name)!.get(`${sender}:${seq}`) ?? 0
          const want = receivers.includes(p.name) ? 1 : 0
          if (times > want && want === 1) duplicates.push(`${sender}:${seq} → ${p.name} x${times}`)
          else if (times < want) missing.push(`${sender}:${seq} → ${p.name}`)
          else if (times > want) unexpected.push(`${sender}:${seq} → ${p.name} x${times}`)
        }
      }
    }
    expect({ duplicates, missing, unexpected }).toEqual({ duplicates: [], missing: [], unexpected: [] })
    expect(delivered()).toBe(expectedTotal)
  })
})
