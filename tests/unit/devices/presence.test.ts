// Presence keeps times as milliseconds inside and gives ISO strings out: what consoles see must not change shape,
// and what they are given is a copy (a console mutating it changes nothing).

import { afterEach, expect, it, vi } from 'vitest'
import { Presence, type PresenceState } from '../../../gateway/devices/presence.ts'

afterEach(() => {
  vi.useRealTimers()
})

it('last seen and last position come out as ISO times of the traffic, and as copies', () => {
  vi.useFakeTimers({ now: Date.parse('2026-11-26T10:00:00.000Z') })
  const presence = new Presence()
  const changes: PresenceState[] = []
  presence.on('change', (s) => changes.push(s))
  presence.connected('d1', 'n1', '10.0.0.5')
  expect(changes.at(-1)).toMatchObject({ deviceId: 'd1', online: true, lastSeen: '2026-11-26T10:00:00.000Z', lastPosition: null })

  vi.setSystemTime(Date.parse('2026-11-26T10:00:05.000Z'))
  presence.seen('d1', { uid: 'ANDROID-1', position: { lat: 51.5, lon: -0.12 } })
  expect(changes.at(-1)).toMatchObject({
    uidSeen: 'ANDROID-1',
    lastSeen: '2026-11-26T10:00:05.000Z',
    lastPosition: { lat: 51.5, lon: -0.12, at: '2026-11-26T10:00:05.000Z' }
  })

  vi.setSystemTime(Date.parse('2026-11-26T10:00:07.000Z'))
  presence.seen('d1', { position: { lat: 52, lon: 1 } })
  const state = presence.get('d1')!
  expect(state.lastSeen).toBe('2026-11-26T10:00:07.000Z')
  expect(state.lastPosition).toEqual({ lat: 52, lon: 1, at: '2026-11-26T10:00:07.000Z' })
  // An earlier copy keeps what it was given.
  expect(changes.at(-1)!.lastPosition).toEqual({ lat: 51.5, lon: -0.12, at: '2026-11-26T10:00:05.000Z' })
  state.lastPosition!.lat = 0
  expect(presence.get('d1')!.lastPosition!.lat).toBe(52)
  expect(presence.all()).toEqual([presence.get('d1')])

  // Quiet changes are announced once, a second later.
  vi.advanceTimersByTime(1000)
  expect(changes.at(-1)!.lastPosition).toEqual({ lat: 52, lon: 1, at: '2026-11-26T10:00:07.000Z' })
  presence.close()
})
