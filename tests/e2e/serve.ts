// E2E support: real `fedgate serve` processes on temp data directories (every port 0), their console URL and
// setup token read from stdout, a typed HTTP caller for the API, and cleanup of processes and directories.

import { spawn, type ChildProcess } from 'node:child_process'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { test as base, expect, type APIRequestContext, type Locator, type Page } from '@playwright/test'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const CLI = path.join(ROOT, 'bin', 'fedgate.mjs')
const START_TIMEOUT_MS = 30_000

export interface ServeOptions {
  /** Reuse a data directory (a restart); otherwise a fresh one is made (the fixture removes it after the test). */
  dataDir?: string
  /** Extra environment, e.g. settings overrides `Federation__AdvertisedHostname`. */
  env?: Record<string, string>
  /** The console's port; a restart passes the port of the process it replaces, so open pages find it again. */
  port?: number
}

export interface Served {
  url: string
  dataDir: string
  /** The one-time setup token printed on an empty data directory, or null. */
  setupToken: string | null
  /** Everything the process printed so far (for failure messages). */
  output(): string
  /** Stops the process (SIGTERM, pending writes flushed); the data directory stays for a restart. */
  stop(): Promise<void>
  /** Kills the process outright (SIGKILL, as a crash or a pulled plug); the data directory stays for a restart. */
  kill(): Promise<void>
}

/** Starts `node bin/fedgate.mjs serve --data DIR --port PORT` (default 0: any free port) and waits for `Fedgate console: http://…/`. */
export async function startServe(options: ServeOptions = {}): Promise<Served> {
  const dataDir = options.dataDir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-e2e-')))
  // The first administrator comes from the setup token unless a test asks for FEDGATE_ADMIN_PASSWORD itself.
  const { FEDGATE_ADMIN_PASSWORD: _ignored, ...inherited } = process.env
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    Federation__Port: '0',
    Streaming__TlsPort: '0',
    Marti__Port: '0',
    Enrollment__Port: '0',
    Console__Port: '0',
    ...options.env
  }
  const child = spawn(process.execPath, [CLI, 'serve', '--data', dataDir, '--port', String(options.port ?? 0)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let text = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`fedgate serve printed no console URL in time:\n${text}`)), START_TIMEOUT_MS)
    const poll = setInterval(() => {
      const match = /Fedgate console: (https?:\/\/\S+)/.exec(text)
      if (match?.[1]) finish(null, match[1].endsWith('/') ? match[1] : `${match[1]}/`)
    }, 50)
    const onExit = (code: number | null): void => finish(new Error(`fedgate serve exited (${code}) before it was ready:\n${text}`))
    child.once('exit', onExit)
    function finish(err: Error | null, value?: string): void {
      clearTimeout(timer)
      clearInterval(poll)
      child.off('exit', onExit)
      if (err) {
        child.kill('SIGKILL')
        reject(err)
      } else resolve(value as string)
    }
  })
  // The token is printed before the URL; tolerate any wording around it.
  const tokenMatch = /setup token[^\n]*:\s*([A-Za-z0-9_-]{16,})\s*$/im.exec(text)
  return {
    url,
    dataDir,
    setupToken: tokenMatch?.[1] ?? null,
    output: () => text,
    stop: () => stopProcess(child),
    kill: () => killProcess(child)
  }
}

async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGKILL')
  await exited
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** POST /api/<method> as the web console does; returns the parsed `{ok,result}` / `{ok:false,error}` body. */
export async function apiCall(
  request: APIRequestContext,
  url: string,
  method: string,
  args: unknown = {},
  token?: string
): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
  const response = await request.post(`${url}api/${method}`, {
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    data: JSON.stringify(args)
  })
  return (await response.json()) as { ok: boolean; result?: unknown; error?: { code: string; message: string } }
}

/** Calls a method and returns its result, failing the test with the gateway's sentence otherwise. */
export async function apiOk<T = unknown>(
  request: APIRequestContext,
  url: string,
  method: string,
  args: unknown,
  token: string
): Promise<T> {
  const body = await apiCall(request, url, method, args, token)
  if (!body.ok) throw new Error(`${method} failed: ${body.error?.code}: ${body.error?.message}`)
  return body.result as T
}

export async function loginToken(request: APIRequestContext, url: string, username: string, password: string): Promise<string> {
  const result = await apiOk<{ token: string }>(request, url, 'login', { username, password }, '')
  return result.token
}

