// Slows password guessing at the console's login without locking the right password out: failures are counted per
// (name, address) and per address, and each count past a free allowance doubles the wait before the next try.

import { throttleScope } from './scope.ts'

export interface LoginThrottleOptions {
  now?: () => number
}

/** A count of failures and when the last one was. */
interface Failures {
  count: number
  lastAt: number
}

interface Rule {
  /** Failures allowed before any wait (typos). */
  free: number
  /** Wait after the first failure past the allowance; it doubles with each further one. */
  firstDelayMs: number
  maxDelayMs: number
}

/**
 * One name from one address: 3 free tries, then 5 s, 10 s, 20 s, … up to 15 minutes between tries. Guessing one
 * password from one address thus gets about 14 tries in its first hour and 4 an hour after that.
 */
const PAIR: Rule = { free: 3, firstDelayMs: 5000, maxDelayMs: 15 * 60_000 }
/**
 * Any name from one address (spraying many names, or made-up ones): 10 free, then doubling up to one minute: at most
 * about 60 tries an hour. It never delays a name that has signed in from that address before (see `known`), so a
 * guesser sharing an address (every local user on a loopback console) cannot keep the others out.
 */
const ADDRESS: Rule = { free: 10, firstDelayMs: 1000, maxDelayMs: 60_000 }
/** Counts are forgotten this long after their last failure. */
const FORGET_MS = 60 * 60_000
/** Bound on each table (a guesser can make up names without end); the oldest entries go first. */
const MAX_ENTRIES = 20_000

export class LoginThrottle {
  private readonly pairs = new Map<string, Failures>()
  private readonly addresses = new Map<string, Failures>()
  /** (name, address) pairs that signed in successfully: they pass the address's wait (their own still applies). */
  private readonly known = new Map<string, number>()
  private readonly now: () => number

  constructor(options: LoginThrottleOptions = {}) {
    this.now = options.now ?? Date.now
  }

  /** Milliseconds before `username` may try again from `address`; 0 when it may try now. */
  waitFor(username: string, address: string): number {
    const { pair, scope } = keys(username, address)
    const own = this.remaining(this.pairs, pair, PAIR)
    if (this.known.has(pair)) return own
    return Math.max(own, this.remaining(this.addresses, scope, ADDRESS))
  }

  recordFailure(username: string, address: string): void {
    const { pair, scope } = keys(username, address)
    this.bump(this.pairs, pair)
    this.bump(this.addresses, scope)
  }

  recordSuccess(username: string, address: string): void {
    const { pair } = keys(username, address)
    this.pairs.delete(pair)
    this.known.delete(pair)
    this.known.set(pair, this.now())
    trim(this.known)
  }

  private remaining(table: Map<string, Failures>, key: string, rule: Rule): number {
    const entry = table.get(key)
    if (!entry) return 0
    const since = this.now() - entry.lastAt
    if (since > FORGET_MS) {
      table.delete(key)
      return 0
    }
    if (entry.count < rule.free) return 0
    const delay = Math.min(rule.maxDelayMs, rule.firstDelayMs * 2 ** Math.min(30, entry.count - rule.free))
    return Math.max(0, delay - since)
  }

  private bump(table: Map<string, Failures>, key: string): void {
    const now = this.now()
    const entry = table.get(key)
    const count = entry && now - entry.lastAt <= FORGET_MS ? entry.count + 1 : 1
    // Re-inserted so the table's order is by last failure and trimming drops the stalest.
    table.delete(key)
    table.set(key, { count, lastAt: now })
    trim(table)
  }
}

function keys(username: string, address: string): { pair: string; scope: string } {
  const scope = throttleScope(address)
  return { pair: `${username.trim().toLowerCase()}\n${scope}`, scope }
}

function trim(table: Map<string, unknown>): void {
  while (table.size > MAX_ENTRIES) table.delete(table.keys().next().value!)
}
