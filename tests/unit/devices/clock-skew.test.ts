// Clock skew per device over a real gateway: devices (real TLS, enrolled by our CA) whose clocks are 2 minutes behind
// show it in their rows; replays (a uid sent again with an old time, an event stamped before its own start) do not
// move it; when most devices agree on the same offset, Health says this machine's clock is off; events already stale
// on arrival are counted. And a local federation says when only one way flows, or when it is paused.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DeviceDto } from '../../../gateway/api/contract.ts'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

const LATE_MS = -120_000

/** A position report whose `time` is `timeMs` (a device clock), start `startMs`, stale `staleMs`. */
function report(uid: string, callsign: string, timeMs: number, startMs = timeMs, staleMs = timeMs + 300_000): string {
  const iso = (ms: number): string => new Date(ms).toISOString()
  return (
    `<event version="2.0" uid="${uid}" type="a-f-G-U-C" how="m-g" time="${iso(timeMs)}" start="${iso(startMs)}" stale="${iso(staleMs)}">` +
    `<point lat="1.5" lon="2.5" hae="3" ce="4" le="5"/><detail><contact callsign="${callsign}" endpoint="*:-1:stcp"/></detail></event>`
  )
}

describe('clock skew of devices', () => {
  let t: TestGateway
  let admin: string
  let networkId: string
  let otherNetworkId: string
  const devices = new Map<string, DeviceClient>()

  const rows = async (): Promise<DeviceDto[]> => t.ok('listDevices', { networkId }, admin)
  /** Polls the console's own answers until `check` holds. */
  const eventually = async (check: () => Promise<boolean>, what: string): Promise<void> => {
    const deadline = Date.now() + 5000
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const known = async (n: number): Promise<boolean> => (await rows()).filter((d) => d.clockSkewSeconds !== null).length === n
  const skewOf = async (callsign: string): Promise<number | null> => (await rows()).find((d) => d.callsign === callsign)!.clockSkewSeconds

  beforeAll(async () => {
    t = await startTestGateway()
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Org', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
    otherNetworkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Bravo' }, admin)).id
    for (const callsign of ['LATE-1', 'LATE-2', 'LATE-3', 'ON-TIME']) {
      const id = await enrollIdentity(t, admin, networkId, callsign)
      devices.set(callsign, await DeviceClient.connect({ port: t.services.ports.streaming, cert: id.cert, key: id.key, ca: id.ca }))
    }
  }, 30_000)

  afterAll(async () => {
    for (const d of devices.values()) await d.close()
    await t?.stop()
  })

  it('a device 2 minutes behind shows about -120 s; replays do not move it; an accurate one shows about 0', async () => {
    const late = devices.get('LATE-1')!
    for (let i = 0; i < 3; i++) late.send(report('LATE-1-UID', 'LATE-1', Date.now() + LATE_MS + i))
    devices.get('ON-TIME')!.send(report('ON-TIME-UID', 'ON-TIME', Date.now()))
    await eventually(() => known(2), 'two skews known')
    expect(await skewOf('LATE-1')).toBeGreaterThanOrEqual(-122)
    expect(await skewOf('LATE-1')).toBeLessThanOrEqual(-118)
    expect(Math.abs((await skewOf('ON-TIME'))!)).toBeLessThanOrEqual(2)
    expect(await skewOf('LATE-2')).toBeNull()

    // 40 replays (more than the samples kept): its own uid again with hour-old times, and events stamped before their start.
    const hourAgo = Date.now() - 3_600_000
    for (let i = 0; i < 20; i++) late.send(report('LATE-1-UID', 'LATE-1', hourAgo - i))
    for (let i = 0; i < 20; i++) late.send(report(`MARKER-${i}`, 'LATE-1', hourAgo, Date.now()))
    late.send(report('LATE-1-UID', 'LATE-1', Date.now() + LATE_MS + 10)) // a last real report: all before it are in
    await new Promise((r) => setTimeout(r, 400))
    expect(await skewOf('LATE-1')).toBeGreaterThanOrEqual(-122)
    expect(await skewOf('LATE-1')).toBeLessThanOrEqual(-118)
  })

  it("most devices 2 minutes off: Health says this machine's clock is; stale arrivals are counted", async () => {
    expect((await t.ok('getHealth', undefined, admin)).laptopClockOffsetSeconds).toBeNull() // 1 late of 2
    devices.get('LATE-2')!.send(report('LATE-2-UID', 'LATE-2', Date.now() + LATE_MS))
    devices.get('LATE-3')!.send(report('LATE-3-UID', 'LATE-3', Date.now() + LATE_MS))
    await eventually(() => known(4), 'four skews known')
    const offset = (await t.ok('getHealth', undefined, admin)).laptopClockOffsetSeconds
    expect(offset).toBeGreaterThanOrEqual(-122)
    expect(offset).toBeLessThanOrEqual(-118)

    const before = (await t.ok('getHealth', undefined, admin)).staleOnArrival
    const now = Date.now()
    devices.get('ON-TIME')!.send(report('ON-TIME-UID', 'ON-TIME', now + 1, now + 1, now - 1000))
    await eventually(async () => (await t.ok('getHealth', undefined, admin)).staleOnArrival > before, 'the stale event counted')
    expect((await t.ok('getHealth', undefined, admin)).staleOnArrival).toBe(before + 1)
  })

  it('a local federation: one-way when the other side turns Out off, paused when both of ours are off', async () => {
    const f = await t.ok('federateWithinOrganization', { networkId, otherNetworkId }, admin)
    expect(f.ours.diagnosis).toBeNull()
    await t.ok('updateFederationEnd', { federationId: f.id, networkId: otherNetworkId, outgoing: false }, admin)
    const [seen] = await t.ok('listFederations', { networkId }, admin)
    expect(seen!.ours.diagnosis?.code).toBe('one-way')
    expect(seen!.ours.diagnosis?.message).toMatch(/nothing comes from 'Bravo' because Out is off on their side/)
    const [fromBravo] = await t.ok('listFederations', { networkId: otherNetworkId }, admin)
    expect(fromBravo!.ours.diagnosis).toBeNull() // Bravo turned it off itself: nothing to explain to Bravo
    await t.ok('updateFederationEnd', { federationId: f.id, networkId, incoming: false, outgoing: false }, admin)
    const [paused] = await t.ok('listFederations', { networkId }, admin)
    expect(paused!.ours.diagnosis?.code).toBe('paused')
    const [bravoView] = await t.ok('listFederations', { networkId: otherNetworkId }, admin)
    expect(bravoView!.ours.diagnosis).toMatchObject({ code: 'paused', message: expect.stringMatching(/'Alpha' paused this federation/) })
  })
})
