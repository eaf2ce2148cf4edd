// The file-handle budget the listening ports share: each keeps a reserve, the rest is shared, released handles return.

import { describe, expect, it } from 'vitest'
import { fileHandleLimit, HandleBudget } from '../../../gateway/net/handle-budget.ts'

const takeUpTo = (account: { take(): boolean }, n: number): number => {
  let taken = 0
  for (let i = 0; i < n && account.take(); i++) taken++
  return taken
}

describe('HandleBudget', () => {
  it('keeps headroom for the rest of the process: a quarter of the limit, at least 256, never over half', () => {
    expect(new HandleBudget(1024).forListeners).toBe(768)
    expect(new HandleBudget(20_000).forListeners).toBe(15_000)
    expect(new HandleBudget(256).forListeners).toBe(128)
  })

  it('a port takes its reserve and the shared part, never another port’s reserve', () => {
    const budget = new HandleBudget(1024) // 768 for listeners: 384 reserved, 384 shared
    const big = budget.open(300)
    const small = budget.open(100) // reserves 288 and 96
    expect(takeUpTo(big, 10_000)).toBe(288 + 384)
    expect(takeUpTo(small, 10_000)).toBe(96)
    // A handle back to the shared part goes to whoever asks first.
    small.release()
    big.release()
    expect(small.take()).toBe(true)
    expect(small.take()).toBe(true)
    expect(small.take()).toBe(false)
  })

  it('a port that stops listening gives its reserve back', () => {
    const budget = new HandleBudget(1024)
    const a = budget.open(1000)
    const b = budget.open(1000)
    expect(takeUpTo(a, 10_000)).toBe(192 + 384)
    b.close()
    expect(takeUpTo(a, 10_000)).toBe(192)
  })

  it('reads this process’s RLIMIT_NOFILE where /proc has it', () => {
    const limit = fileHandleLimit()
    if (process.platform === 'linux') expect(limit).toBeGreaterThan(0)
  })
})
