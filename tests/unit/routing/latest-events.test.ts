import { describe, expect, it } from 'vitest'
import { buildEvent } from '../../../gateway/cot/build.ts'
import { ByteBudget } from '../../../gateway/routing/byte-budget.ts'
import { LatestEvents } from '../../../gateway/routing/latest-events.ts'

const marker = (uid: string, staleSeconds = 300) => buildEvent({ uid, type: 'b-m-p-s-m', how: 'h-g-i-g-o', staleSeconds })
const uids = (cache: LatestEvents, networkId: string): string[] => cache.current(networkId).map((s) => s.event.uid)

describe('the latest events of a network', () => {
  it('keeps at most its count per network, the oldest out first, and gives the budget back', () => {
    const budget = new ByteBudget()
    const cache = new LatestEvents(budget, Date.now, 3)
    for (const uid of ['m1', 'm2', 'm3', 'm4']) cache.record('A', marker(uid), false)
    cache.record('B', marker('b1'), false)
    expect(uids(cache, 'A')).toEqual(['m2', 'm3', 'm4'])
    expect(uids(cache, 'B')).toEqual(['b1'])
    expect(budget.entries).toBe(4)
    cache.record('A', marker('m2'), false) // an update makes it the newest
    cache.record('A', marker('m5'), false)
    expect(uids(cache, 'A')).toEqual(['m4', 'm2', 'm5'])
    cache.forgetNetwork('A')
    expect(budget.entries).toBe(1)
  })

  it('forgets what went stale when read, and leaves the budget', () => {
    let now = Date.now()
    const budget = new ByteBudget()
    const cache = new LatestEvents(budget, () => now)
    cache.record('A', marker('short', 10), false)
    cache.record('A', marker('long', 600), false)
    now += 60_000
    expect(uids(cache, 'A')).toEqual(['long'])
    expect(budget.entries).toBe(1)
  })
})
