// The gateway-wide cache budget: oldest entries go first, in any cache charged to it, and the router's position cache
// stays within it whatever the count cap allows.

import { describe, expect, it } from 'vitest'
import { ByteBudget } from '../../../gateway/routing/byte-budget.ts'
import { Router } from '../../../gateway/routing/router.ts'
import { parseEvent } from '../../../gateway/cot/parse.ts'
import { pli } from '../../support/devices.ts'

describe('ByteBudget', () => {
  it('evicts the oldest entries across caches once over the limit, and a released entry no longer counts', () => {
    const budget = new ByteBudget(() => 100)
    const gone: string[] = []
    const a1 = {},
      b1 = {},
      a2 = {}
    budget.charge(a1, 40, () => gone.push('a1'))
    budget.charge(b1, 40, () => gone.push('b1'))
    budget.release(b1)
    budget.charge(a2, 50, () => gone.push('a2'))
    expect(gone).toEqual([])
    expect(budget.bytes).toBe(90)
    budget.charge(b1, 30, () => gone.push('b1 again'))
    expect(gone).toEqual(['a1'])
    expect(budget.bytes).toBe(80)
    expect(budget.evicted).toBe(1)
  })

  it('charging a token again replaces its charge and makes it the newest', () => {
    const budget = new ByteBudget(() => 100)
    const gone: string[] = []
    const x = {},
      y = {}
    budget.charge(x, 40, () => gone.push('x'))
    budget.charge(y, 60, () => gone.push('y'))
    budget.charge(x, 50, () => gone.push('x'))
    expect(gone).toEqual(['y'])
    expect(budget.bytes).toBe(50)
  })
})

describe('Router position cache', () => {
  const origin = { kind: 'device' as const, networkId: 'n1', endpointId: 'd1' }
  it('holds at most the budget in bytes, keeps the newest, and gives back what it forgets', () => {
    const budget = new ByteBudget(() => 200_000)
    const router = new Router(Date.now, budget)
    const filler = 'x'.repeat(20_000)
    for (let i = 0; i < 100; i++) router.publish(parseEvent(Buffer.from(pli(`uid-${i}`, `CS-${i}`, undefined, filler))), origin)
    expect(budget.bytes).toBeLessThanOrEqual(200_000)
    const uids = router.latestPositions('n1').map((e) => e.uid)
    expect(uids).toContain('uid-99')
    expect(uids).not.toContain('uid-0')
    router.forgetPosition('n1', 'uid-99')
    router.forgetNetwork('n1')
    expect(budget.bytes).toBe(0)
  })
})
