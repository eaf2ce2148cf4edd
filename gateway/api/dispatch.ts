// The single entry for both transports (Electron IPC and HTTP): find the method, check who is calling,
// validate the argument against its schema, check permissions, run it, and turn every failure into { code, message }.
// It knows the gateway only through DispatchHost, so api/ imports nothing from the floors above it.

import type { ApiErrorBody } from './contract.ts'
import type { Permission } from './vocabulary.ts'
import { ApiError, forbidden } from './errors.ts'
import { METHODS, type ApiMethod, type ArgsOf, type ResultOf } from './schema/index.ts'
import { parseArgs } from './validate.ts'

/** Who is calling: resolved by the transport from its bearer token (HTTP) or the desktop session (IPC). */
export interface Caller {
  /** The session token presented, if any. */
  token: string | null
  /** Remote address for throttling and the audit log ('ipc' for the desktop app). */
  address: string
}

/** What dispatch() needs of a signed-in user. */
export interface DispatchUser {
  username: string
  deploymentAdmin: boolean
}

/** What dispatch() needs of the gateway: sessions and permissions, the audit log, the log, the method table. */
export interface DispatchHost {
  accounts: {
    userForToken(token: string | null): DispatchUser | null
    isOrganizationAdmin(user: DispatchUser, organizationId: string): boolean
    hasPermission(user: DispatchUser, networkId: string, permission: Permission): boolean
    describeMissingPermission(networkId: string, anyOf: Permission[]): string
  }
  audit: {
    append(entry: {
      actor: string
      action: string
      target: string
      details: Record<string, unknown>
      organizationId: string | null
    }): unknown
  }
  log: { error(message: string): void }
  methods: MethodTable
}

export interface CallContext<A, G = DispatchHost, U = DispatchUser> {
  args: A
  gw: G
  caller: Caller
  /** The signed-in user; null only for `public` methods. */
  user: U
  /** Append a line to the audit log for a change this call made. */
  audit(action: string, target: string, details?: Record<string, unknown>, organizationId?: string | null): void
}

/**
 * Who may call a method.
 * - `public`: anyone (login, setup state).
 * - `user`: any signed-in user; the handler narrows what they see.
 * - `deploymentAdmin`: deployment admins only.
 * - `organizationAdmin`: admins of the organization `organization(args)` returns (deployment admins too).
 * - `network`: the caller must hold one of `anyOf` on every network `networks(args)` returns.
 */
export type AuthRule<A, G = DispatchHost> =
  | 'public'
  | 'user'
  | 'deploymentAdmin'
  | { organizationAdmin(args: A, gw: G): string }
  | { anyOf: Permission[]; networks(args: A, gw: G): string[] }

/** A method's handler; its argument and result are declared in api/schema/, which dispatch() checks first. */
export interface MethodDef<M extends ApiMethod, G = DispatchHost, U = DispatchUser> {
  auth: AuthRule<ArgsOf<M>, G>
  /** Largest request body over HTTP when a call needs more than the console's usual 64 KiB (gateway/console/body.ts). */
  maxBodyBytes?(gw: G): number
  run(ctx: CallContext<ArgsOf<M>, G, U>): Promise<ResultOf<M>> | ResultOf<M>
}

export type MethodTable<G = DispatchHost, U = DispatchUser> = { [M in ApiMethod]: MethodDef<M, G, U> }
export type PartialMethodTable<G = DispatchHost, U = DispatchUser> = { [M in ApiMethod]?: MethodDef<M, G, U> }

export type DispatchResult = { ok: true; result: unknown } | { ok: false; error: ApiErrorBody }

export async function dispatch(gw: DispatchHost, method: string, rawArgs: unknown, caller: Caller): Promise<DispatchResult> {
  try {
    const result = await call(gw, method, rawArgs, caller)
    return { ok: true, result: result === undefined ? null : result }
  } catch (err) {
    return { ok: false, error: toErrorBody(err, gw) }
  }
}

async function call(gw: DispatchHost, method: string, rawArgs: unknown, caller: Caller): Promise<unknown> {
  if (!Object.hasOwn(METHODS, method) || !Object.hasOwn(gw.methods, method)) {
    throw new ApiError('not_found', `There is no method '${method.slice(0, 80)}'.`)
  }
  const def = gw.methods[method as ApiMethod] as unknown as MethodDef<ApiMethod>
  let user: DispatchUser | null = null
  if (def.auth !== 'public') {
    user = gw.accounts.userForToken(caller.token)
    if (!user) throw new ApiError('unauthenticated', 'Please sign in again: your session is missing or has expired.')
  }
  const args = parseArgs(METHODS[method as ApiMethod].args, rawArgs) as ArgsOf<ApiMethod>
  if (user) checkAuth(gw, def.auth, args, user)
  const ctx: CallContext<typeof args> = {
    args,
    gw,
    caller,
    user: user as DispatchUser,
    audit(action, target, details = {}, organizationId = null) {
      gw.audit.append({ actor: user?.username ?? caller.address, action, target, details, organizationId })
    }
  }
  return def.run(ctx)
}

function checkAuth<A>(gw: DispatchHost, rule: AuthRule<A>, args: A, user: DispatchUser): void {
  if (rule === 'public' || rule === 'user') return
  if (rule === 'deploymentAdmin') {
    if (!user.deploymentAdmin) throw forbidden('Only a deployment administrator can do that.')
    return
  }
  if ('organizationAdmin' in rule) {
    const orgId = rule.organizationAdmin(args, gw)
    if (!gw.accounts.isOrganizationAdmin(user, orgId)) throw forbidden('Only an administrator of this organization can do that.')
    return
  }
  for (const networkId of rule.networks(args, gw)) {
    if (!rule.anyOf.some((p) => gw.accounts.hasPermission(user, networkId, p))) {
      throw forbidden(gw.accounts.describeMissingPermission(networkId, rule.anyOf))
    }
  }
}

function toErrorBody(err: unknown, gw: DispatchHost): ApiErrorBody {
  if (err instanceof ApiError) return { code: err.code, message: err.message }
  // Anything else is our bug or an I/O failure: log it with its stack, tell the operator in one sentence.
  gw.log.error(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  const message =
    err instanceof Error && /could not be saved/.test(err.message)
      ? err.message
      : 'Something went wrong inside Fedgate; the details are in its log.'
  return { code: 'internal', message }
}

export type { ArgsOf, ResultOf }
