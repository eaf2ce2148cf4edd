// The desktop transport: one ipcMain handler per contract method, each checking the sender frame and calling the same
// dispatch() as HTTP; and pushed events to each window, filtered for the user signed in there.

import type { IpcMain, IpcMainInvokeEvent } from 'electron'
import { channelFor, type ConsoleEvent, type LoginResult } from '../gateway/api/contract.ts'
import { API_METHODS } from '../gateway/api/schema/index.ts'
import { dispatch, type DispatchResult } from '../gateway/api/dispatch.ts'
import { eventForUser } from '../gateway/events.ts'
import type { Services } from '../gateway/services.ts'

/** Decides whether a frame URL is our own renderer (the packaged file or the dev server). */
export type SenderCheck = (frameUrl: string) => boolean

/**
 * The session signed in in each window (by webContents id). The renderer holds the token and sends it with every
 * call; main remembers it only to know whose events a window may see.
 */
export class DesktopSessions {
  private readonly byWindow = new Map<number, { token: string; userId: string }>()

  set(windowId: number, token: string, userId: string): void {
    this.byWindow.set(windowId, { token, userId })
  }

  delete(windowId: number): void {
    this.byWindow.delete(windowId)
  }

  get(windowId: number): { token: string; userId: string } | undefined {
    return this.byWindow.get(windowId)
  }

  entries(): [number, { token: string; userId: string }][] {
    return [...this.byWindow]
  }
}

const UNTRUSTED: DispatchResult = {
  ok: false,
  error: { code: 'forbidden', message: 'This window is not the Fedgate console.' }
}

/**
 * Registers `console:<method>` for every method of the contract. The renderer invokes `(channel, args, token)`
 * and gets back `{ok, result}` or `{ok:false, error}` (plain data survives IPC; thrown errors lose their code).
 * Returns a disposer that removes every handler.
 */
export function registerIpc(
  ipc: Pick<IpcMain, 'handle' | 'removeHandler'>,
  services: Services,
  isTrustedSender: SenderCheck,
  sessions: DesktopSessions = new DesktopSessions()
): () => void {
  for (const method of API_METHODS) {
    // async: a failure anywhere becomes a resolved error body, never a synchronous throw in the IPC layer.
    ipc.handle(channelFor(method), async (event: IpcMainInvokeEvent, args?: unknown, token?: unknown): Promise<DispatchResult> => {
      const frameUrl = event.senderFrame?.url
      if (typeof frameUrl !== 'string' || !isTrustedSender(frameUrl)) {
        services.log.warn(`IPC call ${method} refused from an untrusted frame`)
        return UNTRUSTED
      }
      const sessionToken = typeof token === 'string' && token.length > 0 ? token : null
      const outcome = await dispatch(services, method, args, { token: sessionToken, address: 'ipc' })
      const windowId = event.sender.id
      if (outcome.ok && (method === 'login' || method === 'setupFirstAdmin')) {
        const login = outcome.result as LoginResult
        sessions.set(windowId, login.token, login.user.id)
      } else if (method === 'logout') {
        sessions.delete(windowId)
      } else if (!outcome.ok && outcome.error.code === 'unauthenticated') {
        sessions.delete(windowId)
      }
      return outcome
    })
  }
  return () => {
    for (const method of API_METHODS) ipc.removeHandler(channelFor(method))
  }
}

/**
 * Forwards gateway events to every window with a live session, each filtered for its user (the same rule as the
 * SSE stream). Sessions are re-checked every `recheckMs`, so a window whose session expired stops receiving.
 * Returns a function that stops forwarding.
 */
export function forwardEvents(
  services: Services,
  sessions: DesktopSessions,
  send: (windowId: number, event: ConsoleEvent) => void,
  recheckMs = 15_000
): () => void {
  const unsubscribe = services.events.subscribe((event) => {
    for (const [windowId, session] of sessions.entries()) {
      const user = services.store.data.users.find((u) => u.id === session.userId)
      if (!user) {
        sessions.delete(windowId)
        continue
      }
      const visible = eventForUser(event, services, user)
      if (visible) send(windowId, visible)
    }
  })
  const recheck = setInterval(() => {
    for (const [windowId, session] of sessions.entries()) {
      if (!services.accounts.peekUser(session.token)) sessions.delete(windowId)
    }
  }, recheckMs)
  recheck.unref()
  return () => {
    clearInterval(recheck)
    unsubscribe()
  }
}

/**
 * The renderer is trusted when the frame is our packaged index.html (any hash or query) or, in development,
 * a page of the electron-vite dev server's origin.
 */
export function trustedRenderer(indexFileUrl: string, devServerUrl?: string): SenderCheck {
  const ownFile = stripHashAndQuery(indexFileUrl)
  const devOrigin = devServerUrl ? new URL(devServerUrl).origin : null
  return (frameUrl) => {
    if (stripHashAndQuery(frameUrl) === ownFile) return true
    if (devOrigin === null) return false
    try {
      return new URL(frameUrl).origin === devOrigin
    } catch {
      return false
    }
  }
}

function stripHashAndQuery(url: string): string {
  return url.replace(/[?#].*$/, '')
}
