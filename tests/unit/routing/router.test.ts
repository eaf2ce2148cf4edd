import { describe, expect, it } from 'vitest'
import { buildEvent } from '../../../gateway/cot/build.ts'
import type { CotEvent } from '../../../gateway/cot/event.ts'
import { Router } from '../../../gateway/routing/router.ts'
import type { Endpoint, LocalLink, Origin } from '../../../gateway/routing/types.ts'

class Sink implements Endpoint {
  readonly got: CotEvent[] = []
  constructor(
    readonly id: string,
    readonly networkId: string,
    readonly kind: 'device' | 'peer' = 'device',
    readonly callsign: string | null = null,
    readonly uid: string | null = null,
    readonly knows: string[] = []
  ) {}
  deliver(event: CotEvent): void {
    this.got.push(event)
  }
  reaches(dest: CotEvent['dest']): boolean {
    return (dest.missions ?? []).length > 0 || dest.callsigns.some((c) => this.knows.includes(c))
  }
}

const pli = (uid: string, callsign: string, staleSeconds = 300): CotEvent =>
  buildEvent({ uid, type: 'a-f-G-U-C', how: 'm-g', staleSeconds, detail: `<contact callsign="${callsign}" endpoint="*:-1:stcp"/>` })
const chat = (to: { callsign?: string; uid?: string }[]): CotEvent =>
  buildEvent({
    uid: `GeoChat.${Math.random()}`,
    type: 'b-t-f',
    how: 'h-g-i-g-o',
    staleSeconds: 60,
    detail: `<marti>${to.map((d) => (d.callsign ? `<dest callsign="${d.callsign}"/>` : `<dest uid="${d.uid}"/>`)).join('')}</marti><remarks>hi</remarks>`
  })
const fileshare = (): CotEvent =>
  buildEvent({ uid: 'fs-1', type: 'b-f-t-r', how: 'h-e', staleSeconds: 60, detail: '<fileshare filename="a.zip"/>' })
const ping = (): CotEvent => buildEvent({ uid: 'A1-ping', type: 't-x-c-t', how: 'm-g', staleSeconds: 20 })
const fromDevice = (s: Sink): Origin => ({ kind: 'device', networkId: s.networkId, endpointId: s.id })
const fromPeer = (s: Sink): Origin => ({ kind: 'peer', networkId: s.networkId, endpointId: s.id, peerId: s.id })
const link = (from: string, to: string, cot: boolean, packages = false): LocalLink => ({
  federationId: `f-${[from, to].sort().join('')}`,
  from,
  to,
  cot,
  packages
})

function world(): { router: Router; a1: Sink; a2: Sink; a3: Sink; b1: Sink; c1: Sink; pa: Sink; pb: Sink } {
  const router = new Router()
  const a1 = new Sink('a1', 'A', 'device', 'Alpha', 'ANDROID-A1')
  const a2 = new Sink('a2', 'A', 'device', 'Bravo', 'ANDROID-A2')
  const a3 = new Sink('a3', 'A', 'device', 'Charlie', 'ANDROID-A3')
  const b1 = new Sink('b1', 'B', 'device', 'Bravo', 'ANDROID-B1')
  const c1 = new Sink('c1', 'C', 'device', 'Delta', 'ANDROID-C1')
  const pa = new Sink('pa', 'A', 'peer', null, null, ['Remote'])
  const pb = new Sink('pb', 'B', 'peer')
  for (const e of [a1, a2, a3, b1, c1, pa, pb]) router.attach(e)
  return { router, a1, a2, a3, b1, c1, pa, pb }
}

const counts = (...sinks: Sink[]): number[] => sinks.map((s) => s.got.length)

