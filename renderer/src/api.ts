// The console's only door to the gateway: window.fedgate. The Electron preload provides it; in a browser
// (`fedgate serve`) this module installs the HTTP transport: POST ./api/<method>, events over SSE on ./api/events.

import type { ApiErrorBody, ConsoleApi, ConsoleEvent, ErrorCode, FedgateBridge, LoginResult } from '../../gateway/api/contract.ts'

const TOKEN_KEY = 'fedgate.sessionToken'
/** How often to knock while the gateway cannot be reached. */
const PROBE_MS = 2000

/** A failed call, with the gateway's machine-readable code and its sentence for the operator. */
export class ApiCallError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** No answer at all (gateway stopped, network down): the connection banner says so, not each caller. */
    readonly unreachable = false
  ) {
    super(message)
    this.name = 'ApiCallError'
  }
}

export function errorCode(err: unknown): ErrorCode | null {
  return err instanceof ApiCallError ? err.code : ((err as { code?: ErrorCode } | null)?.code ?? null)
}

export function errorMessage(err: unknown): string {
  // The desktop preload rejects with a plain {code, message} object (it survives contextBridge), the web transport with an Error.
  const message = (err as { message?: unknown } | null)?.message
  if (typeof message === 'string') return message.replace(/^Error invoking remote method '[^']+': (Error: )?/, '')
  return String(err)
}

/** True when the call got no answer at all. */
export function isUnreachable(err: unknown): boolean {
  return err instanceof ApiCallError && err.unreachable
}

const reachabilityListeners = new Set<(reachable: boolean) => void>()

/** Hears the web console lose and regain the gateway (never called in the desktop app, whose gateway is in-process). */
export function onReachability(listener: (reachable: boolean) => void): () => void {
  reachabilityListeners.add(listener)
  return () => reachabilityListeners.delete(listener)
}

// localStorage, not sessionStorage: one sign-in serves every tab of this browser and survives closing the tab. The
// price: the token stays on this computer's profile until sign-out or 12 idle hours, and any script running on the
// console's origin could read it either way (the strict Content-Security-Policy is what keeps foreign script out).
function readToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

function writeToken(token: string | null): void {
  try {
    if (token === null) localStorage.removeItem(TOKEN_KEY)
    else localStorage.setItem(TOKEN_KEY, token)
  } catch {
    // Storage can be disabled; the session then lasts until the page reloads.
  }
}

/**
 * Whether the gateway answers. Once a call or the event stream finds it gone, knocks every PROBE_MS until it answers;
 * then `back` runs first (the event stream reopens at once, not after the browser's own back-off) and the listeners
 * hear it (they reload what they show).
 */
