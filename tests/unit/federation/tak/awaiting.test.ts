// Announcements waiting for their bytes: capped by count, age and the cache budget, oldest first out; one forgotten
// takes its "never came" warning with it, so a flood of announcements leaves no timers behind.

import { afterEach, describe, expect, it, vi } from 'vitest'
import { AwaitingBytes } from '../../../../gateway/federation/tak/awaiting.ts'
import { ByteBudget } from '../../../../gateway/routing/byte-budget.ts'
import type { RolPackageDetails } from '../../../../gateway/federation/tak/rol.ts'

const details = (i: number, uids: string[] = []): RolPackageDetails => ({
  sha256: i.toString(16).padStart(64, '0'),
  name: `p${i}`,
  filename: `p${i}.zip`,
  senderUrl: '',
  sizeInBytes: 1,
  senderCallsign: 'HQ',
  dest: { callsigns: [], uids },
  tsStored: null
})

describe('AwaitingBytes', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('keeps at most `max`, oldest first out, and warns only for those still waiting', () => {
    vi.useFakeTimers()
    const overdue: string[] = []
    const awaiting = new AwaitingBytes(new ByteBudget(), 3)
    for (let i = 0; i < 5; i++) awaiting.remember('net', details(i), 1000, (e) => overdue.push(e.details.name))
    expect(awaiting.size).toBe(3)
    expect(awaiting.take(details(0).sha256, 'net')).toBeNull()
    expect(awaiting.take(details(3).sha256, 'other-net')).toBeNull()
    expect(awaiting.take(details(3).sha256, 'net')?.details.name).toBe('p3')
    expect(vi.getTimerCount()).toBe(2)
    vi.advanceTimersByTime(1000)
    expect(overdue).toEqual(['p2', 'p4'])
  })

  it('forgets what is older than the age limit when the next one comes', () => {
    let now = 0
    const awaiting = new AwaitingBytes(new ByteBudget(), 100, 10_000, () => now)
    awaiting.remember('net', details(1), 60_000, () => {})
    now = 10_001
    awaiting.remember('net', details(2), 60_000, () => {})
    expect(awaiting.size).toBe(1)
    expect(awaiting.take(details(1).sha256, 'net')).toBeNull()
  })

  it('stays within the byte budget with huge destinations, and a taken entry leaves it', () => {
    vi.useFakeTimers()
    const budget = new ByteBudget(() => 300_000)
    const awaiting = new AwaitingBytes(budget)
    for (let i = 0; i < 10; i++) awaiting.remember('net', details(i, ['u'.repeat(50_000)]), 1000, () => {})
    expect(budget.bytes).toBeLessThanOrEqual(300_000)
    expect(awaiting.size).toBeLessThan(10)
    expect(vi.getTimerCount()).toBe(awaiting.size)
    awaiting.take(details(9).sha256, 'net')
    expect(budget.entries).toBe(awaiting.size)
  })
})
