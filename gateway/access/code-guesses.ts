// How many wrong federation codes may be tried: budgets per user, per network, per organization and per address, so
// that an organization admin who creates more users (or signs in from more addresses) gets no more guesses.

import { throttleScope } from './scope.ts'

/** Each budget is a bucket: `burst` wrong codes at once, refilled at `burst` per `windowMs`. */
export interface GuessBudget {
  burst: number
  windowMs: number
}

export type GuessScope = 'user' | 'network' | 'organization' | 'address'

/**
 * The organization's budget bounds what one organization can try: 20 at once, then 20 an hour, i.e. at most
 * 20 + 24 x 20 = 500 guesses a day against 31^8 ≈ 8.5 x 10^11 codes. Only deployment admins create organizations,
 * so nobody below them can multiply it. The smaller budgets keep one user or one network from spending all of it.
 */
export const CODE_GUESS_BUDGETS: Record<GuessScope, GuessBudget> = {
  user: { burst: 5, windowMs: 15 * 60_000 },
  network: { burst: 10, windowMs: 3600_000 },
  organization: { burst: 20, windowMs: 3600_000 },
  address: { burst: 20, windowMs: 3600_000 }
}

/** Buckets kept at most; only wrong codes create them and the budgets above bound those, so this is a backstop. */
const MAX_BUCKETS = 10_000

interface Bucket {
  /** Wrong codes still counted (drains continuously). */
  level: number
  at: number
}

export interface GuessCaller {
  userId: string
  networkId: string
  organizationId: string
  address: string
}

export class CodeGuesses {
  private readonly buckets = new Map<string, Bucket>()

  constructor(
    private readonly budgets: Record<GuessScope, GuessBudget> = CODE_GUESS_BUDGETS,
    private readonly now: () => number = Date.now
  ) {}

  /** Milliseconds until the caller may try a code again (0: now), and which budget is spent. */
  retryIn(caller: GuessCaller): { ms: number; scope: GuessScope | null } {
    let worst: { ms: number; scope: GuessScope | null } = { ms: 0, scope: null }
    for (const [scope, key] of this.keys(caller)) {
      const budget = this.budgets[scope]
      const level = this.level(key, budget)
      if (level <= budget.burst - 1) continue
      // Until the level has drained below burst - 1, i.e. room for one more.
      const ms = Math.ceil(((level - (budget.burst - 1)) * budget.windowMs) / budget.burst)
      if (ms > worst.ms) worst = { ms, scope }
    }
    return worst
  }

  recordFailure(caller: GuessCaller): void {
    const t = this.now()
    for (const [scope, key] of this.keys(caller)) {
      const level = this.level(key, this.budgets[scope])
      this.buckets.delete(key)
      this.buckets.set(key, { level: level + 1, at: t })
    }
    if (this.buckets.size > MAX_BUCKETS) this.prune()
  }

  /** A user who got a code right is not held to their own earlier typos; the shared budgets stay spent. */
  clearUser(userId: string): void {
    this.buckets.delete(`user:${userId}`)
  }

  get size(): number {
    return this.buckets.size
  }

  private keys(caller: GuessCaller): [GuessScope, string][] {
    return [
      ['user', `user:${caller.userId}`],
      ['network', `network:${caller.networkId}`],
      ['organization', `organization:${caller.organizationId}`],
      ['address', `address:${throttleScope(caller.address)}`]
    ]
  }

  private level(key: string, budget: GuessBudget): number {
    const bucket = this.buckets.get(key)
    if (!bucket) return 0
    const drained = ((this.now() - bucket.at) * budget.burst) / budget.windowMs
    return Math.max(0, bucket.level - drained)
  }

  /** Drop drained buckets; if wrong codes somehow still fill the map, forget the oldest entries first. */
  private prune(): void {
    const t = this.now()
    const longest = Math.max(...Object.values(this.budgets).map((b) => b.windowMs))
    for (const [key, bucket] of this.buckets) if (t - bucket.at >= longest) this.buckets.delete(key)
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= MAX_BUCKETS) break
      this.buckets.delete(key)
    }
  }
}

const FROM: Record<GuessScope, string> = {
  user: 'from you',
  network: 'for this network',
  organization: 'from your organization',
  address: 'from your address'
}

/** The operator's sentence for a refusal: whose budget is spent and when to try again. */
export function tooManyGuesses(scope: GuessScope | null, ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000))
  const when = minutes === 1 ? 'a minute' : `${minutes} minutes`
  return `Too many wrong federation codes ${FROM[scope ?? 'user']}. Try again in ${when}, after checking the code with the other organization.`
}