describe('Router', () => {
  it('broadcasts a device event to the other devices and peers of its network, never back, never to another network', () => {
    const { router, a1, a2, a3, b1, c1, pa, pb } = world()
    expect(router.publish(pli('ANDROID-A1', 'Alpha'), fromDevice(a1))).toBe(3)
    expect(counts(a1, a2, a3, b1, c1, pa, pb)).toEqual([0, 1, 1, 0, 0, 1, 0])
  })

  it('never routes control types', () => {
    const { router, a1, a2, pa } = world()
    expect(router.publish(ping(), fromDevice(a1))).toBe(0)
    expect(counts(a2, pa)).toEqual([0, 0])
  })

  it('crosses a local link only in its direction and only with cot on; fileshare only with packages', () => {
    const { router, a1, b1, c1, pb } = world()
    router.setLocalLinks([link('A', 'B', true, false), link('B', 'A', false, true)])
    router.publish(pli('ANDROID-A1', 'Alpha'), fromDevice(a1))
    expect(counts(b1, pb, c1)).toEqual([1, 0, 0]) // B's peer gets nothing over a link (single hop)
    router.publish(pli('ANDROID-B1', 'Bravo'), fromDevice(b1))
    expect(a1.got).toHaveLength(0) // B→A has cot off
    router.publish(fileshare(), fromDevice(a1))
    expect(b1.got).toHaveLength(1) // A→B has packages off
    router.publish(fileshare(), fromDevice(b1))
    expect(a1.got.map((e) => e.type)).toEqual(['b-f-t-r']) // B→A has packages on
  })

  it('keeps single hop: nothing goes A→B→C, and peer events stay on their network devices', () => {
    const { router, a1, a2, b1, c1, pa, pb } = world()
    router.setLocalLinks([link('A', 'B', true), link('B', 'C', true), link('B', 'A', true)])
    router.publish(pli('ANDROID-A1', 'Alpha'), fromDevice(a1))
    expect(counts(b1, c1)).toEqual([1, 0])
    const fromRemote = pli('REMOTE-1', 'Remote')
    expect(router.publish(fromRemote, fromPeer(pb))).toBe(1)
    expect(counts(b1, a1, a2, c1, pa)).toEqual([2, 0, 1, 0, 1]) // the peer event reached B's device only
    router.publish(pli('REMOTE-2', 'Remote2'), fromPeer(pa))
    expect(counts(a1, a2, b1, pb)).toEqual([1, 2, 2, 0]) // not over B←A, not to B's peer
  })

  it('delivers a direct message only to the named devices (callsign or uid) among those reachable', () => {
    const { router, a1, a2, a3, b1, c1, pa } = world()
    router.publish(chat([{ callsign: 'Bravo' }]), fromDevice(a1))
    expect(counts(a2, a3, b1, pa)).toEqual([1, 0, 0, 0]) // b1 is also 'Bravo' but on B, not reachable
    expect(a2.got[0]!.xml.toString()).not.toContain('<dest')
    router.publish(chat([{ uid: 'ANDROID-A3' }, { callsign: 'Delta' }]), fromDevice(a1))
    expect(counts(a2, a3, c1)).toEqual([1, 1, 0])
    router.setLocalLinks([link('A', 'B', true)])
    router.publish(chat([{ callsign: 'Bravo' }]), fromDevice(a1))
    expect(counts(a2, b1)).toEqual([2, 1])
    router.setLocalLinks([link('A', 'B', false)])
    router.publish(chat([{ callsign: 'Bravo' }]), fromDevice(a1))
    expect(counts(a2, b1)).toEqual([3, 1])
    // a peer gets a direct message only when it says the named contact lives behind it
    router.publish(chat([{ callsign: 'Remote' }]), fromDevice(a1))
    expect(counts(pa, a2, a3)).toEqual([1, 3, 1])
    // "All Streaming" means everyone
    router.publish(chat([{ callsign: 'All Streaming' }]), fromDevice(a1))
    expect(counts(a2, a3, pa)).toEqual([4, 2, 2])
  })

  it('a mission or group target reaches only the callsigns and uids named with it (no missions or TAK groups here)', () => {
    const { router, a1, a2, a3, pa } = world()
    const scoped = (dests: string): CotEvent =>
      buildEvent({
        uid: `m-${Math.random()}`,
        type: 'a-u-G',
        how: 'h-e',
        staleSeconds: 60,
        detail: `<marti>${dests}</marti><remarks>m</remarks>`
      })
    // A mission's name goes on to TAK federates (they may have it); devices here are not its subscribers.
    expect(router.publish(scoped('<dest mission="Op North"/>'), fromDevice(a1))).toBe(1)
    expect(pa.got[0]!.dest.missions).toEqual(['Op North'])
    expect(router.publish(scoped('<dest mission-guid="0d5d"/><dest group="Cyan"/>'), fromDevice(a1))).toBe(0)
    expect(counts(a2, a3, pa)).toEqual([0, 0, 1])
    router.publish(scoped('<dest mission="Op North"/><dest callsign="Bravo"/>'), fromDevice(a1))
    expect(counts(a2, a3, pa)).toEqual([1, 0, 2])
    expect(a2.got[0]!.xml.toString()).not.toContain('<dest')
    // TAK's default group is everyone's: naming it narrows nothing (the element is still removed).
    router.publish(scoped('<dest group="__ANON__"/>'), fromDevice(a1))
    expect(counts(a2, a3, pa)).toEqual([2, 1, 3])
    expect(a3.got[0]!.xml.toString()).not.toContain('<dest')
  })

  it('detached endpoints get nothing; meters count per link and direction', () => {
    const { router, a1, a2, b1 } = world()
    router.setLocalLinks([link('A', 'B', true), link('B', 'A', true)])
    router.detach('a2')
    for (let i = 0; i < 3; i++) router.publish(pli('ANDROID-A1', 'Alpha'), fromDevice(a1))
    router.publish(pli('ANDROID-B1', 'Bravo'), fromDevice(b1))
    expect(a2.got).toHaveLength(0)
    const stats = router.linkStats()
    expect(stats.find((s) => s.from === 'A' && s.to === 'B')).toMatchObject({ federationId: 'f-AB', total: 3 })
    expect(stats.find((s) => s.from === 'B' && s.to === 'A')).toMatchObject({ total: 1 })
    expect(router.rate('f-AB', 'A', 'B').lastActivity).not.toBeNull()
    expect(router.rate('f-AB', 'A', 'C')).toEqual({ perSecond: 0, lastActivity: null })
    expect(router.stats()).toMatchObject({ endpoints: { devices: 4, peers: 2 }, eventsIn: 4 })
  })

  it('rates are events per second over the window', () => {
    let now = 1_000_000
    const router = new Router(() => now)
    const a = new Sink('a', 'A')
    const b = new Sink('b', 'B')
    router.attach(a)
    router.attach(b)
    router.setLocalLinks([link('A', 'B', true)])
    for (let second = 0; second < 5; second++) {
      for (let i = 0; i < 10; i++) router.publish(pli('U', 'X'), fromDevice(a))
      now += 1000
    }
    expect(router.rate('f-AB', 'A', 'B').perSecond).toBe(10)
    now += 10_000
    expect(router.rate('f-AB', 'A', 'B').perSecond).toBe(0)
  })

  it('keeps the latest position per uid per network for replay, respecting links, single hop and staleness', () => {
    const { router, a1, b1, pb } = world()
    router.publish(pli('ANDROID-A1', 'Alpha'), fromDevice(a1))
    const latest = pli('ANDROID-A1', 'Alpha')
    router.publish(latest, fromDevice(a1))
    router.publish(pli('OLD', 'Old', -5), fromDevice(a1))
    router.publish(chat([{ callsign: 'Bravo' }]), fromDevice(a1)) // not a position
    // A position report sent to chosen recipients is not replayed to everyone who connects later.
    const directed = buildEvent({
      uid: 'ANDROID-DIRECT',
      type: 'a-f-G-U-C',
      how: 'm-g',
      staleSeconds: 300,
      detail: '<contact callsign="Dir" endpoint="*:-1:stcp"/><marti><dest mission="Op North"/></marti>'
    })
    router.publish(directed, fromDevice(a1))
    router.publish(pli('REMOTE', 'Remote'), fromPeer(pb))
    expect(router.latestPositions('A')).toEqual([latest])
    expect(router.latestPositions('B').map((e) => e.uid)).toEqual(['REMOTE'])
    router.setLocalLinks([link('A', 'B', true), link('B', 'A', true)])
    expect(
      router
        .latestPositions('B')
        .map((e) => e.uid)
        .sort()
    ).toEqual(['ANDROID-A1', 'REMOTE'])
    expect(router.latestPositions('A').map((e) => e.uid)).toEqual(['ANDROID-A1']) // REMOTE came from B's peer
    expect(router.forgetPosition('A', 'ANDROID-A1')).toBe(latest)
    expect(router.latestPositions('A')).toEqual([])
    // REMOTE came live from B's peer; ANDROID-A1 with A's picture when the link A → B opened.
    expect(b1.got.map((e) => e.uid)).toEqual(['REMOTE', 'ANDROID-A1'])
  })

  const placed = (uid: string, type: string, detail = ''): CotEvent =>
    buildEvent({ uid, type, how: 'h-g-i-g-o', staleSeconds: 300, detail })

  it("keeps a network's picture: positions, markers, shapes, active alerts; not chats, deleted markers or cancelled alerts", () => {
    const { router, a1, pa } = world()
    router.publish(pli('ANDROID-A1', 'Alpha'), fromDevice(a1))
    router.publish(placed('marker-1', 'b-m-p-s-m', '<contact callsign="Rally"/>'), fromDevice(a1))
    router.publish(placed('shape-1', 'u-d-f'), fromDevice(a1))
    router.publish(placed('gone-1', 'b-m-p-w'), fromDevice(a1))
    router.publish(placed('del-1', 't-x-d-d', '<link uid="gone-1" relation="p-p" type="b-m-p-w"/>'), fromDevice(a1))
    router.publish(placed('ANDROID-A1-9-1-1', 'b-a-o-tbl'), fromDevice(a1))
    router.publish(placed('ANDROID-A1-9-1-1', 'b-a-o-can'), fromDevice(a1))
    router.publish(placed('ANDROID-A2-9-1-1', 'b-a-o-pan'), fromDevice(a1))
    router.publish(chat([]), fromDevice(a1))
    router.publish(buildEvent({ uid: 'old', type: 'b-m-p-s-m', how: 'h-e', staleSeconds: -5 }), fromDevice(a1))
    router.publish(placed('peer-marker', 'b-m-p-s-m'), fromPeer(pa))
    expect(router.latestPicture('A').map((e) => e.uid)).toEqual(['ANDROID-A1', 'marker-1', 'shape-1', 'ANDROID-A2-9-1-1'])
    // A device that connects is still given positions only, as before.
    expect(router.latestPositions('A').map((e) => e.uid)).toEqual(['ANDROID-A1'])
  })

  it("gives the far network's devices the picture once when a link starts or resumes carrying CoT", () => {
    const { router, a1, b1, pb } = world()
    router.publish(pli('ANDROID-A1', 'Alpha'), fromDevice(a1))
    router.publish(placed('marker-1', 'b-m-p-s-m'), fromDevice(a1))
    router.publish(pli('REMOTE-A', 'RemoteA'), { kind: 'peer', networkId: 'A', endpointId: 'pa', peerId: 'pa' })
    router.setLocalLinks([link('A', 'B', false)])
    expect(b1.got).toEqual([])
    router.setLocalLinks([link('A', 'B', true)])
    expect(b1.got.map((e) => e.uid)).toEqual(['ANDROID-A1', 'marker-1']) // not what A's peer sent: single hop
    expect(pb.got).toEqual([]) // never to the far network's peers
    router.setLocalLinks([link('A', 'B', true, true)]) // another toggle: no second copy
    expect(b1.got).toHaveLength(2)
    router.setLocalLinks([link('A', 'B', false)])
    router.setLocalLinks([link('A', 'B', true)]) // resumed
    expect(b1.got.map((e) => e.uid)).toEqual(['ANDROID-A1', 'marker-1', 'ANDROID-A1', 'marker-1'])
  })
})
