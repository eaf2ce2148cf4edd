// Relay with hop limits in the router (issue 20): off by default (single hop), on it passes an event on over local links
// and to peers within each end's limit, breadth first, never into a network on its trail, each network once.

import { describe, expect, it } from 'vitest'
import { buildEvent } from '../../../gateway/cot/build.ts'
import type { CotEvent } from '../../../gateway/cot/event.ts'
import { Router } from '../../../gateway/routing/router.ts'
import { MAX_SEEN, SeenRecently } from '../../../gateway/routing/relay.ts'
import type { Endpoint, LocalLink, Origin } from '../../../gateway/routing/types.ts'

class Sink implements Endpoint {
  readonly got: { event: CotEvent; origin: Origin }[] = []
  readonly callsign = null
  readonly uid = null
  constructor(
    readonly id: string,
    readonly networkId: string,
    readonly kind: 'device' | 'peer' = 'device'
  ) {}
  deliver(event: CotEvent, origin: Origin): void {
    this.got.push({ event, origin })
  }
}

const pli = (uid: string): CotEvent =>
  buildEvent({ uid, type: 'a-f-G-U-C', how: 'm-g', staleSeconds: 60, detail: `<contact callsign="${uid}"/>` })
/** Both directions of a federation between two networks, each end relaying with `maxHops` (0 = relay off). */
const federation = (a: string, b: string, maxHops: number): LocalLink[] =>
  [
    [a, b],
    [b, a]
  ].map(([from, to]) => ({ federationId: `f-${a}${b}`, from: from!, to: to!, cot: true, packages: false, relay: maxHops > 0, maxHops }))

function networks(names: string[]): { router: Router; devices: Map<string, Sink> } {
  const router = new Router()
  const devices = new Map(names.map((n) => [n, new Sink(`dev-${n}`, n)]))
  for (const d of devices.values()) router.attach(d)
  return { router, devices }
}

describe('relay with hop limits', () => {
  it('off by default: what arrives over a federation goes no further (single hop)', () => {
    const { router, devices } = networks(['A', 'B', 'C'])
    const peerOnA = new Sink('peer-a', 'A', 'peer')
    const peer2OnA = new Sink('peer2-a', 'A', 'peer')
    router.attach(peerOnA)
    router.attach(peer2OnA)
    router.setLocalLinks([...federation('A', 'B', 0), ...federation('B', 'C', 0)])
    router.publish(pli('x'), { kind: 'device', networkId: 'A', endpointId: 'dev-A' })
    router.publish(pli('y'), {
      kind: 'peer',
      networkId: 'A',
      endpointId: 'peer-a',
      peerId: 'p',
      trail: { hops: 1, federates: [], networks: ['A'] }
    })
    expect(devices.get('B')!.got.map((g) => g.event.uid)).toEqual(['x'])
    expect(devices.get('C')!.got).toEqual([])
    expect(peer2OnA.got.map((g) => g.event.uid)).toEqual(['x'])
  })

  it('on: a chain is walked while the event has crossed fewer links than the leaving end allows', () => {
    const { router, devices } = networks(['A', 'B', 'C', 'D', 'E'])
    router.setLocalLinks([...federation('A', 'B', 3), ...federation('B', 'C', 3), ...federation('C', 'D', 3), ...federation('D', 'E', 3)])
    router.publish(pli('x'), { kind: 'device', networkId: 'A', endpointId: 'dev-A' })
    // A→B is the first link, B→C the second, C→D the third; D's end stops it (three crossed, limit three).
    expect(['B', 'C', 'D', 'E'].map((n) => devices.get(n)!.got.length)).toEqual([1, 1, 1, 0])
    expect(devices.get('D')!.got[0]!.origin.trail).toMatchObject({ hops: 3, networks: ['A', 'B', 'C', 'D'] })
  })

  it('a peer on a network the event was relayed to is handed it with its trail (the peer applies its own switch)', () => {
    const { router } = networks(['A', 'B'])
    const peerOnB = new Sink('peer-b', 'B', 'peer')
    router.attach(peerOnB)
    router.setLocalLinks(federation('A', 'B', 2))
    router.setPeerRelay(true)
    router.publish(pli('x'), { kind: 'device', networkId: 'A', endpointId: 'dev-A' })
    expect(peerOnB.got).toHaveLength(1)
    expect(peerOnB.got[0]!.origin.trail).toEqual({ hops: 1, federates: [], networks: ['A', 'B'] })
  })

  it('a ring of four relaying networks with limit 3: every device gets each event exactly once', () => {
    const names = ['A', 'B', 'C', 'D']
    const { router, devices } = networks(names)
    router.setLocalLinks([...federation('A', 'B', 3), ...federation('B', 'C', 3), ...federation('C', 'D', 3), ...federation('D', 'A', 3)])
    for (const n of names) router.publish(pli(`from-${n}`), { kind: 'device', networkId: n, endpointId: `dev-${n}` })
    for (const n of names) {
      const uids = devices
        .get(n)!
        .got.map((g) => g.event.uid)
        .sort()
      expect(uids).toEqual(names.filter((m) => m !== n).map((m) => `from-${m}`))
    }
  })

  it('an event from a peer that this network already had by another way is dropped there, and goes no further', () => {
    const { router, devices } = networks(['A', 'B'])
    router.setLocalLinks(federation('A', 'B', 3))
    const event = pli('twice')
    const trail = { hops: 1, federates: [], networks: ['A'] }
    expect(router.publish(event, { kind: 'peer', networkId: 'A', endpointId: 'p1', peerId: 'p1', trail })).toBe(2)
    expect(router.publish(event, { kind: 'peer', networkId: 'A', endpointId: 'p2', peerId: 'p2', trail })).toBe(0)
    expect(devices.get('A')!.got).toHaveLength(1)
    expect(devices.get('B')!.got).toHaveLength(1)
  })

  it('what a network remembers is bounded by count and forgotten after a minute', () => {
    let now = 0
    const seen = new SeenRecently(() => now, 3)
    for (const uid of ['a', 'b', 'c', 'd']) expect(seen.repeat('N', pli(uid))).toBe(false)
    expect(seen.size).toBe(3)
    const e = pli('e')
    expect(seen.repeat('N', e)).toBe(false)
    expect(seen.repeat('N', e)).toBe(true)
    now += 61_000
    expect(seen.repeat('N', e)).toBe(false)
    expect(MAX_SEEN).toBeLessThanOrEqual(20_000)
  })
})
