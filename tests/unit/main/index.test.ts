// main/index.ts loads with a mocked electron and runs the real gateway in a temp userData: single-instance lock,
// a sandboxed, isolated window with the preload, IPC answering the page, CSP on responses, and a clean quit.

import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { channelFor } from '../../../gateway/api/contract.ts'
import { API_METHODS } from '../../../gateway/api/schema/index.ts'
import { CONSOLE_CSP } from '../../../gateway/console/server.ts'
import { startGateway } from '../../../gateway/index.ts'

const fake = vi.hoisted(() => {
  type Listener = (...args: unknown[]) => unknown
  const appListeners = new Map<string, Listener[]>()
  const state = {
    userData: '',
    windows: [] as {
      options: Record<string, unknown>
      loaded: string | null
      contentsListeners: Map<string, Listener>
      openHandler: Listener | null
    }[],
    handlers: new Map<string, Listener>(),
    headersHook: null as Listener | null,
    permissionHandler: null as Listener | null,
    clipboard: '',
    exitCode: null as number | null,
    appListeners,
    emitApp(name: string, ...args: unknown[]) {
      for (const l of appListeners.get(name) ?? []) l(...args)
    }
  }
  return state
})

vi.mock('electron', () => {
  class BrowserWindow {
    readonly record
    readonly webContents
    constructor(options: Record<string, unknown>) {
      const contentsListeners = new Map<string, (...args: unknown[]) => unknown>()
      this.record = {
        options,
        loaded: null as string | null,
        contentsListeners,
        openHandler: null as ((...args: unknown[]) => unknown) | null
      }
      fake.windows.push(this.record)
      const record = this.record
      this.webContents = {
        id: fake.windows.length,
        setWindowOpenHandler: (h: (...args: unknown[]) => unknown) => (record.openHandler = h),
        on: (name: string, l: (...args: unknown[]) => unknown) => contentsListeners.set(name, l),
        send: () => {}
      }
    }
    once(): void {}
    on(): void {}
    show(): void {}
    focus(): void {}
    restore(): void {}
    isMinimized(): boolean {
      return false
    }
    loadFile(file: string): Promise<void> {
      this.record.loaded = file
      return Promise.resolve()
    }
    loadURL(url: string): Promise<void> {
      this.record.loaded = url
      return Promise.resolve()
    }
  }
  return {
    app: {
      isPackaged: false,
      requestSingleInstanceLock: vi.fn(() => true),
      whenReady: () => Promise.resolve(),
      getPath: (name: string) => path.join(fake.userData, name === 'userData' ? '' : name),
      on: (name: string, l: (...args: unknown[]) => unknown) => {
        if (!fake.appListeners.has(name)) fake.appListeners.set(name, [])
        fake.appListeners.get(name)!.push(l)
      },
      quit: vi.fn(),
      exit: (code: number) => (fake.exitCode = code)
    },
    BrowserWindow,
    clipboard: { writeText: (text: string) => (fake.clipboard = text) },
    dialog: { showErrorBox: vi.fn(), showMessageBox: vi.fn(() => Promise.resolve({ response: 0 })) },
    ipcMain: {
      handle: (channel: string, l: (...args: unknown[]) => unknown) => fake.handlers.set(channel, l),
      removeHandler: (channel: string) => fake.handlers.delete(channel)
    },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: (hook: (...args: unknown[]) => unknown) => (fake.headersHook = hook) },
        setPermissionRequestHandler: (h: (...args: unknown[]) => unknown) => (fake.permissionHandler = h),
        on: () => {}
      }
    },
    webContents: { fromId: () => undefined }
  }
})

const userData = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-desktop-'))
fake.userData = userData
// The desktop app reads ports from appsettings/env like serve does; keep every port free for the test.
const savedEnv = { ...process.env }
Object.assign(process.env, { Federation__Port: '0', Streaming__TlsPort: '0', Marti__Port: '0', Enrollment__Port: '0', Console__Port: '0' })
delete process.env.FEDGATE_DATA
delete process.env.FEDGATE_ADMIN_PASSWORD
delete process.env.ELECTRON_RENDERER_URL

