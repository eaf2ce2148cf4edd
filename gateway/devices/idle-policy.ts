// When a device connection counts as half-open and is closed: silence from the device while nothing we write reaches
// it, swept a few times per idle timeout.

import type { Logger } from '../log.ts'

/**
 * Silence from a device that no live one keeps up, whatever we write to it: ATAK sends its position every 180 s when
 * stationary (dynamicReportingRateStationaryReliable), so three of those.
 */
export const MAX_DEVICE_SILENCE_MS = 600_000

interface WatchedConnection {
  lastReceivedAt: number
  queue: { lastWriteAt: number; stalled: boolean }
}

/**
 * Why a connection counts as half-open now, or null while it may be alive. A device that hears nothing from us pings
 * (ATAK after 15 s without receiving anything, then every 4.5 s), but one that keeps receiving may stay silent until
 * its next position report, minutes away. So silence is enough only while nothing reaches it from us either: nothing
 * was written, or what was written has not drained (a vanished peer acknowledges nothing, so its socket backs up and
 * the queue stops writing to it).
 */
export function goneBecause(connection: WatchedConnection, now: number, idleTimeoutMs: number): string | null {
  const silentMs = now - connection.lastReceivedAt
  if (silentMs < idleTimeoutMs) return null
  const silent = `sent nothing for ${Math.round(silentMs / 1000)} s`
  if (now - connection.queue.lastWriteAt >= idleTimeoutMs) {
    return connection.queue.stalled
      ? `${silent} and took nothing we wrote in that time`
      : `${silent} though nothing was written to it (a live device pings)`
  }
  if (silentMs >= MAX_DEVICE_SILENCE_MS) return `${silent}, longer than a live device stays silent`
  return null
}

/** Closes, through `close`, each connection gone half-open; null when `idleTimeoutMs` is 0 (never). Unref'd. */
export function startIdleSweep<C extends WatchedConnection & { deviceId: string }>(
  connections: () => Iterable<C>,
  idleTimeoutMs: number,
  log: Logger,
  close: (connection: C) => void
): NodeJS.Timeout | null {
  if (idleTimeoutMs <= 0) return null
  const sweep = setInterval(
    () => {
      const now = Date.now()
      for (const connection of [...connections()]) {
        const why = goneBecause(connection, now, idleTimeoutMs)
        if (why === null) continue
        log.info(`Device ${connection.deviceId}: ${why}; its connection was closed as half-open`)
        close(connection)
      }
    },
    Math.max(100, Math.min(5000, idleTimeoutMs / 4))
  )
  sweep.unref()
  return sweep
}
