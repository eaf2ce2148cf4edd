// `fedgate serve` as operators run it: the real bin/fedgate.mjs in a child process on a temp data dir
// (first start, setup token, console URL, clean stop on SIGTERM), plus start failures through runCli().

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { runCli, type CliIo } from '../../../gateway/cli.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const BIN = path.join(ROOT, 'bin', 'fedgate.mjs')
const PORTS_ANY = { Federation__Port: '0', Streaming__TlsPort: '0', Marti__Port: '0', Enrollment__Port: '0', Console__Port: '0' }

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function tempDir(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-cli-'))
  cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }))
  return dir
}

/** runCli in this process; stopSignal resolves at once so a started server stops straight away. */
async function runInProcess(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env: { ...PORTS_ANY, ...env }, stopSignal: async () => 'TEST' }
  const code = await runCli(argv, io)
  return { code, out, err }
}

describe('fedgate serve (child process)', () => {
  it('starts on an empty data dir, prints the setup token and URL, serves the API, stops cleanly on SIGTERM', async () => {
    const dataDir = path.join(await tempDir(), 'data')
    const env: NodeJS.ProcessEnv = { ...process.env, ...PORTS_ANY }
    delete env.FEDGATE_ADMIN_PASSWORD
    const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

    await waitFor(() => /Fedgate console: /.test(stdout) || child.exitCode !== null, 20_000)
    const url = /Fedgate console: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout)?.[1]
    expect(url, stdout + stderr).toBeDefined()
    const setupToken = /Setup token[^\n]*: ([A-Za-z0-9_-]{20,})$/m.exec(stdout)?.[1]
    expect(setupToken).toBeDefined()
    // The token goes to the operator's terminal only, never into the log.
    expect(stderr).not.toContain(setupToken)
    for (const name of ['appsettings.json', 'db.json', 'pki']) expect(fs.existsSync(path.join(dataDir, name)), name).toBe(true)

    const call = async (
      method: string,
      args: unknown,
      token?: string
    ): Promise<{ ok: boolean; result?: any; error?: { code: string } }> => {
      const res = await fetch(`${url}api/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(args)
      })
      return (await res.json()) as { ok: boolean; result?: unknown; error?: { code: string } }
    }
    expect((await call('getSetupState', {})).result).toMatchObject({ needsFirstAdmin: true })
    const wrong = await call('setupFirstAdmin', { setupToken: 'x'.repeat(24), username: 'root', password: 'a long enough password 9' })
    expect(wrong.ok).toBe(false)
    const first = await call('setupFirstAdmin', { setupToken, username: 'root', password: 'a long enough password 9' })
    expect(first.ok).toBe(true)
    const org = await call('createOrganization', { name: 'Persisted' }, first.result.token)
    expect(org.ok).toBe(true)

    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(stdout).toContain('Fedgate stopped.')
    // The store was flushed before exit.
    const db = JSON.parse(await fsp.readFile(path.join(dataDir, 'db.json'), 'utf8')) as {
      users: { username: string }[]
      organizations: { name: string }[]
    }
    expect(db.users.map((u) => u.username)).toEqual(['root'])
    expect(db.organizations.map((o) => o.name)).toContain('Persisted')
  })
})

describe('fedgate serve failures (in process)', () => {
  it('a data dir in use by another gateway → exit 2 with one clear line', async () => {
    const dataDir = await tempDir()
    let running: TestGateway | null = await startTestGateway({ dataDir })
    cleanups.push(async () => {
      await running?.stop()
      running = null
    })
    const { code, err, out } = await runInProcess(['serve', '--data', dataDir, '--port', '0'])
    expect(code).toBe(2)
    expect(out.join('\n')).not.toContain('Fedgate console:')
    const last = err.at(-1)!
    expect(last).toMatch(/^fedgate: Another Fedgate \(process \d+\) is already using this data directory/)
    expect(last).not.toContain('\n')
  })

  it('a broken appsettings.json → exit 2 naming the file', async () => {
    const dataDir = await tempDir()
    await fsp.writeFile(path.join(dataDir, 'appsettings.json'), '{ "Console": { "Port": "seventy" ')
    const { code, err } = await runInProcess(['serve', '--data', dataDir])
    expect(code).toBe(2)
    expect(err.at(-1)).toMatch(/^fedgate: .*appsettings\.json/)
    expect(err.at(-1)).not.toContain('\n')
  })

  it('FEDGATE_DATA chooses the data dir; --port 0 picks a free port; the setup token is printed once', async () => {
    const dataDir = path.join(await tempDir(), 'from-env')
    const { code, out } = await runInProcess(['serve', '--port', '0'], { FEDGATE_DATA: dataDir })
    expect(code).toBe(0)
    expect(out).toContain(`Fedgate data: ${dataDir}`)
    expect(out.some((l) => /^Fedgate console: http:\/\/127\.0\.0\.1:\d+\/$/.test(l))).toBe(true)
    expect(out.filter((l) => /Setup token/.test(l))).toHaveLength(1)
    expect(fs.existsSync(path.join(dataDir, 'db.json'))).toBe(true)
  })

  it('lists every listening port with its setting and address, then the setup token last, framed', async () => {
    const dataDir = await tempDir()
    const env = { Federation__AdvertisedHostname: 'tak.example.com', Federation__OurFederateId: 'fg-cli' }
    const { code, out } = await runInProcess(['serve', '--data', dataDir, '--port', '0'], env)
    expect(code).toBe(0)
    const started = out.slice(0, out.indexOf('Fedgate stopped.'))
    const listed = started.slice(started.indexOf('Listening:') + 1, started.indexOf('Listening:') + 6)
    for (const [setting, host] of [
      ['Console:Port', '127.0.0.1'],
      ['Streaming:TlsPort', '0.0.0.0'],
      ['Enrollment:Port', '0.0.0.0'],
      ['Marti:Port', '0.0.0.0'],
      ['Federation:Port', '0.0.0.0']
    ] as const) {
      const row = listed.find((l) => l.includes(` ${setting} `))
      expect(row, `${setting} in\n${started.join('\n')}`).toMatch(
        new RegExp(`^  \\S.* ${setting} +${host.replaceAll('.', '\\.')}:[1-9]\\d*$`)
      )
    }
    // The token closes the start-up output, between two rules, on a line of its own that ends with it.
    const rule = started.at(-1)!
    expect(rule).toMatch(/^={40,}$/)
    const block = started.slice(started.indexOf(rule), -1)
    expect(block.some((l) => /^ {2}Setup token: [A-Za-z0-9_-]{20,}$/.test(l))).toBe(true)
    expect(started.indexOf(rule)).toBeGreaterThan(started.findIndex((l) => l.startsWith('Fedgate console: ')))
  })

  it('says federation is off, and why, in the list of ports', async () => {
    const { out } = await runInProcess(['serve', '--data', await tempDir(), '--port', '0'])
    expect(out.find((l) => l.includes(' Federation:Port '))).toMatch(
      /off until Federation:AdvertisedHostname and Federation:OurFederateId are set$/
    )
  })

  it('FEDGATE_ADMIN_PASSWORD creates the admin, so no setup token is printed', async () => {
    const dataDir = await tempDir()
    const { code, out } = await runInProcess(['serve', '--data', dataDir, '--port', '0'], {
      FEDGATE_ADMIN_PASSWORD: 'a long enough password 3'
    })
    expect(code).toBe(0)
    expect(out.some((l) => /Setup token/.test(l))).toBe(false)
  })

  it('bad arguments and commands → exit 1 with usage; version prints the package version', async () => {
    expect((await runInProcess(['serve', '--port', 'eighty'])).code).toBe(1)
    const colour = await runInProcess(['serve', '--colour'])
    expect(colour.code).toBe(1)
    expect(colour.err[0]).toMatch(
      /^fedgate serve: there is no option --colour; serve takes --data DIR, --port N and --host ADDRESS\.\nUsage:/
    )
    const typo = await runInProcess(['serve', '--prot', '8080'])
    expect(typo.err[0]).toMatch(/^fedgate serve: there is no option --prot \(did you mean --port\?\);/)
    const unknown = await runInProcess(['launch'])
    expect(unknown.code).toBe(1)
    expect(unknown.err.join('\n')).toContain("unknown command 'launch'")
    const version = await runInProcess(['version'])
    const pkg = JSON.parse(await fsp.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(version).toMatchObject({ code: 0, out: [`fedgate ${pkg.version}`] })
  })

  it('a busy console port → exit 2 saying so, and the gateway is stopped (data dir unlocked)', async () => {
    const dataDir = await tempDir()
    const net = await import('node:net')
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())))
    const busyPort = (blocker.address() as { port: number }).port
    const { code, err } = await runInProcess(['serve', '--data', dataDir, '--port', String(busyPort)])
    expect(code).toBe(2)
    expect(err.at(-1)).toContain(`port ${busyPort} on 127.0.0.1 is already in use (Console:Port)`)
    // The lock is released: the same directory starts again.
    expect((await runInProcess(['serve', '--data', dataDir, '--port', '0'])).code).toBe(0)
  })
})

describe('a busy gateway port (in process)', () => {
  it('names the setting that chose it, for every listener, and stops the gateway', async () => {
    const dataDir = await tempDir()
    const net = await import('node:net')
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())))
    const busyPort = String((blocker.address() as { port: number }).port)
    const federating = { Federation__AdvertisedHostname: 'tak.example.com', Federation__OurFederateId: 'fg-cli' }
    for (const [section, key] of [
      ['Marti', 'Port'],
      ['Streaming', 'TlsPort'],
      ['Enrollment', 'Port'],
      ['Federation', 'Port']
    ] as const) {
      const env = { ...federating, [`${section}__${key}`]: busyPort, [`${section}__BindAddress`]: '127.0.0.1' }
      const { code, err } = await runInProcess(['serve', '--data', dataDir, '--port', '0'], env)
      expect(code, err.join('\n')).toBe(2)
      expect(err.at(-1)).toBe(
        `fedgate: port ${busyPort} on 127.0.0.1 is already in use (${section}:${key}); stop what uses it or set another ${section}:${key} ` +
          `in ${path.join(dataDir, 'appsettings.json')} (or ${section}__${key} in the environment).`
      )
    }
    // The data directory was released each time.
    expect((await runInProcess(['serve', '--data', dataDir, '--port', '0'], federating)).code).toBe(0)
  })
})

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 25))
  }
}
