import { describe, expect, it } from 'vitest'
import { API_METHODS, API_METHODS_COMPLETE } from '../../gateway/api/contract.ts'

describe('contract', () => {
  it('lists every method once', () => {
    expect(API_METHODS_COMPLETE).toBe(true)
    expect(new Set(API_METHODS).size).toBe(API_METHODS.length)
  })
})
