// The IPC adapter with a fake ipcMain (Electron cannot run here) over a real gateway: one channel per method,
// arguments and token forwarded to dispatch(), untrusted frames refused, events filtered per window, clean disposal.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { channelFor, type ConsoleEvent } from '../../../gateway/api/contract.ts'
import { API_METHODS } from '../../../gateway/api/schema/index.ts'
import type { DispatchResult } from '../../../gateway/api/dispatch.ts'
import { DesktopSessions, forwardEvents, registerIpc, trustedRenderer } from '../../../main/ipc.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

type Handler = (event: unknown, ...args: unknown[]) => Promise<DispatchResult>

class FakeIpcMain {
  readonly handlers = new Map<string, Handler>()
  handle(channel: string, listener: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
    this.handlers.set(channel, listener)
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  }
  invoke(channel: string, frameUrl: string | null, windowId: number, ...args: unknown[]): Promise<DispatchResult> {
    const handler = this.handlers.get(channel)
    if (!handler) throw new Error(`No handler registered for '${channel}'`)
    return handler({ senderFrame: frameUrl === null ? null : { url: frameUrl }, sender: { id: windowId } }, ...args)
  }
}

const OWN_PAGE = 'file:///opt/Fedgate/resources/app.asar/out/renderer/index.html'
const isTrusted = trustedRenderer(OWN_PAGE)

let gw: TestGateway
beforeAll(async () => {
  gw = await startTestGateway()
})
afterAll(async () => {
  await gw?.stop()
})

describe('registerIpc', () => {
  it('registers exactly one channel per contract method, and the disposer removes them all', () => {
    const ipc = new FakeIpcMain()
    const dispose = registerIpc(ipc as never, gw.services, isTrusted)
    expect([...ipc.handlers.keys()].sort()).toEqual(API_METHODS.map((m) => channelFor(m)).sort())
    dispose()
    expect(ipc.handlers.size).toBe(0)
    // Registering again after disposal works (no stale handler left behind).
    const again = registerIpc(ipc as never, gw.services, isTrusted)
    expect(ipc.handlers.size).toBe(API_METHODS.length)
    again()
  })

  it('forwards arguments and the token to dispatch, and answers plain {ok,result}/{ok:false,error}', async () => {
    const ipc = new FakeIpcMain()
    const sessions = new DesktopSessions()
    const dispose = registerIpc(ipc as never, gw.services, isTrusted, sessions)
    try {
      const login = await ipc.invoke(channelFor('login'), `${OWN_PAGE}#/login`, 7, { username: 'admin', password: gw.adminPassword }, null)
      expect(login.ok).toBe(true)
      const token = (login as { result: { token: string } }).result.token
      expect(sessions.get(7)?.token).toBe(token)

      const created = await ipc.invoke(channelFor('createOrganization'), OWN_PAGE, 7, { name: 'Via IPC' }, token)
      expect(created).toMatchObject({ ok: true, result: { name: 'Via IPC' } })
      expect(gw.services.store.data.organizations.some((o) => o.name === 'Via IPC')).toBe(true)

      const noToken = await ipc.invoke(channelFor('createOrganization'), OWN_PAGE, 7, { name: 'No token' }, null)
      expect(noToken).toMatchObject({ ok: false, error: { code: 'unauthenticated' } })
      const badArgs = await ipc.invoke(channelFor('createOrganization'), OWN_PAGE, 7, { name: 12 }, token)
      expect(badArgs).toMatchObject({ ok: false, error: { code: 'invalid' } })
      // Whatever arrives over IPC is data: a non-string token is no token.
      const objectToken = await ipc.invoke(channelFor('whoami'), OWN_PAGE, 7, undefined, { toString: () => token })
      expect(objectToken).toMatchObject({ ok: false, error: { code: 'unauthenticated' } })

      const who = await ipc.invoke(channelFor('whoami'), OWN_PAGE, 7, undefined, token)
      expect(who).toMatchObject({ ok: true, result: { user: { username: 'admin' } } })
      // The answer survives structured clone (what IPC does) unchanged.
      expect(structuredClone(who)).toEqual(who)

      const logout = await ipc.invoke(channelFor('logout'), OWN_PAGE, 7, undefined, token)
      expect(logout).toEqual({ ok: true, result: null })
      expect(sessions.get(7)).toBeUndefined()
      expect(await ipc.invoke(channelFor('whoami'), OWN_PAGE, 7, undefined, token)).toMatchObject({
        ok: false,
        error: { code: 'unauthenticated' }
      })
    } finally {
      dispose()
    }
  })

  it('refuses calls from a frame that is not our renderer, without touching the gateway', async () => {
    const ipc = new FakeIpcMain()
    const dispose = registerIpc(ipc as never, gw.services, isTrusted)
    try {
      const token = await gw.loginAs('admin', gw.adminPassword!)
      const before = JSON.stringify(gw.services.store.data)
      for (const url of [
        'https://evil.example/',
        'file:///tmp/other/index.html',
        'file:///opt/Fedgate/resources/app.asar/out/renderer/index.html.evil',
        null
      ]) {
        const answer = await ipc.invoke(channelFor('createOrganization'), url, 3, { name: 'Injected' }, token)
        expect(answer, String(url)).toMatchObject({ ok: false, error: { code: 'forbidden' } })
      }
      expect(JSON.stringify(gw.services.store.data)).toBe(before)
    } finally {
      dispose()
    }
  })
})

