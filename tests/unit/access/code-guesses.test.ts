// The federation-code guess budgets (CodeGuesses) on a fake clock: each scope refuses once spent, refills at its
// rate, and one budget spent does not touch another organization's.

import { describe, expect, it } from 'vitest'
import { CODE_GUESS_BUDGETS, CodeGuesses, tooManyGuesses, type GuessCaller } from '../../../gateway/access/code-guesses.ts'

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000
  return { now: () => t, advance: (ms) => void (t += ms) }
}

const caller = (over: Partial<GuessCaller> = {}): GuessCaller => ({
  userId: 'u1',
  networkId: 'n1',
  organizationId: 'o1',
  address: '127.0.0.2',
  ...over
})

/** Wrong codes recorded until the caller is refused (at most `limit`). */
function spend(g: CodeGuesses, who: () => GuessCaller, limit = 100): number {
  let n = 0
  while (n < limit && g.retryIn(who()).ms === 0) {
    g.recordFailure(who())
    n++
  }
  return n
}

describe('CodeGuesses', () => {
  it('a user gets 5; fresh users on one network get 10 in all; fresh networks of one organization 20 in all', () => {
    const c = clock()
    const g = new CodeGuesses(CODE_GUESS_BUDGETS, c.now)
    expect(spend(g, () => caller())).toBe(5)
    expect(g.retryIn(caller()).scope).toBe('user')
    let i = 0
    // Every guess from a new user and a new address: the network's budget still ends it.
    expect(spend(g, () => caller({ userId: `u-net-${i++}`, address: `10.0.0.${i}` }))).toBe(5)
    expect(g.retryIn(caller({ userId: 'other', address: '10.9.9.9' })).scope).toBe('network')
    i = 0
    expect(spend(g, () => caller({ userId: `u-org-${i}`, networkId: `n-${i++}`, address: `10.1.0.${i}` }))).toBe(10)
    expect(g.retryIn(caller({ userId: 'x', networkId: 'fresh', address: '10.9.9.9' })).scope).toBe('organization')
    // Another organization is untouched.
    expect(g.retryIn(caller({ userId: 'b', networkId: 'nb', organizationId: 'o2', address: '10.2.0.1' })).ms).toBe(0)
  })

  it('refills at the budget rate: one guess per 3 minutes for an organization that spent its 20', () => {
    const c = clock()
    const g = new CodeGuesses(CODE_GUESS_BUDGETS, c.now)
    let i = 0
    expect(spend(g, () => caller({ userId: `u${i}`, networkId: `n${i++}`, address: `10.0.${i}.1` }))).toBe(20)
    const wait = g.retryIn(caller({ userId: 'new', networkId: 'new', address: '10.9.9.9' }))
    expect(wait).toEqual({ ms: 180_000, scope: 'organization' })
    c.advance(179_000)
    expect(g.retryIn(caller({ userId: 'new', networkId: 'new', address: '10.9.9.9' })).ms).toBeGreaterThan(0)
    c.advance(1_000)
    expect(spend(g, () => caller({ userId: 'new', networkId: 'new', address: '10.9.9.9' }))).toBe(1)
    // An hour of steady guessing after the burst: 20 more, no more.
    let total = 0
    for (let minute = 0; minute < 60; minute++) {
      c.advance(60_000)
      total += spend(g, () => caller({ userId: `h${minute}`, networkId: `hn${minute}`, address: `10.3.${minute}.1` }))
    }
    expect(total).toBe(20)
  })

  it('an address is counted across organizations; IPv6 by /64', () => {
    const g = new CodeGuesses(CODE_GUESS_BUDGETS, clock().now)
    let i = 0
    expect(
      spend(g, () => caller({ userId: `u${i}`, networkId: `n${i}`, organizationId: `o${i++}`, address: `2001:db8:0:1::${i.toString(16)}` }))
    ).toBe(20)
    expect(g.retryIn(caller({ userId: 'z', networkId: 'z', organizationId: 'z', address: '2001:db8:0:1::ffff' })).scope).toBe('address')
    expect(g.retryIn(caller({ userId: 'z', networkId: 'z', organizationId: 'z', address: '2001:db8:0:2::1' })).ms).toBe(0)
  })

  it('keeps no bucket past its window', () => {
    const c = clock()
    const g = new CodeGuesses(
      { ...CODE_GUESS_BUDGETS, address: { burst: 1_000_000, windowMs: 3600_000 }, organization: { burst: 1_000_000, windowMs: 3600_000 } },
      c.now
    )
    for (let i = 0; i < 2_600; i++) g.recordFailure(caller({ userId: `u${i}`, networkId: `n${i}`, address: `10.0.${i >> 8}.${i & 255}` }))
    expect(g.size).toBeLessThanOrEqual(10_000)
    c.advance(3600_000)
    for (let i = 0; i < 2_600; i++) g.recordFailure(caller({ userId: `v${i}`, networkId: `m${i}`, address: `10.1.${i >> 8}.${i & 255}` }))
    expect(g.size).toBeLessThanOrEqual(10_000)
  })

  it('says whose budget is spent and when to try again', () => {
    expect(tooManyGuesses('organization', 180_000)).toBe(
      'Too many wrong federation codes from your organization. Try again in 3 minutes, after checking the code with the other organization.'
    )
    expect(tooManyGuesses('user', 10_000)).toMatch(/from you\. Try again in a minute/)
  })
})
