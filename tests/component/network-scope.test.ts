// @vitest-environment happy-dom
// useNetworkScope, what the devices, packages, federations and peers stores share: the network shown, every failure
// handed to the caller, an answer for a network already left dropped, and `changed` events that reload.

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { ConsoleEvent, DeviceDto } from '../../gateway/api/contract.ts'
import { useDevicesStore } from '../../renderer/src/stores/devices.ts'
import { useNetworkScope } from '../../renderer/src/stores/network-scope.ts'
import { fakeGateway, GatewayError, type FakeGateway } from './fake-gateway.ts'

/** A scope over a plain list whose fetches the test answers by hand, recording what reaches the store. */
function scopeOverList(): {
  scope: ReturnType<typeof useNetworkScope>
  list: string[]
  fetched: string[]
  cleared: number
  others: ConsoleEvent[]
  /** Answers the oldest waiting fetch, or the newest with `newest`. */
  answer: (rows: string[] | Error, newest?: 'newest') => void
} {
  const state = {
    list: [] as string[],
    fetched: [] as string[],
    cleared: 0,
    others: [] as ConsoleEvent[],
    pending: [] as { resolve: (rows: string[]) => void; reject: (err: Error) => void }[]
  }
  const scope = useNetworkScope({
    area: 'packages',
    clear: () => {
      state.cleared++
      state.list = []
    },
    fetch: (networkId) => {
      state.fetched.push(networkId)
      return new Promise<string[]>((resolve, reject) => state.pending.push({ resolve, reject }))
    },
    apply: (rows) => {
      state.list = rows
    },
    onEvent: (event) => state.others.push(event)
  })
  return {
    scope,
    get list() {
      return state.list
    },
    fetched: state.fetched,
    get cleared() {
      return state.cleared
    },
    others: state.others,
    answer: (rows, newest) => {
      const next = newest ? state.pending.pop() : state.pending.shift()
      if (next === undefined) throw new Error('no fetch is waiting')
      if (rows instanceof Error) next.reject(rows)
      else next.resolve(rows)
    }
  }
}

let gw: FakeGateway

beforeEach(() => {
  gw = fakeGateway({})
  setActivePinia(createPinia())
})

describe('useNetworkScope', () => {
  it('loading while the gateway answers; the answer lands', async () => {
    const t = scopeOverList()
    const loading = t.scope.load('net_a')
    expect(t.scope.networkId.value).toBe('net_a')
    expect(t.scope.loading.value).toBe(true)
    t.answer(['one', 'two'])
    await loading
    expect(t.scope.loading.value).toBe(false)
    expect(t.list).toEqual(['one', 'two'])
  })

  it('every failure reaches the caller (a not_found too: the gateway serves every method), and loading ends', async () => {
    const t = scopeOverList()
    const unreachable = t.scope.load('net_a')
    t.answer(new GatewayError('unavailable', 'The gateway cannot be reached.'))
    await expect(unreachable).rejects.toThrow('cannot be reached')

    const first = t.scope.load('net_a')
    t.answer(new GatewayError('not_found', "Network 'Alpha' does not exist."))
    await expect(first).rejects.toThrow("Network 'Alpha' does not exist.")
    expect(t.scope.loading.value).toBe(false)
    expect(t.list).toEqual([])

    const second = t.scope.load('net_a')
    t.answer(new GatewayError('forbidden', 'You may not see this network.'))
    await expect(second).rejects.toThrow('You may not see this network.')
    expect(t.scope.loading.value).toBe(false)
  })

  it('opening another network clears the old rows at once; its late answer is dropped', async () => {
    const t = scopeOverList()
    const a = t.scope.load('net_a')
    t.answer(['alpha'])
    await a
    expect(t.cleared).toBe(1)

    const again = t.scope.load('net_a')
    expect(t.cleared).toBe(1)
    expect(t.list).toEqual(['alpha'])
    const b = t.scope.load('net_b')
    expect(t.cleared).toBe(2)
    expect(t.list).toEqual([])
    t.answer(['bravo'], 'newest')
    await b
    expect(t.list).toEqual(['bravo'])
    t.answer(['alpha, late'])
    await again
    expect(t.list).toEqual(['bravo'])
  })

  it('follows `changed` for its area and network (or for the whole area), hands other events on, stops when told', async () => {
    const t = scopeOverList()
    const first = t.scope.load('net_a')
    t.answer([])
    await first
    const unfollow = t.scope.follow()

    gw.push({ type: 'changed', area: 'packages', networkId: 'net_a' })
    gw.push({ type: 'changed', area: 'packages', networkId: 'net_b' })
    gw.push({ type: 'changed', area: 'devices', networkId: 'net_a' })
    gw.push({ type: 'changed', area: 'packages' })
    expect(t.fetched).toEqual(['net_a', 'net_a', 'net_a'])
    t.answer(['refreshed'])
    t.answer(['refreshed'])
    await flushPromises()
    expect(t.list).toEqual(['refreshed'])
    expect(t.others).toEqual([{ type: 'changed', area: 'devices', networkId: 'net_a' }])

    unfollow()
    gw.push({ type: 'changed', area: 'packages', networkId: 'net_a' })
    expect(t.fetched).toHaveLength(3)
  })

  it('a failed reload from an event is swallowed; reload before any network is shown asks nothing', async () => {
    const t = scopeOverList()
    await t.scope.reload()
    expect(t.fetched).toEqual([])
    const unfollow = t.scope.follow()
    gw.push({ type: 'changed', area: 'packages' })
    expect(t.fetched).toEqual([])

    const first = t.scope.load('net_a')
    t.answer(['kept'])
    await first
    gw.push({ type: 'changed', area: 'packages', networkId: 'net_a' })
    t.answer(new GatewayError('internal', 'The gateway hiccuped.'))
    await flushPromises()
    expect(t.list).toEqual(['kept'])
    unfollow()
  })
})

