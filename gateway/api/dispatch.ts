// The single entry for both transports (Electron IPC and HTTP): find the method, check who is calling,
// validate the argument, check permissions, run it, and turn every failure into { code, message }.

import type { ApiErrorBody, ApiMethod, ArgsOf, Permission, ResultOf } from './contract.ts'
import { API_METHODS } from './contract.ts'
import { ApiError, forbidden } from './errors.ts'
import type { Schema } from './validate.ts'
import type { Services } from '../services.ts'
import type { UserRecord } from '../store/schema.ts'

/** Who is calling: resolved by the transport from its bearer token (HTTP) or the desktop session (IPC). */
export interface Caller {
  /** The session token presented, if any. */
  token: string | null
  /** Remote address for throttling and the audit log ('ipc' for the desktop app). */
  address: string
}

export interface CallContext<A> {
  args: A
  gw: Services
  caller: Caller
  /** The signed-in user; null only for `public` methods. */
  user: UserRecord
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
export type AuthRule<A> =
  | 'public'
  | 'user'
  | 'deploymentAdmin'
  | { organizationAdmin: (args: A, gw: Services) => string }
  | { anyOf: Permission[]; networks: (args: A, gw: Services) => string[] }

export interface MethodDef<M extends ApiMethod> {
  args: Schema<ArgsOf<M>>
  auth: AuthRule<ArgsOf<M>>
  /** Largest request body over HTTP when a call needs more than the console's usual 64 KiB (gateway/console/body.ts). */
  maxBodyBytes?: (gw: Services) => number
  run(ctx: CallContext<ArgsOf<M>>): Promise<ResultOf<M>> | ResultOf<M>
}

export type MethodTable = { [M in ApiMethod]: MethodDef<M> }
export type PartialMethodTable = { [M in ApiMethod]?: MethodDef<M> }

/** Identity helper so each area can declare its methods with full typing. */
export function defineMethods<T extends PartialMethodTable>(table: T): T {
  return table
}

export type DispatchResult = { ok: true; result: unknown } | { ok: false; error: ApiErrorBody }

const KNOWN = new Set<string>(API_METHODS)

export async function dispatch(gw: Services, method: string, rawArgs: unknown, caller: Caller): Promise<DispatchResult> {
  try {
    const result = await call(gw, method, rawArgs, caller)
    return { ok: true, result: result === undefined ? null : result }
  } catch (err) {
    return { ok: false, error: toErrorBody(err, gw) }
  }
}

async function call(gw: Services, method: string, rawArgs: unknown, caller: Caller): Promise<unknown> {
  if (!KNOWN.has(method) || !Object.hasOwn(gw.methods, method)) {
    throw new ApiError('not_found', `There is no method '${method.slice(0, 80)}'.`)
  }
  const def = gw.methods[method as ApiMethod] as unknown as MethodDef<ApiMethod>
  let user: UserRecord | null = null
  if (def.auth !== 'public') {
    user = gw.accounts.userForToken(caller.token)
    if (!user) throw new ApiError('unauthenticated', 'Please sign in again: your session is missing or has expired.')
  }
  const args = def.args.parse(rawArgs, '')
  if (user) checkAuth(gw, def.auth, args, user)
  const ctx: CallContext<typeof args> = {
    args,
    gw,
    caller,
    user: user as UserRecord,
    audit(action, target, details = {}, organizationId = null) {
      gw.audit.append({ actor: user?.username ?? caller.address, action, target, details, organizationId })
    }
  }
  return def.run(ctx)
}

function checkAuth<A>(gw: Services, rule: AuthRule<A>, args: A, user: UserRecord): void {
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

function toErrorBody(err: unknown, gw: Services): ApiErrorBody {
  if (err instanceof ApiError) return { code: err.code, message: err.message }
  // Anything else is our bug or an I/O failure: log it with its stack, tell the operator in one sentence.
  gw.log.error(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  const message = err instanceof Error && /could not be saved/.test(err.message) ? err.message : 'Something went wrong inside Fedgate; the details are in its log.'
  return { code: 'internal', message }
}

export type { ArgsOf, ResultOf }
