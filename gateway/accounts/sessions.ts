// Console sessions, kept by SHA-256 of the token and written to db.json (`sessions`) so a gateway restart signs
// no one out; the token itself exists only in the caller's hands. Idle sessions end after the sliding lifetime.

import { createHash, randomBytes } from 'node:crypto'
import type { Store } from '../store/store.ts'
import type { SessionRecord } from '../store/schema.ts'

/** A login a minute for 12 h is already absurd; the oldest session of a user goes first beyond this. */
const MAX_SESSIONS_PER_USER = 50

export class SessionTable {
  private readonly byHash = new Map<string, SessionRecord>()

  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
    private readonly now: () => number,
    /** How far the sliding expiry may run ahead of db.json before it is written again (fewer writes per call). */
    private readonly persistSlackMs = Math.min(10 * 60_000, ttlMs / 4)
  ) {
    for (const s of store.data.sessions ?? []) if (s.expiresAt > now()) this.byHash.set(s.tokenHash, { ...s })
  }

  async create(userId: string): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(32).toString('base64url')
    const record: SessionRecord = { tokenHash: digest(token), userId, expiresAt: this.now() + this.ttlMs }
    const own = [...this.byHash.values()].filter((s) => s.userId === userId).sort((a, b) => a.expiresAt - b.expiresAt)
    for (const old of own.slice(0, Math.max(0, own.length - MAX_SESSIONS_PER_USER + 1))) this.byHash.delete(old.tokenHash)
    this.byHash.set(record.tokenHash, record)
    await this.persist()
    return { token, expiresAt: record.expiresAt }
  }

  /** The live session of a token; `slide` extends it (a call), a peek does not (an event stream checking on its own). */
  find(token: string | null, slide: boolean): SessionRecord | null {
    if (!token) return null
    const session = this.byHash.get(digest(token))
    if (!session) return null
    if (session.expiresAt <= this.now()) {
      this.byHash.delete(session.tokenHash)
      void this.persist().catch(() => undefined)
      return null
    }
    if (slide) {
      session.expiresAt = this.now() + this.ttlMs
      const stored = this.store.data.sessions?.find((s) => s.tokenHash === session.tokenHash)
      // db.json may lag by the slack: after a restart a session ends at most that much earlier, never later.
      if (!stored || session.expiresAt - stored.expiresAt > this.persistSlackMs) void this.persist().catch(() => undefined)
    }
    return session
  }

  /** Ends sessions now, in db.json too, so a restart does not bring them back. */
  async end(match: (s: SessionRecord) => boolean): Promise<void> {
    let removed = false
    for (const [key, s] of this.byHash) {
      if (!match(s)) continue
      this.byHash.delete(key)
      removed = true
    }
    if (removed) await this.persist()
  }

  hashOf(token: string): string {
    return digest(token)
  }

  private async persist(): Promise<void> {
    const now = this.now()
    const live = [...this.byHash.values()].filter((s) => s.expiresAt > now).map((s) => ({ ...s }))
    await this.store.update((doc) => {
      doc.sessions = live
    })
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
