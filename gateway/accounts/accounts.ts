// Users, sessions, login throttling and the permission checks (docs/ARCHITECTURE.md §5). The only place that decides
// who may do what; dispatch() calls it before every method.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Permission, UserDto, WhoAmI } from '../api/contract.ts'
import { PERMISSIONS, PERMISSION_LABELS } from '../api/contract.ts'
import type { Store } from '../store/store.ts'
import type { UserRecord } from '../store/schema.ts'
import { hashPassword, verifyPassword } from './passwords.ts'
import { LoginThrottle } from '../access/login-throttle.ts'
import { SessionTable } from './sessions.ts'

export interface AccountsOptions {
  /** Session lifetime, extended on use. Default 12 h. */
  sessionTtlMs?: number
  /** Wrong guesses of other secrets (setup token, federation codes) allowed per key inside `throttleWindowMs`. Default 5. */
  maxFailures?: number
  /** Default 15 minutes. Logins have their own, gentler throttle (access/login-throttle.ts). */
  throttleWindowMs?: number
  now?: () => number
}

interface FailureWindow {
  count: number
  firstAt: number
}

export class Accounts {
  /** Sessions by SHA-256 of the token: neither a memory dump nor db.json hands out live tokens. */
  private readonly sessions: SessionTable
  private readonly failures = new Map<string, FailureWindow>()
  private readonly loginThrottle: LoginThrottle
  private readonly sessionTtlMs: number
  private readonly maxFailures: number
  private readonly throttleWindowMs: number
  private readonly now: () => number
  /** One-time token printed at first start while no user exists. */
  setupToken: string | null = null

  constructor(
    private readonly store: Store,
    options: AccountsOptions = {}
  ) {
    this.sessionTtlMs = options.sessionTtlMs ?? 12 * 3600_000
    this.maxFailures = options.maxFailures ?? 5
    this.throttleWindowMs = options.throttleWindowMs ?? 15 * 60_000
    this.now = options.now ?? Date.now
    this.loginThrottle = new LoginThrottle({ now: this.now })
    this.sessions = new SessionTable(store, this.sessionTtlMs, this.now)
    if (store.data.users.length === 0) this.setupToken = randomBytes(18).toString('base64url')
  }

  // ─── sessions ──────────────────────────────────────────────────────────────

  async createSession(user: UserRecord): Promise<{ token: string; expiresAt: string }> {
    const { token, expiresAt } = await this.sessions.create(user.id)
    return { token, expiresAt: new Date(expiresAt).toISOString() }
  }

  userForToken(token: string | null): UserRecord | null {
    return this.sessionUser(token, true)
  }

  /** The session's user without extending it: for checks that run on their own (event streams), not for calls. */
  peekUser(token: string | null): UserRecord | null {
    return this.sessionUser(token, false)
  }

  private sessionUser(token: string | null, slide: boolean): UserRecord | null {
    const session = this.sessions.find(token, slide)
    if (!session) return null
    const found = this.store.data.users.find((u) => u.id === session.userId)
    // A disabled user's sessions were ended when they were disabled; this also covers a db.json restored from before.
    const user = found && !found.disabled ? found : null
    if (!user) void this.sessions.end((s) => s.userId === session.userId).catch(() => undefined)
    return user
  }

  async endSession(token: string | null): Promise<void> {
    if (!token) return
    const hash = this.sessions.hashOf(token)
    await this.sessions.end((s) => s.tokenHash === hash)
  }

  /** Every session of a user ends at once and stays ended across a restart (deleted or disabled users). */
  async endSessionsOf(userId: string, exceptToken: string | null = null): Promise<void> {
    const kept = exceptToken ? this.sessions.hashOf(exceptToken) : null
    await this.sessions.end((s) => s.userId === userId && s.tokenHash !== kept)
  }

  // ─── login and throttling ──────────────────────────────────────────────────

  /**
   * Null when the name or password is wrong; throws ThrottledError while this name must wait at this address
   * (access/login-throttle.ts): the password is not even checked then, so waiting is not a way to learn it.
   */
  async checkLogin(username: string, password: string, address: string): Promise<UserRecord | null> {
    const retryIn = this.loginThrottle.waitFor(username, address)
    if (retryIn > 0) throw new ThrottledError(retryIn)
    const user = this.findUserByName(username)
    // Hash even for unknown users so timing does not reveal which names exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH)
    if (ok && user) {
      this.loginThrottle.recordSuccess(username, address)
      return user
    }
    this.loginThrottle.recordFailure(username, address)
    return null
  }

  /** Generic failure counter for other guessable secrets (federation codes): key → throttled for ms, or 0. */
  recordFailure(key: string): void {
    const now = this.now()
    const w = this.failures.get(key)
    if (!w || now - w.firstAt > this.throttleWindowMs) this.failures.set(key, { count: 1, firstAt: now })
    else w.count++
    if (this.failures.size > 10_000) this.pruneFailures()
  }

  throttledFor(key: string): number {
    const w = this.failures.get(key)
    if (!w) return 0
    const elapsed = this.now() - w.firstAt
    if (elapsed > this.throttleWindowMs) {
      this.failures.delete(key)
      return 0
    }
    return w.count >= this.maxFailures ? this.throttleWindowMs - elapsed : 0
  }

