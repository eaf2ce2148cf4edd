// The Electron main process: one instance, the gateway in-process, the IPC transport, and one locked-down window.
// Thin wiring only; everything worth testing lives in gateway/ and main/ipc.ts.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { app, BrowserWindow, clipboard, dialog, ipcMain, session, webContents } from 'electron'
import { IPC_EVENT_CHANNEL } from '../gateway/api/contract.ts'
import { SettingsError } from '../gateway/config/settings.ts'
import { CONSOLE_CSP } from '../gateway/console/server.ts'
import { startGateway, type Gateway } from '../gateway/index.ts'
import { createLogger, type Logger } from '../gateway/log.ts'
import { StoreLockedError } from '../gateway/store/lock.ts'
import { DesktopSessions, forwardEvents, registerIpc, trustedRenderer } from './ipc.ts'
import { desktopPaths } from './paths.ts'

const HERE = path.dirname(fileURLToPath(import.meta.url))
// electron-vite layout: out/main/index.js, out/preload/index.cjs, out/renderer/index.html.
const PRELOAD = path.join(HERE, '../preload/index.cjs')
const INDEX_HTML = path.join(HERE, '../renderer/index.html')
/** Set by `electron-vite dev` only. */
const DEV_SERVER_URL = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL

const isTrusted = trustedRenderer(pathToFileURL(INDEX_HTML).href, DEV_SERVER_URL)

let gateway: Gateway | null = null
let mainWindow: BrowserWindow | null = null
const cleanups: (() => void)[] = []

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 840,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Fedgate',
    webPreferences: {
      preload: PRELOAD,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false
    }
  })
  win.once('ready-to-show', () => win.show())
  // The console never opens other windows or leaves its own page.
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  win.webContents.on('will-navigate', (event, url) => {
    if (!isTrusted(url)) event.preventDefault()
  })
  win.webContents.on('will-redirect', (event, url) => {
    if (!isTrusted(url)) event.preventDefault()
  })
  if (DEV_SERVER_URL) void win.loadURL(DEV_SERVER_URL)
  else void win.loadFile(INDEX_HTML)
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null
  })
  return win
}

function hardenSession(): void {
  const ses = session.defaultSession
  // Dev mode needs the Vite client's websocket; the packaged app needs nothing beyond its own files.
  const csp = DEV_SERVER_URL
    ? CONSOLE_CSP.replace("connect-src 'self'", `connect-src 'self' ${new URL(DEV_SERVER_URL).origin.replace(/^http/, 'ws')}`)
    : CONSOLE_CSP
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp], 'X-Content-Type-Options': ['nosniff'] } })
  })
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  // Downloads (connection packages, certificates, data packages) come as blobs from the page: ask where to save them.
  ses.on('will-download', (_event, item) => {
    item.setSaveDialogOptions({ title: 'Save', defaultPath: path.join(app.getPath('downloads'), item.getFilename()) })
  })
}

function fileLogger(logsDir: string): Logger {
  fs.mkdirSync(logsDir, { recursive: true })
  const logFile = path.join(logsDir, 'fedgate.log')
  return createLogger((line) => {
    process.stderr.write(`${line}\n`)
    try {
      fs.appendFileSync(logFile, `${line}\n`)
    } catch {
      // A full disk must not take the console down with it.
    }
  })
}

function startFailure(err: unknown): string {
  if (err instanceof StoreLockedError) return `${err.message} (Is \`fedgate serve\` running on the same data?)`
  if (err instanceof SettingsError) return `${err.file} has problems:\n${err.problems.join('\n')}`
  return err instanceof Error ? err.message : String(err)
}

async function startDesktop(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit()
    return
  }
  app.on('second-instance', () => {
    if (!mainWindow) return
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.focus()
  })
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault())
  })
  app.on('window-all-closed', () => app.quit())
  let stopping = false
  app.on('will-quit', (event) => {
    if (stopping || !gateway) return
    // Flush the store before the process goes away.
    stopping = true
    event.preventDefault()
    for (const cleanup of cleanups.splice(0)) cleanup()
    const running = gateway
    gateway = null
    void running.stop().finally(() => app.exit(0))
  })

  await app.whenReady()
  const paths = desktopPaths((name) => app.getPath(name))
  const log = fileLogger(paths.logsDir)
  try {
    gateway = await startGateway({ dataDir: paths.dataDir, log })
  } catch (err) {
    log.error(`could not start: ${err instanceof Error ? err.message : String(err)}`)
    dialog.showErrorBox('Fedgate could not start', startFailure(err))
    app.exit(1)
    return
  }
  hardenSession()
  const sessions = new DesktopSessions()
  cleanups.push(registerIpc(ipcMain, gateway.services, isTrusted, sessions))
  cleanups.push(
    forwardEvents(gateway.services, sessions, (windowId, event) => webContents.fromId(windowId)?.send(IPC_EVENT_CHANNEL, event))
  )
  mainWindow = createWindow()
  app.on('activate', () => {
    if (!mainWindow && gateway) mainWindow = createWindow()
  })
  if (gateway.setupToken) {
    // The desktop operator has no terminal to read the token from: hand it over once, through the clipboard.
    // Electron's clipboard is asynchronous; if it fails, the dialog still shows the token.
    const setupToken = gateway.setupToken
    try {
      await clipboard.writeText(setupToken)
    } catch (err) {
      log.warn(`could not copy the setup token to the clipboard: ${err instanceof Error ? err.message : String(err)}`)
    }
    void dialog.showMessageBox(mainWindow, {
      type: 'info',
      title: 'Create the first administrator',
      message: 'No administrator exists yet.',
      detail: `The one-time setup token is on the clipboard; paste it into the first screen.\n\n${setupToken}`
    })
  }
}

/** Settles once the window is up (or start failed); tests await it. */
export const desktopReady: Promise<void> = startDesktop()
