// The CoT time conversions give exactly what Date gives, on the fast path and off it.

import { expect, it } from 'vitest'
import { isoOfMillis, millisOfIso } from '../../../gateway/cot/time.ts'

/** A deterministic spread of instants: 1970 to 9999, dense around now, every millisecond digit pattern. */
function instants(): number[] {
  const out: number[] = [0, 1, 999, 1000, 59_999, 60_000, 951_782_400_000, 4_102_444_799_999, 253_402_300_799_999]
  let x = 12345
  const next = (): number => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648
  for (let i = 0; i < 5000; i++) out.push(Math.floor(next() * 253_402_300_800_000))
  const now = Date.parse('2026-11-27T01:04:42.123Z')
  for (let i = 0; i < 5000; i++) out.push(now + Math.floor(next() * 600_000) - 300_000)
  return out
}

it('isoOfMillis is toISOString', () => {
  for (const ms of instants()) expect(isoOfMillis(ms)).toBe(new Date(ms).toISOString())
  // Off the fast path, still Date's answer (or its error).
  for (const ms of [-1, -62_198_755_200_000, 253_402_300_800_000, 1.5]) expect(isoOfMillis(ms)).toBe(new Date(ms).toISOString())
  expect(() => isoOfMillis(Number.NaN)).toThrow(RangeError)
})

it('millisOfIso is Date.parse, for canonical times and everything else', () => {
  for (const ms of instants()) {
    const iso = new Date(ms).toISOString()
    const variants = [iso, iso.replace(/\.\d{3}Z$/, 'Z'), iso.replace(/(\.\d)\d\dZ$/, '$1Z'), iso.replace(/(\.\d\d)\dZ$/, '$1Z')]
    for (const v of variants) expect(millisOfIso(v)).toBe(Date.parse(v))
  }
  const odd = [
    '',
    'garbage',
    '2026-11-27T01:04:42.Z',
    '2026-11-27T01:04:60.000Z',
    '2026-11-27T01:04:4x.000Z',
    '2026-11-27T01:04:42.12xZ',
    '2026-11-27T01:04:42.1234Z',
    '2026-11-27T24:00:00.000Z',
    '2026-02-30T01:04:42.000Z',
    '2026-11-27 01:04:42.000Z',
    '2026-11-27T01:04:42.000+02:00',
    '2026-11-27T01:04:42',
    '+002026-11-27T01:04:42.000Z',
    '2026-13-27T01:04:42.000Z'
  ]
  for (const v of odd) expect(millisOfIso(v)).toEqual(Date.parse(v))
})