  clearFailures(key: string): void {
    this.failures.delete(key)
  }

  private pruneFailures(): void {
    const now = this.now()
    for (const [key, w] of this.failures) if (now - w.firstAt > this.throttleWindowMs) this.failures.delete(key)
  }

  checkSetupToken(candidate: string): boolean {
    if (!this.setupToken) return false
    const a = Buffer.from(digest(candidate))
    const b = Buffer.from(digest(this.setupToken))
    return timingSafeEqual(a, b)
  }

  findUserByName(username: string): UserRecord | undefined {
    const wanted = username.trim().toLowerCase()
    return this.store.data.users.find((u) => u.username.toLowerCase() === wanted)
  }

  async newUserRecord(args: {
    username: string
    password: string
    displayName?: string
    deploymentAdmin?: boolean
    memberships?: UserRecord['memberships']
  }): Promise<UserRecord> {
    return {
      id: randomId('usr'),
      username: args.username.trim(),
      displayName: args.displayName?.trim() || args.username.trim(),
      passwordHash: await hashPassword(args.password),
      deploymentAdmin: args.deploymentAdmin ?? false,
      memberships: args.memberships ?? [],
      createdAt: new Date(this.now()).toISOString()
    }
  }

  // ─── permissions ───────────────────────────────────────────────────────────

  isOrganizationAdmin(user: UserRecord, organizationId: string): boolean {
    return user.deploymentAdmin || user.memberships.some((m) => m.organizationId === organizationId && m.admin)
  }

  isOrganizationMember(user: UserRecord, organizationId: string): boolean {
    return user.deploymentAdmin || user.memberships.some((m) => m.organizationId === organizationId)
  }

  organizationOfNetwork(networkId: string): string | null {
    return this.store.data.networks.find((n) => n.id === networkId)?.organizationId ?? null
  }

  /** Members of a network's organization see it (tables, chips); acting on it needs a permission. */
  canSeeNetwork(user: UserRecord, networkId: string): boolean {
    const orgId = this.organizationOfNetwork(networkId)
    return orgId !== null && this.isOrganizationMember(user, orgId)
  }

  /**
   * Deployment admins and the organization's admins hold every permission on its networks;
   * everyone else through a team of that organization with a grant on the network.
   */
  hasPermission(user: UserRecord, networkId: string, permission: Permission): boolean {
    return this.permissionsOn(user, networkId).includes(permission)
  }

  /**
   * Who sees the TAK Servers whose connection attempts were refused (fingerprint, address, certificate subject).
   * Which organization an unknown server was meant for cannot be known, so: deployment admins and whoever may add
   * a TAK Server peer on some network (Federate with other organizations), the people who can act on the list.
   */
  mayReviewRejectedPeers(user: UserRecord): boolean {
    if (user.deploymentAdmin) return true
    return this.store.data.networks.some((n) => this.hasPermission(user, n.id, 'federateAcrossOrganizations'))
  }

  permissionsOn(user: UserRecord, networkId: string): Permission[] {
    const orgId = this.organizationOfNetwork(networkId)
    if (orgId === null) return []
    if (this.isOrganizationAdmin(user, orgId)) return [...PERMISSIONS]
    if (!this.isOrganizationMember(user, orgId)) return []
    const held = new Set<Permission>()
    for (const team of this.store.data.teams) {
      if (team.organizationId !== orgId || !team.memberIds.includes(user.id)) continue
      for (const grant of team.grants) if (grant.networkId === networkId) for (const p of grant.permissions) held.add(p)
    }
    return PERMISSIONS.filter((p) => held.has(p))
  }

  describeMissingPermission(networkId: string, anyOf: Permission[]): string {
    const network = this.store.data.networks.find((n) => n.id === networkId)
    const labels = anyOf.map((p) => `'${PERMISSION_LABELS[p]}'`).join(' or ')
    return network
      ? `You need the ${labels} permission on network '${network.name}'. Ask an administrator of your organization for it.`
      : `Network ${networkId} does not exist.`
  }

  whoami(user: UserRecord): WhoAmI {
    const networkPermissions: Record<string, Permission[]> = {}
    for (const network of this.store.data.networks) {
      if (!this.canSeeNetwork(user, network.id)) continue
      networkPermissions[network.id] = this.permissionsOn(user, network.id)
    }
    const adminOf = this.store.data.organizations.filter((o) => this.isOrganizationAdmin(user, o.id)).map((o) => o.id)
    return { user: toUserDto(user), networkPermissions, adminOf }
  }
}

export class ThrottledError extends Error {
  constructor(readonly retryInMs: number) {
    super(
      retryInMs < 90_000
        ? `Too many failed sign-ins. Try again in ${Math.ceil(retryInMs / 1000)} second(s).`
        : `Too many failed sign-ins. Try again in ${Math.ceil(retryInMs / 60_000)} minute(s).`
    )
    this.name = 'ThrottledError'
  }
}

export function toUserDto(user: UserRecord): UserDto {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    deploymentAdmin: user.deploymentAdmin,
    memberships: user.memberships.map((m) => ({ ...m })),
    createdAt: user.createdAt,
    disabled: user.disabled === true
  }
}

export function randomId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

// A valid hash of a random password, verified against when the username does not exist.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='
