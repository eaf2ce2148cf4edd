// A device's "Last activity" survives a restart without a db.json write per event: the saver writes when a device
// goes offline and, while it stays busy, at most once per period (devices/last-seen.ts). Then a real gateway: a
// device connects, talks, leaves; the gateway restarts on the same data and still lists when it was last heard.

import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { saveLastSeen } from '../../../gateway/devices/last-seen.ts'
import { Presence } from '../../../gateway/devices/presence.ts'
import { Store } from '../../../gateway/store/store.ts'
import type { DeviceRecord } from '../../../gateway/store/schema.ts'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity, pli, until } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

const quiet = { info: () => {}, warn: () => {}, error: () => {} }
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const device = (id: string): DeviceRecord => ({
  id,
  networkId: 'net_a',
  callsign: id.toUpperCase(),
  fingerprint: `FP:${id}`,
  serial: '01',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2027-01-01T00:00:00.000Z',
  enrolledAt: '2026-01-01T00:00:00.000Z',
  revokedAt: null,
  certPem: ''
})

async function storeWithDevices(ids: string[]): Promise<{ store: Store; writes: () => number }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-last-seen-'))
  const store = await Store.open({ dir, debounceMs: 0 })
  cleanups.push(async () => {
    await store.close()
    await fsp.rm(dir, { recursive: true, force: true })
  })
  await store.update((doc) => void doc.devices.push(...ids.map(device)))
  // Every write the saver asks for goes through update(): counting them counts its db.json writes.
  let writes = 0
  const update = store.update.bind(store)
  store.update = (mutate) => {
    writes++
    return update(mutate)
  }
  return { store, writes: () => writes }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('saveLastSeen', () => {
  it('a busy device is written at most once per period, not per event', async () => {
    const { store, writes } = await storeWithDevices(['dev_a'])
    const presence = new Presence()
    const saver = saveLastSeen(store, presence, quiet, { everyMs: 400, offlineMs: 20 })
    cleanups.push(() => saver.stop())
    presence.connected('dev_a', 'net_a', '10.0.0.7')
    // ~1 s of traffic, each event a change presence announces at once (a new uid), so ~40 announcements reach the
    // saver: it writes once per 400 ms.
    let announced = 0
    presence.on('change', () => announced++)
    const end = Date.now() + 1100
    for (let i = 0; Date.now() < end; i++) {
      presence.seen('dev_a', { uid: `ANDROID-${i}`, position: { lat: 1, lon: 2 } })
      await sleep(25)
    }
    // On a loaded machine fewer turns fit in the second; the bound holds either way.
    expect(announced).toBeGreaterThanOrEqual(10)
    expect(writes()).toBeLessThanOrEqual(3)
    await until(() => store.data.devices[0]!.lastSeen !== undefined, 5000, 'the time saved')
  })

  it('going offline is written within the short pause, several devices in one write', async () => {
    const { store, writes } = await storeWithDevices(['dev_a', 'dev_b'])
    const presence = new Presence()
    const saver = saveLastSeen(store, presence, quiet, { everyMs: 60_000, offlineMs: 50 })
    cleanups.push(() => saver.stop())
    presence.connected('dev_a', 'net_a', null)
    presence.connected('dev_b', 'net_a', null)
    expect(writes()).toBe(0)
    presence.disconnected('dev_a')
    presence.disconnected('dev_b')
    await until(() => store.data.devices.every((d) => d.lastSeen !== undefined), 5000, 'both times saved')
    await sleep(100)
    expect(writes()).toBe(1)
    const seenA = presence.get('dev_a')!.lastSeen
    expect(store.data.devices.map((d) => d.lastSeen)).toEqual([seenA, presence.get('dev_b')!.lastSeen])
  })

  it('stop() writes what waits', async () => {
    const { store } = await storeWithDevices(['dev_a'])
    const presence = new Presence()
    const saver = saveLastSeen(store, presence, quiet, { everyMs: 60_000, offlineMs: 60_000 })
    presence.connected('dev_a', 'net_a', null)
    await saver.stop()
    expect(store.data.devices[0]!.lastSeen).toBe(presence.get('dev_a')!.lastSeen)
  })
})

describe('Last activity across a gateway restart', () => {
  it('the device list still says when the device was last heard', async () => {
    let t: TestGateway = await startTestGateway({ env: { Streaming__BindAddress: '127.0.0.1' } })
    const dataDir = t.dataDir
    cleanups.push(async () => {
      await t.stop()
      await fsp.rm(dataDir, { recursive: true, force: true })
    })
    const token = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: '2-5 Recon', plan: 'team' }, token)
    const networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, token)).id
    const identity = await enrollIdentity(t, token, networkId, 'VIPER-1')
    const phone = await DeviceClient.connect({ port: t.services.ports.streaming, ...identity })
    await phone.waitFor((e) => e.type === 't-x-takp-v')
    phone.send(pli('ANDROID-viper', 'VIPER-1'))
    const listed = async (): Promise<{ online: boolean; lastSeen: string | null }> => (await t.ok('listDevices', { networkId }, token))[0]!
    const live = (): { uidSeen?: string } | undefined => t.services.presence?.(identity.deviceId) as { uidSeen?: string } | undefined
    await until(() => live()?.uidSeen === 'ANDROID-viper', 5000, 'the position report')
    await phone.close()
    await until(() => t.services.presence?.(identity.deviceId)?.online === false, 5000, 'the device to go offline')
    const before = await listed()
    expect(before.lastSeen).not.toBeNull()

    // A restart on the same data: the file keeps its own copy, the new gateway has no presence yet.
    await t.gateway.stop()
    t = await startTestGateway({ dataDir, env: { Streaming__BindAddress: '127.0.0.1' } })
    const again = await t.loginAs('admin', t.adminPassword!)
    const after = (await t.ok('listDevices', { networkId }, again))[0]!
    expect(after.online).toBe(false)
    expect(after.lastSeen).toBe(before.lastSeen)
  }, 30_000)
})
