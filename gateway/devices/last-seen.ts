// A device's "Last activity" kept across restarts. Presence is in memory and announces a busy device about once a
// second; writing db.json that often would cost a store write per event. The time is saved when a device goes
// offline (gathered for a moment, so a whole network dropping at once is one write) and, while it stays online, at
// most once a minute.

import type { Logger } from '../log.ts'
import type { Store } from '../store/store.ts'
import type { Presence, PresenceState } from './presence.ts'

export interface LastSeenTimes {
  /** While devices stay online, their latest activity is written at most this often. */
  everyMs: number
  /** A device that went offline is written after this pause, together with any others that went meanwhile. */
  offlineMs: number
}

export const LAST_SEEN_TIMES: LastSeenTimes = { everyMs: 60_000, offlineMs: 1000 }

export interface LastSeenSaver {
  /** Writes what waits now (gateway stop). */
  flush(): Promise<void>
  stop(): Promise<void>
}

export function saveLastSeen(store: Store, presence: Presence, log: Logger, times: LastSeenTimes = LAST_SEEN_TIMES): LastSeenSaver {
  // At most one entry per enrolled device that was active: bounded by the device count of db.json.
  const waiting = new Map<string, string>()
  let timer: NodeJS.Timeout | null = null
  let due = Infinity
  let writing: Promise<void> = Promise.resolve()

  const write = (): Promise<void> => {
    if (timer) clearTimeout(timer)
    timer = null
    due = Infinity
    if (waiting.size === 0) return writing
    const times = new Map(waiting)
    waiting.clear()
    writing = writing
      .then(() =>
        store.update((doc) => {
          for (const device of doc.devices) {
            const at = times.get(device.id)
            if (at !== undefined && (device.lastSeen === undefined || device.lastSeen < at)) device.lastSeen = at
          }
        })
      )
      .catch((err: unknown) => log.warn(`could not save the devices' last activity: ${(err as Error).message}`))
    return writing
  }

  const writeWithin = (ms: number): void => {
    const at = Date.now() + ms
    if (at >= due) return
    if (timer) clearTimeout(timer)
    due = at
    timer = setTimeout(() => void write(), ms)
    timer.unref()
  }

  const onChange = (state: PresenceState): void => {
    if (state.lastSeen === null) return
    const known = store.data.devices.find((d) => d.id === state.deviceId)?.lastSeen
    if (known !== undefined && known >= state.lastSeen) return
    waiting.set(state.deviceId, state.lastSeen)
    writeWithin(state.online ? times.everyMs : times.offlineMs)
  }
  presence.on('change', onChange)

  return {
    flush: write,
    async stop() {
      presence.off('change', onChange)
      await write()
    }
  }
}
