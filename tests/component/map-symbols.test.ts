// The live map's symbols: a CoT type becomes the 2525 symbol code milsymbol draws (affiliation, battle dimension,
// function letters), and headings are cached in 15° steps.

import { describe, expect, it } from 'vitest'
import { headingBucket, sidcFromCotType } from '../../renderer/src/components/map/symbols.ts'

describe('CoT type to symbol code', () => {
  it('reads affiliation, dimension and function from an atom', () => {
    expect(sidcFromCotType('a-f-G-U-C')).toBe('SFGPUC---------')
    expect(sidcFromCotType('a-f-G-U-C-I')).toBe('SFGPUCI--------')
    expect(sidcFromCotType('a-h-A-M-F-F')).toBe('SHAPMFF--------')
    expect(sidcFromCotType('a-n-S')).toBe('SNSP-----------')
  })

  it('falls back to an unknown ground symbol for what it cannot read', () => {
    expect(sidcFromCotType('b-m-p-s-m')).toBe('SUGP-----------')
    expect(sidcFromCotType('a-o-X')).toBe('SUGP-----------')
    expect(sidcFromCotType('a-f-G-<script>')).toBe('SFGP-----------')
  })

  it('puts headings in 15° steps, and none without a course', () => {
    expect(headingBucket(null)).toBeNull()
    expect(headingBucket(271.5)).toBe(270)
    expect(headingBucket(-10)).toBe(345)
    expect(headingBucket(359)).toBe(0)
  })
})
