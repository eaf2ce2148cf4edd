import { describe, expect, it } from 'vitest'
import { API_METHODS } from '../../gateway/api/schema/index.ts'

describe('contract', () => {
  it('lists every method once', () => {
    expect(new Set(API_METHODS).size).toBe(API_METHODS.length)
  })
})