function watchReachability(baseUrl: string, back: () => void): { lost(): void; answered(): void; knock(): void } {
  let reachable = true
  let probeTimer: ReturnType<typeof setTimeout> | null = null
  const lost = (): void => {
    if (reachable) {
      reachable = false
      for (const listener of reachabilityListeners) listener(false)
    }
    probeTimer ??= setTimeout(() => void probe(), PROBE_MS)
  }
  const answered = (): void => {
    if (reachable) return
    reachable = true
    back()
    for (const listener of reachabilityListeners) listener(true)
  }
  const probe = async (): Promise<void> => {
    probeTimer = null
    try {
      await fetch(`${baseUrl}getSetupState`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    } catch {
      lost()
      return
    }
    answered()
  }
  // A dropped stream may be a refused session or a stopped gateway: one knock now tells which.
  const knock = (): void => {
    probeTimer ??= setTimeout(() => void probe(), 0)
  }
  return { lost, answered, knock }
}

/** The result of an answered call, or its error as an ApiCallError. */
async function resultOf(response: Response): Promise<unknown> {
  let body: { ok: boolean; result?: unknown; error?: ApiErrorBody }
  try {
    body = (await response.json()) as typeof body
  } catch {
    throw new ApiCallError('internal', `The gateway answered ${response.status} without a readable body.`)
  }
  if (!body.ok) {
    const error = body.error ?? { code: 'internal', message: 'The gateway refused the call without saying why.' }
    throw new ApiCallError(error.code, error.message)
  }
  return body.result
}

function parseEvent(data: string): ConsoleEvent | null {
  try {
    return JSON.parse(data) as ConsoleEvent
  } catch {
    return null
  }
}

/** The HTTP transport of the web console: one fetch per call, the bearer token from the last login. */
export function createHttpBridge(baseUrl = './api/'): FedgateBridge {
  let token = readToken()
  const listeners = new Set<(event: ConsoleEvent) => void>()
  let source: EventSource | null = null
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null
  const link = watchReachability(baseUrl, () => {
    if (listeners.size > 0 && (source === null || source.readyState !== source.OPEN)) openEvents()
  })

  const call = async (method: string, args: unknown): Promise<unknown> => {
    token = readToken() ?? token // another tab of this browser may have signed in since
    // No token, no session to ask about: answered here, a fresh load leaves no 401 in the browser's console.
    if (method === 'whoami' && token === null) throw new ApiCallError('unauthenticated', 'You are not signed in.')
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (token !== null) headers.authorization = `Bearer ${token}`
    let response: Response
    try {
      response = await fetch(baseUrl + method, { method: 'POST', headers, body: JSON.stringify(args ?? {}) })
    } catch {
      link.lost()
      throw new ApiCallError('unavailable', 'The gateway cannot be reached. Is `fedgate serve` still running?', true)
    }
    link.answered()
    const result = await resultOf(response)
    if (method === 'login' || method === 'setupFirstAdmin') setToken((result as LoginResult).token)
    if (method === 'logout') setToken(null)
    return result
  }

  const setToken = (next: string | null): void => {
    token = next
    writeToken(next)
    // The event stream is per session: reopen it with the new token (or close it when signed out).
    if (listeners.size > 0) openEvents()
  }

  const closeEvents = (): void => {
    if (reconnectTimer !== null) clearTimeout(reconnectTimer)
    reconnectTimer = null
    source?.close()
    source = null
  }

  const openEvents = (): void => {
    closeEvents()
    if (token === null || listeners.size === 0) return
    const es = new EventSource(`${baseUrl}events?token=${encodeURIComponent(token)}`)
    source = es
    es.onmessage = (message) => {
      const event = parseEvent(message.data as string)
      if (event !== null) for (const listener of listeners) listener(event)
    }
    es.onopen = () => link.answered()
    es.onerror = () => {
      if (source !== es) return
      // EventSource retries by itself while the server is up; after a hard close (session gone, server
      // restarted) try again calmly so the live tables come back without a reload.
      if (es.readyState === EventSource.CLOSED) reconnectTimer = setTimeout(openEvents, 3000)
      // A dropped stream is the first sign of a stopped gateway.
      link.knock()
    }
  }

  const methods = new Proxy({} as Record<string, (args?: unknown) => Promise<unknown>>, {
    get(target, name) {
      if (typeof name !== 'string' || name === 'then') return undefined
      if (name === 'onEvent') {
        return (listener: (event: ConsoleEvent) => void) => {
          listeners.add(listener)
          if (listeners.size === 1 || source === null) openEvents()
          return () => {
            listeners.delete(listener)
            if (listeners.size === 0) closeEvents()
          }
        }
      }
      target[name] ??= (args?: unknown) => call(name, args)
      return target[name]
    }
  })
  return methods as unknown as FedgateBridge
}

/** Installs the HTTP transport when nothing (the Electron preload) provided window.fedgate. */
export function installBridge(): FedgateBridge {
  const existing = (window as { fedgate?: FedgateBridge }).fedgate
  if (existing !== undefined) return existing
  const bridge = createHttpBridge()
  Object.defineProperty(window, 'fedgate', { value: bridge, configurable: false, enumerable: true, writable: false })
  return bridge
}

const failureListeners = new Set<(err: unknown) => void>()
let watched: ConsoleApi | null = null

/** Hears every failed call (the session store uses it to notice an expired session); returns the unsubscribe function. */
export function onCallFailure(listener: (err: unknown) => void): () => void {
  failureListeners.add(listener)
  return () => failureListeners.delete(listener)
}

/** The contract, for stores. Components never touch window directly. */
export function api(): ConsoleApi {
  if (watched !== null) return watched
  const bridge = installBridge() as unknown as Record<string, unknown>
  watched = new Proxy(bridge, {
    get(target, name) {
      const member = target[name as string]
      if (typeof member !== 'function' || name === 'onEvent') return member
      return async (...args: unknown[]) => {
        try {
          return await (member as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        } catch (err) {
          for (const listener of failureListeners) listener(err)
          throw err
        }
      }
    }
  }) as unknown as ConsoleApi
  return watched
}

export function onEvent(listener: (event: ConsoleEvent) => void): () => void {
  return installBridge().onEvent(listener)
}
