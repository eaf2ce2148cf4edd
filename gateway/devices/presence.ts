// Live presence of devices (in memory only): online, last seen, uid seen on the wire, address, connection count,
// last position and send-queue drops. Emits `change` so the gateway can push `deviceStatus` events to consoles.

import { EventEmitter } from 'node:events'
import { ClockSkew } from '../routing/clock-skew.ts'

export interface PresenceState {
  deviceId: string
  networkId: string
  online: boolean
  lastSeen: string | null
  uidSeen: string | null
  address: string | null
  connectionCount: number
  lastPosition: { lat: number; lon: number; at: string } | null
  drops: number
  /** Its clock minus ours, in seconds (median of its recent events), or null before any. */
  clockSkewSeconds: number | null
}

/** Frequent changes (last seen, position, drops) are announced at most this often per device. */
const QUIET_CHANGE_MS = 1000

/** What is kept per device: times as milliseconds (every event sets them; they are printed only when read). */
interface Tracked extends Omit<PresenceState, 'lastSeen' | 'lastPosition' | 'clockSkewSeconds'> {
  lastSeenMs: number | null
  lastPosition: { lat: number; lon: number; atMs: number } | null
  clock: ClockSkew
}

function view(state: Tracked): PresenceState {
  const { lastSeenMs, lastPosition, clock, ...rest } = state
  return {
    ...rest,
    clockSkewSeconds: clock.seconds(),
    lastSeen: lastSeenMs === null ? null : new Date(lastSeenMs).toISOString(),
    lastPosition: lastPosition && { lat: lastPosition.lat, lon: lastPosition.lon, at: new Date(lastPosition.atMs).toISOString() }
  }
}

export class Presence extends EventEmitter<{ change: [state: PresenceState] }> {
  private readonly devices = new Map<string, Tracked>()
  private readonly dirty = new Set<string>()
  private timer: NodeJS.Timeout | null = null

  get(deviceId: string): PresenceState | undefined {
    const state = this.devices.get(deviceId)
    return state && view(state)
  }

  all(): PresenceState[] {
    return [...this.devices.values()].map(view)
  }

  connected(deviceId: string, networkId: string, address: string | null): void {
    const state = this.stateOf(deviceId, networkId)
    state.connectionCount++
    state.online = true
    state.address = address
    state.lastSeenMs = Date.now()
    this.announce(state)
  }

  disconnected(deviceId: string): void {
    const state = this.devices.get(deviceId)
    if (!state) return
    state.connectionCount = Math.max(0, state.connectionCount - 1)
    state.online = state.connectionCount > 0
    this.announce(state)
  }

  /** Traffic from the device; `uid` once learnt from its first position report. */
  seen(deviceId: string, update: { uid?: string; position?: { lat: number; lon: number } } = {}): void {
    const state = this.devices.get(deviceId)
    if (!state) return
    const now = Date.now()
    state.lastSeenMs = now
    if (update.position) {
      if (state.lastPosition) {
        state.lastPosition.lat = update.position.lat
        state.lastPosition.lon = update.position.lon
        state.lastPosition.atMs = now
      } else state.lastPosition = { lat: update.position.lat, lon: update.position.lon, atMs: now }
    }
    if (update.uid !== undefined && update.uid !== state.uidSeen) {
      state.uidSeen = update.uid
      this.announce(state)
      return
    }
    this.later(deviceId)
  }

  /** Events from all devices that arrived already stale (their clock, or a replay of old news), for Health. */
  staleOnArrival = 0

  /** An event from the device (not a control message): its clock offset and whether it came stale. */
  timed(deviceId: string, event: { uid: string; time: string; start: string; stale: string }): void {
    const state = this.devices.get(deviceId)
    if (state && state.clock.note(event, Date.now()) === 'stale') this.staleOnArrival++
  }

  dropped(deviceId: string, count = 1): void {
    const state = this.devices.get(deviceId)
    if (!state) return
    state.drops += count
    this.later(deviceId)
  }

  /** The device was removed (revoked or its network deleted): forget it. */
  forget(deviceId: string): void {
    this.devices.delete(deviceId)
    this.dirty.delete(deviceId)
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.dirty.clear()
  }

  private stateOf(deviceId: string, networkId: string): Tracked {
    let state = this.devices.get(deviceId)
    if (!state) {
      state = {
        deviceId,
        networkId,
        online: false,
        lastSeenMs: null,
        uidSeen: null,
        address: null,
        connectionCount: 0,
        lastPosition: null,
        drops: 0,
        clock: new ClockSkew()
      }
      this.devices.set(deviceId, state)
    }
    return state
  }

  private announce(state: Tracked): void {
    this.dirty.delete(state.deviceId)
    this.emit('change', view(state))
  }

  private later(deviceId: string): void {
    this.dirty.add(deviceId)
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      const ids = [...this.dirty]
      this.dirty.clear()
      for (const id of ids) {
        const state = this.devices.get(id)
        if (state) this.emit('change', view(state))
      }
    }, QUIET_CHANGE_MS)
    this.timer.unref()
  }
}
