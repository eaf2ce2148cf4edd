// Test helper: a real gateway (startGateway) in a fresh temp data directory, called through dispatch() exactly as the
// transports do, with every log message captured.
//
//   const gw = await startTestGateway()              // deployment admin 'admin' / gw.adminPassword
//   const admin = await gw.loginAs('admin', gw.adminPassword)
//   const org = await gw.ok('createOrganization', { name: 'Alpha' }, admin)   // result, or throws TestCallError
//   const res = await gw.call('createNetwork', { organizationId: org.id, name: 'N' }, token)  // { ok, result | error }
//   await gw.stop()                                  // stops the gateway and deletes the directory

import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ApiErrorBody, ApiMethod, ResultOf } from '../../gateway/api/contract.ts'
import { dispatch, type DispatchResult } from '../../gateway/api/dispatch.ts'
import { METHODS } from '../../gateway/api/schema/index.ts'
import { resultProblem } from '../../gateway/api/validate.ts'
import { startGateway, type Gateway } from '../../gateway/index.ts'
import type { Logger } from '../../gateway/log.ts'
import type { ListenerPolicyOptions } from '../../gateway/net/listener-guard.ts'
import type { Services } from '../../gateway/services.ts'

export const TEST_ADMIN_PASSWORD = 'correct horse battery staple'

export interface TestGatewayOptions {
  /** FEDGATE_ADMIN_PASSWORD for the first start; null starts without an administrator (setup token flow). */
  adminPassword?: string | null
  /** Extra environment (settings overrides `Section__Key`). Every port defaults to 0 (any free port). */
  env?: Record<string, string>
  /** Reuse a data directory (e.g. to restart on the same data); it is then not deleted by stop(). */
  dataDir?: string
  storeDebounceMs?: number
  /** Caps and deadlines of the listening ports other than the defaults, and a file-handle limit to budget. */
  listeners?: ListenerPolicyOptions
}

export class TestCallError extends Error {
  constructor(
    readonly method: string,
    readonly error: ApiErrorBody
  ) {
    super(`${method} failed: ${error.code}: ${error.message}`)
  }
}

export interface TestGateway {
  dataDir: string
  gateway: Gateway
  services: Services
  adminPassword: string | null
  /** Every message given to the gateway's logger, as `level message`, before any redaction. */
  logs: string[]
  /** dispatch() as a transport calls it; `address` is the caller's address for throttling (default 127.0.0.1). */
  call(method: string, args?: unknown, token?: string | null, address?: string): Promise<DispatchResult>
  /** Like call(), but returns the result or throws TestCallError. */
  ok<M extends ApiMethod>(method: M, args?: unknown, token?: string | null, address?: string): Promise<Awaited<ResultOf<M>>>
  /** Signs in and returns the session token. */
  loginAs(username: string, password: string): Promise<string>
  /** Stops the gateway; removes the data directory unless it was given. */
  stop(): Promise<void>
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const ownDir = options.dataDir === undefined
  const dataDir = options.dataDir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-gw-')))
  const adminPassword = options.adminPassword === undefined ? TEST_ADMIN_PASSWORD : options.adminPassword
  const logs: string[] = []
  const log: Logger = {
    info: (m) => logs.push(`info ${m}`),
    warn: (m) => logs.push(`warn ${m}`),
    error: (m) => logs.push(`error ${m}`)
  }
  const env: NodeJS.ProcessEnv = {
    Federation__Port: '0',
    Streaming__TlsPort: '0',
    Marti__Port: '0',
    Enrollment__Port: '0',
    Console__Port: '0',
    ...(adminPassword === null ? {} : { FEDGATE_ADMIN_PASSWORD: adminPassword }),
    ...options.env
  }
  let gateway: Gateway
  try {
    gateway = await startGateway({ dataDir, env, log, storeDebounceMs: options.storeDebounceMs ?? 5, listeners: options.listeners })
  } catch (err) {
    if (ownDir) await fsp.rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 })
    throw err
  }
  const call = (method: string, args?: unknown, token: string | null = null, address = '127.0.0.1'): Promise<DispatchResult> =>
    dispatch(gateway.services, method, args, { token, address })
  const ok = async <M extends ApiMethod>(
    method: M,
    args?: unknown,
    token: string | null = null,
    address?: string
  ): Promise<Awaited<ResultOf<M>>> => {
    const response = await call(method, args, token, address)
    if (!response.ok) throw new TestCallError(method, response.error)
    // Every result a test sees is checked against its method's schema: the contract the renderer and OpenAPI promise.
    const problem = resultProblem(METHODS[method].result, response.result)
    if (problem) throw new Error(`${method} answered outside its result schema: ${problem}`)
    return response.result as Awaited<ResultOf<M>>
  }
  let stopped = false
  return {
    dataDir,
    gateway,
    services: gateway.services,
    adminPassword,
    logs,
    call,
    ok,
    async loginAs(username, password) {
      return (await ok('login', { username, password })).token
    },
    async stop() {
      if (stopped) return
      stopped = true
      await gateway.stop()
      if (ownDir) await fsp.rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 })
    }
  }
}
