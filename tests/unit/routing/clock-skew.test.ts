// The per-sender clock state stays bounded whatever a sender does: a device inventing a new uid per event makes the
// tracker forget the oldest uids (it keeps SKEW_UIDS), and only SKEW_SAMPLES offsets are kept for the median.

import { expect, it } from 'vitest'
import { ClockSkew, SKEW_SAMPLES, SKEW_UIDS } from '../../../gateway/routing/clock-skew.ts'

const at = (ms: number): { time: string; start: string; stale: string } => {
  const iso = new Date(ms).toISOString()
  return { time: iso, start: iso, stale: new Date(ms + 60_000).toISOString() }
}

it('forgets the oldest uids beyond SKEW_UIDS and medians only the last SKEW_SAMPLES offsets', () => {
  const now = Date.parse('2026-12-08T10:00:00.000Z')
  const clock = new ClockSkew()
  expect(clock.note({ uid: 'first', ...at(now - 5000) }, now)).toBe('fresh')
  expect(clock.note({ uid: 'first', ...at(now - 6000) }, now)).toBe('replay') // remembered: an older time again
  for (let i = 0; i < 10_000; i++) clock.note({ uid: `u${i}`, ...at(now - 120_000) }, now)
  // 'first' was pushed out by the 10 000 others: its old time is taken as news now (bounded memory, not a leak).
  expect(clock.note({ uid: 'first', ...at(now - 6000) }, now)).toBe('fresh')
  expect(clock.note({ uid: `u${10_000 - SKEW_UIDS + 1}`, ...at(now - 130_000) }, now)).toBe('replay') // still known
  // The median is of the last SKEW_SAMPLES: the -6 s one among 31 at -120 s does not move it.
  expect(clock.seconds()).toBe(-120)
  for (let i = 0; i < SKEW_SAMPLES; i++) clock.note({ uid: `v${i}`, ...at(now + 45_000) }, now)
  expect(clock.seconds()).toBe(45)
})
