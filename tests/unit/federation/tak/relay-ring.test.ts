// Relay with hop limits across real gateways (issue 20): three Fedgates whose four networks make a ring, A1 ↔ A2 by
// local federation on A and A2 ↔ B1 ↔ C1 ↔ A1 by TAK federation v2, relay on everywhere. With limit 3 each device
// gets each event exactly once and nothing circulates; with limit 1 the network two links away is not reached.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceClient } from '../../../support/device-client.ts'
import { enrollIdentity, until } from '../../../support/devices.ts'
import { federatePair, startFederatingGateway, type FederatingGateway } from '../../../support/tak-gateway.ts'

const FAST_REDIAL = { baseDelayMs: 100, maxDelayMs: 400, afterDropMs: 300 }
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface Node {
  gw: FederatingGateway
  networkId: string
  name: string
  device?: DeviceClient
}

function pli(uid: string, callsign: string, mark: string): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 120_000)
  return (
    `<event version="2.0" uid="${uid}" type="a-f-G-U-C" how="m-g" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="1.5" lon="2.5" hae="3" ce="4" le="5"/><detail><contact callsign="${callsign}" endpoint="*:-1:stcp"/><remarks>${mark}</remarks></detail></event>`
  )
}

describe('relay over a ring of local and TAK links', () => {
  let a: FederatingGateway
  let b: FederatingGateway
  let c: FederatingGateway
  let nodes: Node[]
  const peers: { gw: FederatingGateway; id: string }[] = []
  const ends: { gw: FederatingGateway; federationId: string; networkId: string }[] = []

  async function setRelay(maxHops: number): Promise<void> {
    for (const p of peers) await p.gw.t.ok('updateExternalPeer', { id: p.id, relay: true, maxHops }, p.gw.admin)
    for (const e of ends)
      await e.gw.t.ok('updateFederationEnd', { federationId: e.federationId, networkId: e.networkId, relay: true, maxHops }, e.gw.admin)
  }

  /** Every node's device sends one event marked `round`; after a bounded wait, how many of each mark each device got. */
  async function round(round: string, expectEach: (from: Node, to: Node) => number): Promise<Map<string, number>> {
    for (const n of nodes) n.device!.send(pli(`${n.name}-UID`, n.name, `${round}-${n.name}`))
    await until(
      () =>
        nodes.every((to) =>
          nodes.every(
            (from) => expectEach(from, to) === 0 || to.device!.received.some((e) => e.detailXml.includes(`${round}-${from.name}<`))
          )
        ),
      10_000,
      `round ${round} delivered`
    )
    // Copies that would come late (another way round the ring) have time to arrive.
    await settle(1500)
    const counts = new Map<string, number>()
    for (const to of nodes)
      for (const from of nodes)
        counts.set(`${from.name}→${to.name}`, to.device!.received.filter((e) => e.detailXml.includes(`${round}-${from.name}<`)).length)
    return counts
  }

  beforeAll(async () => {
    ;[a, b, c] = await Promise.all([
      startFederatingGateway('fedgate-a', FAST_REDIAL),
      startFederatingGateway('fedgate-b', FAST_REDIAL),
      startFederatingGateway('fedgate-c', FAST_REDIAL)
    ])
    const orgOfA = a.t.services.store.data.networks.find((n) => n.id === a.networkId)!.organizationId
    const a2 = await a.t.ok('createNetwork', { organizationId: orgOfA, name: 'Second' }, a.admin)
    const local = await a.t.ok('federateWithinOrganization', { networkId: a.networkId, otherNetworkId: a2.id }, a.admin)
    ends.push({ gw: a, federationId: local.id, networkId: a.networkId }, { gw: a, federationId: local.id, networkId: a2.id })
    const links: [FederatingGateway, string, FederatingGateway, string][] = [
      [a, a2.id, b, b.networkId],
      [b, b.networkId, c, c.networkId],
      [c, c.networkId, a, a.networkId]
    ]
    for (const [accepting, acceptingNet, dialing, dialingNet] of links) {
      const ids = await federatePair(
        { ...accepting, networkId: acceptingNet },
        { ...dialing, networkId: dialingNet },
        { accepting: 'ring', dialing: 'ring' }
      )
      peers.push({ gw: accepting, id: ids.acceptingPeerId }, { gw: dialing, id: ids.dialingPeerId })
    }
    nodes = [
      { gw: a, networkId: a.networkId, name: 'A1' },
      { gw: a, networkId: a2.id, name: 'A2' },
      { gw: b, networkId: b.networkId, name: 'B1' },
      { gw: c, networkId: c.networkId, name: 'C1' }
    ]
    for (const n of nodes) {
      const identity = await enrollIdentity(n.gw.t, n.gw.admin, n.networkId, n.name)
      n.device = await DeviceClient.connect({
        port: n.gw.t.services.ports.streaming,
        cert: identity.cert,
        key: identity.key,
        ca: identity.ca
      })
    }
  }, 60_000)

  afterAll(async () => {
    for (const n of nodes ?? []) await n.device?.close()
    for (const g of [a, b, c]) {
      await g?.fed.stop()
      await g?.t.stop()
    }
  })

  it('off (the default): each device hears only the networks one link away', async () => {
    // Ring order A1 – A2 – B1 – C1 – A1: the network across the ring is two links away.
    const across: Record<string, string> = { A1: 'B1', B1: 'A1', A2: 'C1', C1: 'A2' }
    const counts = await round('off', (from, to) => (from === to || across[from.name] === to.name ? 0 : 1))
    for (const from of nodes)
      for (const to of nodes)
        expect(counts.get(`${from.name}→${to.name}`), `${from.name}→${to.name}`).toBe(from === to || across[from.name] === to.name ? 0 : 1)
  }, 30_000)

  it('relay on everywhere, limit 3: each event reaches every other device exactly once and nothing circulates', async () => {
    await setRelay(3)
    const counts = await round('ring3', (from, to) => (from === to ? 0 : 1))
    for (const from of nodes)
      for (const to of nodes) expect(counts.get(`${from.name}→${to.name}`), `${from.name}→${to.name}`).toBe(from === to ? 0 : 1)
    // Nothing still going round: no gateway takes in any more events.
    const taken = (): number => [a, b, c].reduce((sum, g) => sum + g.t.services.router!.stats().eventsIn, 0)
    const before = taken()
    await settle(1500)
    expect(taken()).toBe(before)
  }, 30_000)

  it('limit 1: relay on, yet nothing crosses a second link (the network across the ring is not reached)', async () => {
    await setRelay(1)
    const across: Record<string, string> = { A1: 'B1', B1: 'A1', A2: 'C1', C1: 'A2' }
    const counts = await round('ring1', (from, to) => (from === to || across[from.name] === to.name ? 0 : 1))
    for (const from of nodes)
      for (const to of nodes)
        expect(counts.get(`${from.name}→${to.name}`), `${from.name}→${to.name}`).toBe(from === to || across[from.name] === to.name ? 0 : 1)
  }, 30_000)
})
