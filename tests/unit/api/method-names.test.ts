// The preload's plain list of method names is the schema's list: a method missing from it would not exist on
// window.fedgate in the desktop app, one too many would call a channel nobody answers.

import { describe, expect, it } from 'vitest'
import { METHOD_NAMES } from '../../../gateway/api/method-names.ts'
import { API_METHODS } from '../../../gateway/api/schema/index.ts'

describe('METHOD_NAMES', () => {
  it('names every schema method once, and nothing else', () => {
    expect(new Set(METHOD_NAMES).size).toBe(METHOD_NAMES.length)
    expect([...METHOD_NAMES].sort()).toEqual([...API_METHODS].sort())
  })
})
