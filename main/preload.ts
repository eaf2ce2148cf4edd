// The preload: puts window.fedgate (FedgateBridge) on the page and nothing else. Each method is one
// ipcRenderer.invoke on its own channel; the session token lives here, in a closure, never on the page. The method
// names come from a plain list (api/method-names.ts), not the schemas: TypeBox would add ~138 KB to this one file.

import { contextBridge, ipcRenderer, type IpcRenderer, type IpcRendererEvent } from 'electron'
import {
  API_GLOBAL,
  IPC_EVENT_CHANNEL,
  channelFor,
  type ApiErrorBody,
  type ConsoleEvent,
  type FedgateBridge
} from '../gateway/api/contract.ts'
import { METHOD_NAMES } from '../gateway/api/method-names.ts'

/**
 * A failed call as the page sees it: `{ name, code, message }` with a toString() giving the sentence.
 * Deliberately not an Error: contextBridge rebuilds Errors from their message alone and drops `code`, while a
 * plain object crosses whole (its toString function is proxied), so `err.code` and `err.message` both reach the page.
 */
export interface FedgateCallError {
  name: 'FedgateCallError'
  code: ApiErrorBody['code']
  message: string
  toString(): string
}

export function callError(code: ApiErrorBody['code'], message: string): FedgateCallError {
  return { name: 'FedgateCallError', code, message, toString: () => message }
}

type Answer = { ok: true; result: unknown } | { ok: false; error: ApiErrorBody }

function isAnswer(value: unknown): value is Answer {
  if (typeof value !== 'object' || value === null) return false
  const answer = value as { ok?: unknown; error?: { code?: unknown; message?: unknown } }
  if (answer.ok === true) return 'result' in answer
  return answer.ok === false && typeof answer.error?.code === 'string' && typeof answer.error.message === 'string'
}

export function buildBridge(ipc: Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>): FedgateBridge {
  let token: string | null = null
  const bridge: Record<string, unknown> = {}
  for (const method of METHOD_NAMES) {
    bridge[method] = async (args?: unknown): Promise<unknown> => {
      const answer: unknown = await ipc.invoke(channelFor(method), args, token)
      if (!isAnswer(answer)) throw callError('internal', 'The desktop app answered in an unexpected way.')
      if (!answer.ok) {
        if (answer.error.code === 'unauthenticated') token = null
        throw callError(answer.error.code, answer.error.message)
      }
      if (method === 'login' || method === 'setupFirstAdmin') token = (answer.result as { token: string }).token
      if (method === 'logout') token = null
      return answer.result
    }
  }
  bridge.onEvent = (listener: (event: ConsoleEvent) => void): (() => void) => {
    // The page gets the event only, never the IPC event object (it carries the sender).
    const relay = (_event: IpcRendererEvent, payload: ConsoleEvent): void => listener(payload)
    ipc.on(IPC_EVENT_CHANNEL, relay)
    return () => {
      ipc.removeListener(IPC_EVENT_CHANNEL, relay)
    }
  }
  return bridge as unknown as FedgateBridge
}

contextBridge.exposeInMainWorld(API_GLOBAL, buildBridge(ipcRenderer))