const main = await import('../../../main/index.ts')
await main.desktopReady

afterAll(async () => {
  // A quit that was not reached in a test must still stop the gateway.
  fake.emitApp('will-quit', { preventDefault: () => {} })
  await new Promise((r) => setTimeout(r, 300))
  process.env = savedEnv
  await fsp.rm(userData, { recursive: true, force: true })
})

describe('main/index.ts', () => {
  it('takes the single-instance lock and opens one locked-down window on the built renderer', async () => {
    const { app } = await import('electron')
    expect(app.requestSingleInstanceLock).toHaveBeenCalled()
    expect(fake.exitCode).toBeNull()
    expect(fake.windows).toHaveLength(1)
    const win = fake.windows[0]!
    expect(win.options.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false })
    expect(String((win.options.webPreferences as { preload: string }).preload)).toMatch(/preload[/\\]index\.cjs$/)
    expect(win.loaded).toMatch(/renderer[/\\]index\.html$/)
    expect(win.openHandler?.({ url: 'https://example.org' })).toEqual({ action: 'deny' })
    let prevented = false
    win.contentsListeners.get('will-navigate')?.({ preventDefault: () => (prevented = true) }, 'https://evil.example/')
    expect(prevented).toBe(true)
  })

  it('puts the data under userData, hands over the setup token, and answers the page over IPC', async () => {
    for (const name of ['appsettings.json', 'db.json', 'pki'])
      await expect(fsp.stat(path.join(userData, 'data', name))).resolves.toBeTruthy()
    expect(fake.clipboard).toMatch(/^[A-Za-z0-9_-]{20,}$/)
    expect(fake.handlers.size).toBe(API_METHODS.length)
    const page = pathToFileURL(fake.windows[0]!.loaded!).href
    const state = await fake.handlers.get(channelFor('getSetupState'))!({ senderFrame: { url: page }, sender: { id: 1 } }, undefined, null)
    expect(state).toMatchObject({ ok: true, result: { needsFirstAdmin: true } })
    const first = await fake.handlers.get(channelFor('setupFirstAdmin'))!(
      { senderFrame: { url: page }, sender: { id: 1 } },
      { setupToken: fake.clipboard, username: 'desk', password: 'a long enough password 5' },
      null
    )
    expect(first).toMatchObject({ ok: true, result: { user: { username: 'desk' } } })
    const foreign = await fake.handlers.get(channelFor('getSetupState'))!(
      { senderFrame: { url: 'https://evil.example/' }, sender: { id: 1 } },
      undefined,
      null
    )
    expect(foreign).toMatchObject({ ok: false, error: { code: 'forbidden' } })
  })

  it('adds the strict CSP to every response and refuses permission requests', () => {
    let headers: Record<string, string[]> = {}
    fake.headersHook?.(
      { responseHeaders: { 'Content-Type': ['text/html'] } },
      (answer: { responseHeaders: Record<string, string[]> }) => (headers = answer.responseHeaders)
    )
    expect(headers['Content-Security-Policy']).toEqual([CONSOLE_CSP])
    expect(headers['Content-Type']).toEqual(['text/html'])
    let granted: boolean | null = null
    fake.permissionHandler?.({}, 'geolocation', (ok: boolean) => (granted = ok))
    expect(granted).toBe(false)
  })

  it('on quit, removes the IPC handlers and stops the gateway (the data dir is free again)', async () => {
    let prevented = false
    fake.emitApp('will-quit', { preventDefault: () => (prevented = true) })
    expect(prevented).toBe(true)
    expect(fake.handlers.size).toBe(0)
    await vi.waitFor(() => expect(fake.exitCode).toBe(0), { timeout: 5000 })
    const again = await startGateway({
      dataDir: path.join(userData, 'data'),
      env: { Federation__Port: '0', Streaming__TlsPort: '0', Marti__Port: '0', Enrollment__Port: '0' },
      log: { info() {}, warn() {}, error() {} }
    })
    expect(again.services.store.data.users.map((u) => u.username)).toEqual(['desk'])
    await again.stop()
  })
})