/** Signs in through the console's own form. */
export async function signIn(page: Page, url: string, username: string, password: string): Promise<void> {
  // A real load every time: goto() to the same page with only the #route different would not reload it.
  await page.goto('about:blank')
  await page.goto(url)
  await settled(page.getByLabel('Username'))
  const user = page.getByLabel('Username')
  const pass = page.getByLabel('Password', { exact: true })
  // On a loaded machine the form can re-render while typing (a late autofocus); check what landed before submitting.
  for (let attempt = 0; attempt < 3; attempt++) {
    await user.fill(username)
    await pass.fill(password)
    if ((await user.inputValue()) === username && (await pass.inputValue()) === password) break
  }
  await expect(user).toHaveValue(username)
  await page.getByRole('button', { name: 'Sign in' }).click()
  // scrypt plus the first loads take a while on a busy two-core machine.
  await expect(page.getByTestId('nav-networks')).toBeVisible({ timeout: 20_000 })
}

/**
 * Waits until a form's autofocused field holds the focus. Vuetify focuses it a moment after the form appears; typing
 * into another field before that lets the late autofocus pull the rest of the keystrokes into this one.
 */
export async function settled(autofocused: Locator): Promise<void> {
  await expect(autofocused).toBeFocused()
}

/** The deployment administrator's password in every spec (FEDGATE_ADMIN_PASSWORD or the setup screen). */
export const ADMIN_PASSWORD = 'field laptop admin 1'

/** Opens a network of the current organization on one of its tabs, the way an operator clicks there. */
export async function openTab(page: Page, network: string, tab: string): Promise<void> {
  await page.getByTestId('nav-networks').click()
  await page.getByTestId(`network-${network}`).getByText(network, { exact: true }).click()
  await expect(page.getByTestId('network-title')).toHaveText(network)
  await page.getByRole('tab', { name: tab }).click()
}

/** One toggle (In, Out, DP-In, DP-Out) of a federation row's end or a peer row: a switch when changeable, else a chip; its data-state is on/off. */
export function chip(row: Locator, side: 'ours' | 'theirs' | 'peer', text: string): Locator {
  return row.getByTestId(`chips-${side}`).locator(`[data-toggle="${text}"]`)
}

/** Flips a toggle's switch and confirms the sentence that says what it will do; returns that sentence. */
export async function flip(page: Page, row: Locator, side: 'ours' | 'peer', text: string): Promise<string> {
  await chip(row, side, text).getByRole('checkbox').click()
  const dialog = page.getByTestId('toggle-confirm')
  const sentence = (await dialog.getByTestId('toggle-sentence').textContent()) ?? ''
  await dialog.getByRole('button', { name: /^Turn / }).click()
  await expect(dialog).toBeHidden()
  return sentence
}

/** Every screenshot of a main page lands in /tmp for a human look. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `/tmp/fedgate-${name}.png`, animations: 'disabled', fullPage: true })
}

interface Fixtures {
  /** Starts gateways that are stopped (and their temp directories removed) after the test. */
  serve: (options?: ServeOptions) => Promise<Served>
}

export const test = base.extend<Fixtures>({
  // Every page fails its test on an uncaught error, a console error such as a CSP refusal, or a request off the machine.
  // Answers the test provoked on purpose (403, 401) show up as "Failed to load resource" and are not failures.
  page: async ({ page }, use) => {
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    // Nothing leaves the machine: fonts, icons and scripts are bundled, the API is the page's own origin.
    page.on('request', (req) => {
      const url = new URL(req.url())
      const local = ['data:', 'blob:'].includes(url.protocol) || ['127.0.0.1', 'localhost'].includes(url.hostname)
      if (!local) problems.push(`request to ${req.url()}`)
    })
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`)
    })
    await use(page)
    expect(problems, 'the console page logged errors').toEqual([])
  },
  // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this pattern
  serve: async ({}, use) => {
    const started: Served[] = []
    const ownDirs = new Set<string>()
    await use(async (options) => {
      const served = await startServe(options)
      started.push(served)
      if (options?.dataDir === undefined) ownDirs.add(served.dataDir)
      return served
    })
    for (const served of started.reverse()) await served.stop()
    for (const dir of ownDirs) await fsp.rm(dir, { recursive: true, force: true })
  }
})

export { expect }
