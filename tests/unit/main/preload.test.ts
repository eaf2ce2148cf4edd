// The preload with a mocked electron module: window.fedgate is the contract and nothing else, every call is one
// invoke on its own channel with the session token, errors come back as rejections carrying the code.

import { beforeEach, describe, expect, it, vi } from 'vitest'
import { API_GLOBAL, IPC_EVENT_CHANNEL, channelFor, type FedgateBridge } from '../../../gateway/api/contract.ts'
import { API_METHODS } from '../../../gateway/api/schema/index.ts'

const electron = vi.hoisted(() => {
  const listeners = new Map<string, Set<(...args: unknown[]) => void>>()
  return {
    exposed: new Map<string, unknown>(),
    listeners,
    invoke: vi.fn<(channel: string, ...args: unknown[]) => Promise<unknown>>(),
    emit(channel: string, payload: unknown) {
      for (const l of listeners.get(channel) ?? []) l({ sender: 'ipc-internals' }, payload)
    }
  }
})

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => electron.exposed.set(key, api) },
  ipcRenderer: {
    invoke: electron.invoke,
    on: (channel: string, listener: (...args: unknown[]) => void) => {
      if (!electron.listeners.has(channel)) electron.listeners.set(channel, new Set())
      electron.listeners.get(channel)!.add(listener)
    },
    removeListener: (channel: string, listener: (...args: unknown[]) => void) => electron.listeners.get(channel)?.delete(listener)
  }
}))

await import('../../../main/preload.ts')
const bridge = electron.exposed.get(API_GLOBAL) as FedgateBridge

beforeEach(() => electron.invoke.mockReset())

describe('preload', () => {
  it('exposes only window.fedgate, with one function per method plus onEvent', () => {
    expect([...electron.exposed.keys()]).toEqual([API_GLOBAL])
    expect(Object.keys(bridge).sort()).toEqual([...API_METHODS, 'onEvent'].sort())
    for (const key of Object.keys(bridge)) expect(typeof (bridge as unknown as Record<string, unknown>)[key]).toBe('function')
  })

  it('invokes the method channel with the arguments, keeps the token from login and sends it after', async () => {
    electron.invoke.mockResolvedValueOnce({ ok: true, result: { token: 'tok-1', user: { id: 'u1' }, expiresAt: 'x' } })
    await expect(bridge.login({ username: 'a', password: 'b' })).resolves.toMatchObject({ token: 'tok-1' })
    expect(electron.invoke).toHaveBeenLastCalledWith(channelFor('login'), { username: 'a', password: 'b' }, null)

    electron.invoke.mockResolvedValueOnce({ ok: true, result: [{ id: 'o1' }] })
    await expect(bridge.listOrganizations()).resolves.toEqual([{ id: 'o1' }])
    expect(electron.invoke).toHaveBeenLastCalledWith(channelFor('listOrganizations'), undefined, 'tok-1')

    electron.invoke.mockResolvedValueOnce({ ok: true, result: null })
    await bridge.logout()
    electron.invoke.mockResolvedValueOnce({ ok: true, result: [] })
    await bridge.listOrganizations()
    expect(electron.invoke).toHaveBeenLastCalledWith(channelFor('listOrganizations'), undefined, null)
  })

  it('turns {ok:false,error} into a rejection with the code and the sentence, in a shape contextBridge keeps whole', async () => {
    electron.invoke.mockResolvedValueOnce({
      ok: false,
      error: { code: 'forbidden', message: 'Only a deployment administrator can do that.' }
    })
    const failure = await bridge.createOrganization({ name: 'X' }).then(
      () => null,
      (err: unknown) => err
    )
    expect(failure).toMatchObject({ name: 'FedgateCallError', code: 'forbidden', message: 'Only a deployment administrator can do that.' })
    expect(String(failure)).toBe('Only a deployment administrator can do that.')
    // An Error would lose `code` crossing contextBridge; only plain data and functions cross whole.
    expect(failure).not.toBeInstanceOf(Error)
    expect(Object.getPrototypeOf(failure)).toBe(Object.prototype)
    electron.invoke.mockResolvedValueOnce('garbage')
    await expect(bridge.whoami()).rejects.toMatchObject({ code: 'internal' })
  })

  it('forgets the token when the gateway says the session is gone', async () => {
    electron.invoke.mockResolvedValueOnce({ ok: true, result: { token: 'tok-2', user: { id: 'u1' }, expiresAt: 'x' } })
    await bridge.setupFirstAdmin({ setupToken: 's', username: 'a', password: 'b' })
    electron.invoke.mockResolvedValueOnce({ ok: false, error: { code: 'unauthenticated', message: 'Please sign in again.' } })
    await expect(bridge.whoami()).rejects.toMatchObject({ code: 'unauthenticated' })
    electron.invoke.mockResolvedValueOnce({ ok: true, result: [] })
    await bridge.listOrganizations()
    expect(electron.invoke).toHaveBeenLastCalledWith(channelFor('listOrganizations'), undefined, null)
  })

  it('onEvent relays the event only (not the IPC event) and unsubscribes', () => {
    const seen: unknown[] = []
    const off = bridge.onEvent((event) => seen.push(event))
    electron.emit(IPC_EVENT_CHANNEL, { type: 'changed', area: 'networks' })
    expect(seen).toEqual([{ type: 'changed', area: 'networks' }])
    off()
    electron.emit(IPC_EVENT_CHANNEL, { type: 'changed', area: 'devices' })
    expect(seen).toHaveLength(1)
  })
})
