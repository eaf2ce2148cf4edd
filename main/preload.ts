// The preload: puts window.fedgate (FedgateBridge) on the page and nothing else. Each method is one
// ipcRenderer.invoke on its own channel; the session token lives here, in a closure, never on the page.

import { contextBridge, ipcRenderer, type IpcRenderer, type IpcRendererEvent } from 'electron'
import { API_GLOBAL, API_METHODS, IPC_EVENT_CHANNEL, channelFor, type ApiErrorBody, type ConsoleEvent, type FedgateBridge } from '../gateway/api/contract.ts'

/** A failed call: the operator's sentence as the message, the contract's code on `code`. */
export class FedgateCallError extends Error {
  constructor(
    readonly code: ApiErrorBody['code'],
    message: string
  ) {
    super(message)
    this.name = 'FedgateCallError'
  }
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
  for (const method of API_METHODS) {
    bridge[method] = async (args?: unknown): Promise<unknown> => {
      const answer: unknown = await ipc.invoke(channelFor(method), args, token)
      if (!isAnswer(answer)) throw new FedgateCallError('internal', 'The desktop app answered in an unexpected way.')
      if (!answer.ok) {
        if (answer.error.code === 'unauthenticated') token = null
        throw new FedgateCallError(answer.error.code, answer.error.message)
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
