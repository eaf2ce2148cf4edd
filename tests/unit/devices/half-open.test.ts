// Issue 7, hardening item 7: a device that vanishes without a FIN is detected and removed within the idle timeout: its
// connection closes, presence says offline, the others get its t-x-d-d. And a live device that is merely silent is
// not: ATAK pings only after 15 s without receiving anything, so a stationary phone on a busy network may send nothing
// until its next position report (every 180 s by default) while it takes everything we write to it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity, pli } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { goneBecause, MAX_DEVICE_SILENCE_MS } from '../../../gateway/devices/idle-policy.ts'

/** 2 s stands in for the default 45 s so the tests run in seconds; the rules under test are the same. */
const IDLE_SECONDS = 2

function ping(uid: string): string {
  const now = new Date()
  return (
    `<event version="2.0" uid="${uid}-ping" type="t-x-c-t" how="m-g" time="${now.toISOString()}" start="${now.toISOString()}" ` +
    `stale="${new Date(now.getTime() + 20_000).toISOString()}"><point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/></event>`
  )
}

describe('half-open device connections', () => {
  let t: TestGateway
  let admin = ''
  let networkId = ''

  async function connect(callsign: string): Promise<{ client: DeviceClient; deviceId: string }> {
    const identity = await enrollIdentity(t, admin, networkId, callsign)
    const client = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
    return { client, deviceId: identity.deviceId }
  }

  async function online(deviceId: string): Promise<boolean> {
    const devices = await t.ok('listDevices', { networkId }, admin)
    return devices.find((d) => d.id === deviceId)!.online
  }

  /**
   * `ghost` stops reading and writing without closing while the talker runs `talk` every `everyMs`: the talker must be
   * told the ghost left within `withinMs` (the idle timeout plus a sweep, with slack for a loaded CI machine; never
   * "eventually"), and presence must say the ghost is offline and the talker online.
   */
  async function expectVanished(
    ghost: { client: DeviceClient; deviceId: string },
    ghostUid: string,
    talker: { client: DeviceClient; deviceId: string },
    talk: () => void,
    everyMs: number,
    withinMs: number
  ): Promise<void> {
    ghost.client.socket.pause()
    const timer = setInterval(talk, everyMs)
    try {
      const started = Date.now()
      await talker.client.waitFor((e) => e.type === 't-x-d-d' && e.detailXml.includes(ghostUid), withinMs + 5_000)
      expect(Date.now() - started).toBeLessThan(withinMs)
      expect(await online(ghost.deviceId)).toBe(false)
      expect(await online(talker.deviceId)).toBe(true)
    } finally {
      clearInterval(timer)
      await ghost.client.close()
      await talker.client.close()
    }
  }

  beforeAll(async () => {
    t = await startTestGateway({
      env: { Streaming__IdleTimeoutSeconds: String(IDLE_SECONDS), Federation__AdvertisedHostname: 'localhost' }
    })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
  })

  afterAll(async () => {
    await t?.stop()
  })

  it('closes a connection that went silent while nothing was sent to it, and tells the others it left', async () => {
    const ghost = await connect('GHOST')
    const talker = await connect('TALKER')
    ghost.client.send(pli('ghost-uid', 'GHOST'))
    talker.client.send(pli('talker-uid', 'TALKER'))
    await talker.client.waitFor((e) => e.uid === 'ghost-uid', 10_000)
    await ghost.client.waitFor((e) => e.uid === 'talker-uid', 10_000)
    // The ghost now stops reading and writing without closing. The talker pings like an idle ATAK: pings are answered,
    // never forwarded, so nothing more is written to the ghost, and a live ghost would have pinged too.
    await expectVanished(ghost, 'ghost-uid', talker, () => talker.client.send(ping('talker-uid')), 300, 10_000)
  })

  it('keeps a silent device that takes what is sent to it (a stationary ATAK on a busy network)', async () => {
    const stationary = await connect('STATIONARY')
    const talker = await connect('MOVER')
    stationary.client.send(pli('stationary-uid', 'STATIONARY'))
    let sent = 0
    const mover = setInterval(() => talker.client.send(pli('mover-uid', 'MOVER', { lat: 34 + sent++ / 1000, lon: -117 })), 300)
    let closed = false
    void stationary.client.closed.then(() => (closed = true))
    try {
      // Three idle timeouts of silence from the stationary device while the mover's positions reach it.
      await new Promise((r) => setTimeout(r, 3 * IDLE_SECONDS * 1000 + 500))
      expect(closed).toBe(false)
      expect(await online(stationary.deviceId)).toBe(true)
      expect(talker.client.received.some((e) => e.type === 't-x-d-d' && e.detailXml.includes('stationary-uid'))).toBe(false)
      // It was kept up to date the whole time.
      const positions = stationary.client.received.filter((e) => e.uid === 'mover-uid').length
      expect(positions).toBeGreaterThan(10)
    } finally {
      clearInterval(mover)
      await stationary.client.close()
      await talker.client.close()
    }
  })

  it('closes a silent connection whose socket stopped taking what is sent to it, while traffic flows', async () => {
    const ghost = await connect('STUCK')
    const talker = await connect('FLOODER')
    ghost.client.send(pli('stuck-uid', 'STUCK'))
    await talker.client.waitFor((e) => e.uid === 'stuck-uid', 10_000)
    // A vanished peer acknowledges nothing, so what we write to it backs up. On loopback the kernel acknowledges for a
    // paused reader, so the ghost's socket buffers are filled first (about 48 KiB events, well past what loopback holds).
    const remarks = 'x'.repeat(48 * 1024)
    let sent = 0
    const flood = (): void => {
      for (let i = 0; i < 20; i++) talker.client.send(pli('flooder-uid', 'FLOODER', { lat: 34, lon: -117 }, `${sent++} ${remarks}`))
    }
    await expectVanished(ghost, 'stuck-uid', talker, flood, 100, 20_000)
  })
})

describe('when a silent device counts as gone (goneBecause)', () => {
  const idle = 45_000
  const now = 10_000_000
  const connection = (silentMs: number, unwrittenMs: number, stalled = false) => ({
    lastReceivedAt: now - silentMs,
    queue: { lastWriteAt: now - unwrittenMs, stalled }
  })

  it('never while it has sent something within the idle timeout', () => {
    expect(goneBecause(connection(idle - 1, 10 * idle, true), now, idle)).toBeNull()
  })

  it('when nothing reached it from us for as long: unwritten, or not drained', () => {
    expect(goneBecause(connection(idle, idle), now, idle)).toMatch(/nothing was written to it/)
    expect(goneBecause(connection(idle, idle, true), now, idle)).toMatch(/took nothing we wrote/)
    expect(goneBecause(connection(idle, idle - 1), now, idle)).toBeNull()
  })

  it('while it takes what we write, only past the longest silence of a live device (three stationary reports)', () => {
    expect(MAX_DEVICE_SILENCE_MS).toBeGreaterThanOrEqual(3 * 180_000)
    expect(goneBecause(connection(MAX_DEVICE_SILENCE_MS - 1, 100), now, idle)).toBeNull()
    expect(goneBecause(connection(MAX_DEVICE_SILENCE_MS, 100), now, idle)).toMatch(/longer than a live device stays silent/)
  })
})
