// Filters by kind of traffic (issue 20): every CoT type lands in one kind, prefixes with `*` match without runaway
// backtracking, a stored filter is normalised, and a filter without 'emergencies' keeps emergencies back.

import { describe, expect, it } from 'vitest'
import { compileFilter, kindOf, normalFilter, prefixMatches } from '../../../gateway/routing/traffic-filter.ts'

describe('traffic filters', () => {
  it('classifies each kind of traffic by its CoT type', () => {
    expect(kindOf('a-f-G-U-C')).toBe('positions')
    expect(kindOf('b-t-f')).toBe('chat')
    expect(kindOf('b-t-f-d')).toBe('chat')
    expect(kindOf('b-m-p-s-p-i')).toBe('markers')
    expect(kindOf('u-d-f')).toBe('markers')
    expect(kindOf('b-a-o-tbl')).toBe('emergencies')
    expect(kindOf('b-f-t-r')).toBe('packages')
    expect(kindOf('b-f-t-a')).toBe('other')
    expect(kindOf('t-x-c-t')).toBe('other')
  })

  it('lets the ticked kinds and the listed prefixes cross, nothing else', () => {
    const pass = compileFilter({ kinds: ['chat'], typePrefixes: ['a-f-G', 'b-m-*-i'] })
    expect(pass('b-t-f')).toBe(true)
    expect(pass('a-f-G-U-C')).toBe(true)
    expect(pass('a-h-G')).toBe(false)
    expect(pass('b-m-r')).toBe(false)
    expect(pass('b-m-p-i')).toBe(true)
    expect(pass('b-a-o-tbl')).toBe(false)
    expect(compileFilter(null)('anything')).toBe(true)
    expect(compileFilter({ kinds: [] })('a-f-G')).toBe(false)
  })

  it('matches a prefix of many stars against a long type in bounded time', () => {
    const pattern = '*a'.repeat(32)
    const type = 'a'.repeat(31) + 'b'.repeat(4000)
    const started = performance.now()
    expect(prefixMatches(pattern, type)).toBe(false)
    expect(performance.now() - started).toBeLessThan(2000)
    expect(prefixMatches('a-*-G', 'a-f-G-U')).toBe(true)
    expect(prefixMatches('a-*-G', 'a-f-U')).toBe(false)
  })

  it('stores kinds in the console order without repeats and drops an empty prefix list', () => {
    expect(normalFilter({ kinds: ['other', 'chat', 'chat'], typePrefixes: [] })).toEqual({ kinds: ['chat', 'other'] })
    expect(normalFilter({ kinds: [], typePrefixes: ['a-f', 'a-f'] })).toEqual({ kinds: [], typePrefixes: ['a-f'] })
    expect(normalFilter(null)).toBeNull()
  })
})