describe('trustedRenderer', () => {
  it('accepts the packaged page with any route, and the dev server only when one is given', () => {
    expect(isTrusted(`${OWN_PAGE}?x=1#/networks`)).toBe(true)
    expect(isTrusted('http://localhost:5173/')).toBe(false)
    const dev = trustedRenderer(OWN_PAGE, 'http://localhost:5173')
    expect(dev('http://localhost:5173/#/login')).toBe(true)
    expect(dev('http://localhost:5174/')).toBe(false)
    expect(dev('not a url')).toBe(false)
  })
})

describe('forwardEvents', () => {
  it('sends each window only what its signed-in user may see, and nothing once it signed out', async () => {
    const ipc = new FakeIpcMain()
    const sessions = new DesktopSessions()
    const dispose = registerIpc(ipc as never, gw.services, isTrusted, sessions)
    const sent: { windowId: number; event: ConsoleEvent }[] = []
    const stop = forwardEvents(gw.services, sessions, (windowId, event) => sent.push({ windowId, event }), 50)
    try {
      const admin = await gw.loginAs('admin', gw.adminPassword!)
      const orgA = await gw.ok('createOrganization', { name: 'Ipc A' }, admin)
      const orgB = await gw.ok('createOrganization', { name: 'Ipc B' }, admin)
      await gw.ok('createUser', { username: 'ivan', password: 'a long enough password 4', organizationId: orgB.id }, admin)
      await ipc.invoke(channelFor('login'), OWN_PAGE, 1, { username: 'admin', password: gw.adminPassword }, null)
      await ipc.invoke(channelFor('login'), OWN_PAGE, 2, { username: 'ivan', password: 'a long enough password 4' }, null)
      sent.length = 0

      gw.services.events.emit({ type: 'changed', area: 'networks', networkId: 'net_unknown' })
      const netA = await gw.ok('createNetwork', { organizationId: orgA.id, name: 'Only A' }, admin)
      gw.services.events.emit({ type: 'changed', area: 'networks', networkId: netA.id })
      expect(sent.filter((s) => s.windowId === 1).some((s) => s.event.type === 'changed' && s.event.networkId === netA.id)).toBe(true)
      expect(sent.filter((s) => s.windowId === 2).some((s) => JSON.stringify(s.event).includes(netA.id))).toBe(false)
      expect(sent.some((s) => s.event.type === 'changed' && s.event.networkId === 'net_unknown')).toBe(false)

      // Window 2 signs out: it receives nothing more.
      const ivanToken = sessions.get(2)!.token
      await ipc.invoke(channelFor('logout'), OWN_PAGE, 2, undefined, ivanToken)
      sent.length = 0
      gw.services.events.emit({ type: 'health', health: gw.services.health() })
      expect(sent.map((s) => s.windowId)).toEqual([1])

      // A session ended elsewhere (expired, user removed) is noticed by the periodic re-check.
      await gw.services.accounts.endSession(sessions.get(1)!.token)
      await new Promise((r) => setTimeout(r, 150))
      sent.length = 0
      gw.services.events.emit({ type: 'health', health: gw.services.health() })
      expect(sent).toEqual([])
    } finally {
      stop()
      dispose()
    }
  })
})
