// `fedgate`: the headless product (`fedgate serve`: gateway + web console) and small admin commands.
// bin/fedgate.mjs registers tsx and calls runCli(); nothing runs on import, so tests can call runCli() directly.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { addressInUse, listeningReport, portInUseSentence, setupTokenBlock } from './cli-report.ts'
import { closestKey } from './config/env.ts'
import { loadSettings, SettingsError } from './config/settings.ts'
import { isLoopbackHost, startConsoleServer, type ConsoleServer } from './console/server.ts'
import { serverTls } from './pki/server-identity.ts'
import { startGateway, type Gateway } from './index.ts'
import { createLogger } from './log.ts'
import { StoreLockedError } from './store/lock.ts'
import { StoreFormatError } from './store/migrate.ts'

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Where `fedgate serve` keeps its data without --data or FEDGATE_DATA: next to where it was started. */
const DEFAULT_DATA_DIR = '.fedgate-data'

export interface CliIo {
  out(line: string): void
  err(line: string): void
  env: NodeJS.ProcessEnv
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  stopSignal(): Promise<string>
}

const USAGE = `Usage:
  fedgate serve [--data DIR] [--port N] [--host ADDRESS]
      Run the gateway and the web console. DIR defaults to $FEDGATE_DATA or ./${DEFAULT_DATA_DIR}.
      --port / --host override Console:Port / Console:BindAddress (0 = any free port; non-loopback needs TLS, used automatically).
  fedgate version
  fedgate help`

function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    stopSignal: () =>
      new Promise((resolve) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          // A second Ctrl-C means "now": do not wait for a slow shutdown.
          process.once('SIGINT', () => process.exit(130))
          process.once('SIGTERM', () => process.exit(143))
          resolve(signal)
        }
        process.once('SIGINT', onSignal)
        process.once('SIGTERM', onSignal)
      })
  }
}

/** Runs one command; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'serve':
      return serve(rest, io)
    case 'version':
    case '--version':
    case '-v':
      io.out(readVersion())
      return 0
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE)
      return command === undefined ? 1 : 0
    default:
      io.err(`fedgate: unknown command '${command}'.\n${USAGE}`)
      return 1
  }
}

function readVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
  return `fedgate ${pkg.version}`
}

const SERVE_OPTIONS = { data: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } } as const

/** Why `args` are not serve's: the unknown option by name (with the one probably meant), else parseArgs' own words. */
function badServeArguments(args: string[], err: Error): string {
  const { tokens } = parseArgs({ args, options: SERVE_OPTIONS, strict: false, allowPositionals: true, tokens: true })
  const unknown = tokens.find((t) => t.kind === 'option' && !Object.hasOwn(SERVE_OPTIONS, t.name))
  if (unknown?.kind !== 'option') return err.message
  const meant = closestKey(unknown.name, Object.keys(SERVE_OPTIONS))
  return `there is no option ${unknown.rawName}${meant ? ` (did you mean --${meant}?)` : ''}; serve takes --data DIR, --port N and --host ADDRESS.`
}

async function serve(args: string[], io: CliIo): Promise<number> {
  let values: { data?: string; port?: string; host?: string }
  try {
    values = parseArgs({ args, options: SERVE_OPTIONS, strict: true, allowPositionals: false }).values
  } catch (err) {
    io.err(`fedgate serve: ${badServeArguments(args, err as Error)}\n${USAGE}`)
    return 1
  }
  let portOverride: number | undefined
  if (values.port !== undefined) {
    portOverride = Number(values.port)
    if (!/^\d+$/.test(values.port) || portOverride > 65_535) {
      io.err(`fedgate serve: --port must be a number from 0 to 65535, not '${values.port}'.`)
      return 1
    }
  }
  const dataDir = path.resolve(values.data ?? (io.env.FEDGATE_DATA || DEFAULT_DATA_DIR))
  const log = createLogger((line) => io.err(line))

  let gateway: Gateway
  try {
    fs.mkdirSync(dataDir, { recursive: true })
    gateway = await startGateway({ dataDir, env: io.env, log })
  } catch (err) {
    io.err(`fedgate: ${startFailure(err, dataDir, io.env)}`)
    return 2
  }

  const { services } = gateway
  const host = values.host ?? services.settings.Console.BindAddress
  const port = portOverride ?? services.settings.Console.Port
  let consoleServer: ConsoleServer
  try {
    consoleServer = await startConsoleServer({
      services,
      port,
      host,
      tls: isLoopbackHost(host) ? undefined : () => serverTls(services.pki),
      staticDir: path.join(PACKAGE_ROOT, 'dist-web'),
      log
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason =
      code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use (Console:Port); stop what uses it or choose another with --port, or Console:Port in ${services.settingsPath}.`
        : code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this machine; fix --host or Console:BindAddress in ${services.settingsPath}.`
          : (err as Error).message
    io.err(`fedgate: the console could not start: ${reason}`)
    await gateway.stop()
    return 2
  }
  services.ports.console = consoleServer.port

  io.out(`Fedgate data: ${dataDir}`)
  for (const line of listeningReport(services, host)) io.out(line)
  io.out(`Fedgate console: ${consoleServer.url}`)
  // Last, so it is not scrolled away by what comes before it.
  if (gateway.setupToken) for (const line of setupTokenBlock(gateway.setupToken, consoleServer.url)) io.out(line)

  const signal = await io.stopSignal()
  log.info(`${signal}: stopping`)
  await consoleServer.close()
  await gateway.stop()
  io.out('Fedgate stopped.')
  return 0
}

/** One sentence for the operator about why the gateway did not start. */
function startFailure(err: unknown, dataDir: string, env: NodeJS.ProcessEnv): string {
  if (err instanceof StoreLockedError) return err.message
  if (err instanceof SettingsError) return `${err.file} has problems: ${err.problems.join('; ')}`
  if (err instanceof StoreFormatError) return err.message
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EACCES' || code === 'EPERM')
    return `cannot write to the data directory ${dataDir}; choose another with --data or FEDGATE_DATA.`
  const inUse = addressInUse(err)
  if (inUse) {
    const settingsFile = path.join(dataDir, 'appsettings.json')
    let sentence: string | null = null
    try {
      // They loaded before a listener failed, so they load again (the error does not say which listener it was).
      sentence = portInUseSentence(inUse, loadSettings(dataDir, env).settings, settingsFile)
    } catch {
      // Then the plain sentence below.
    }
    return sentence ?? `port ${inUse.port} is already in use; change it in ${settingsFile}.`
  }
  return err instanceof Error ? err.message : String(err)
}