describe('a store on it: devices', () => {
  const device = (id: string, networkId: string, callsign: string): DeviceDto => ({
    id,
    networkId,
    callsign,
    fingerprint: 'AA:BB',
    serial: '01',
    notAfter: '2027-11-26T10:00:00.000Z',
    enrolledAt: '2026-11-26T10:00:00.000Z',
    revokedAt: null,
    online: false,
    uidSeen: null,
    lastSeen: null,
    address: null,
    connectionCount: 0,
    lastPosition: null,
    drops: 0,
    clockSkewSeconds: null,
    enrolledBy: 'package'
  })

  it('a changed event refetches, deviceStatus replaces the rows without asking, another network is ignored', async () => {
    gw.answers.listDevices = (args) => [device('dev_1', (args as { networkId: string }).networkId, 'VIPER-1')]
    gw.answers.listDeviceEnrollments = () => []
    const devices = useDevicesStore()
    await devices.load('net_a')
    const unfollow = devices.follow()
    expect(devices.list.map((d) => d.callsign)).toEqual(['VIPER-1'])

    gw.answers.listDevices = () => [device('dev_1', 'net_a', 'VIPER-1'), device('dev_2', 'net_a', 'VIPER-2')]
    gw.push({ type: 'changed', area: 'devices', networkId: 'net_a' })
    await flushPromises()
    expect(devices.list.map((d) => d.callsign)).toEqual(['VIPER-1', 'VIPER-2'])
    expect(gw.count('listDevices')).toBe(2)

    gw.push({ type: 'deviceStatus', networkId: 'net_a', devices: [{ ...device('dev_2', 'net_a', 'VIPER-2'), online: true }] })
    gw.push({ type: 'deviceStatus', networkId: 'net_b', devices: [] })
    gw.push({ type: 'changed', area: 'devices', networkId: 'net_b' })
    await flushPromises()
    expect(devices.list.map((d) => [d.callsign, d.online])).toEqual([['VIPER-2', true]])
    expect(gw.count('listDevices')).toBe(2)
    unfollow()
  })

  it('a failed enrollment list fails the load instead of showing an empty waiting list', async () => {
    gw.answers.listDevices = () => [device('dev_1', 'net_a', 'VIPER-1')]
    gw.answers.listDeviceEnrollments = () => {
      throw new GatewayError('forbidden', 'You may not see this network.')
    }
    const devices = useDevicesStore()
    await expect(devices.load('net_a')).rejects.toThrow('You may not see this network.')
    expect(devices.loading).toBe(false)
  })
})
