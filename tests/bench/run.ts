// `npm run bench`: the routing benchmark of issue 7. For each scenario it starts our router and the naive baseline in
// turn, each alone in a child process, drives it from a load-generator child process over mutual TLS, and prints
// ours, the baseline's and the ratio per figure, then one JSON line with everything. Flags: see `usage` below.

import { fork, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LocalLink } from '../../gateway/routing/types.ts'
import { testPki } from '../support/pki.ts'
import { checkMarkerReader, pliBytes } from './pli.ts'
import type {
  BenchDevice,
  FromFedHost,
  FromGatewayHost,
  FromLoadGenerator,
  GatewayReport,
  LoadConnection,
  LoadPhase,
  RouterKind,
  RunFigures,
  StormFigures,
  ToFedHost,
  ToGatewayHost,
  ToLoadGenerator
} from './messages.ts'

const usage = `npm run bench -- [--quick] [--devices N] [--rate HZ] [--seconds S] [--overload-seconds S] [--stuck-seconds S] [--storm N] [--fed-rate HZ] [--fed-devices N] [--fed-link-rate HZ]
                    [--repeat K] [--syscalls] [--pin] [--only broadcast,federated,stuck,storm,rss,overload,idle,fedv2,fedlink] [--routers ours,naive,floor]`

const here = path.dirname(fileURLToPath(import.meta.url))
const MiB = 1024 * 1024
const PLI_BYTES = pliBytes(1, 1, 1).length

// ---- flags ----

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? undefined : process.argv[at + 1]
}
if (process.argv.includes('--help')) {
  console.log(usage)
  process.exit(0)
}
const quick = process.argv.includes('--quick')
const numberFlag = (name: string, fallback: number): number => {
  const value = flag(name)
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number\n${usage}`)
  return n
}
const params = {
  devices: Math.round(numberFlag('devices', quick ? 200 : 400)),
  rate: numberFlag('rate', 1),
  seconds: numberFlag('seconds', quick ? 1.5 : 15),
  overloadSeconds: numberFlag('overload-seconds', quick ? 1.5 : 30),
  probeSeconds: quick ? 1 : 2,
  /** Long enough that the stuck receiver is offered more than the kernel's socket buffers hold (~4-6 MiB on loopback). */
  stuckSeconds: numberFlag('stuck-seconds', quick ? 2 : 25),
  recoverySeconds: quick ? 1.5 : 8,
  storm: Math.round(numberFlag('storm', quick ? 200 : 1000)),
  /** Fed v2: devices per gateway, each sending at fedRate Hz; events/s each way = fedDevices x fedRate. */
  fedDevices: numberFlag('fed-devices', 4),
  fedRate: numberFlag('fed-rate', quick ? 500 : 2500),
  /** Fed v2, link only (scenario fedlink): one device per gateway at this rate, so the link carries it each way. */
  fedLinkRate: numberFlag('fed-link-rate', quick ? 2000 : 20_000),
  stormPositions: quick ? 20 : 100,
  certsPerNetwork: 8
}
/** Federated, stuck receiver and idle latency runs. */
const shortSeconds = quick ? params.seconds : Math.max(5, Math.round((params.seconds * 2) / 3))
const warmupMs = quick ? 500 : 3000
const allScenarios = ['broadcast', 'federated', 'stuck', 'storm', 'rss', 'idle', 'fedv2', 'fedlink', 'overload']
const only = (flag('only') ?? allScenarios.join(',')).split(',')
/**
 * 'ours', 'naive', 'floor' or 'ours+<experiment>' (queue-variants.ts), e.g. --routers ours,ours+tick:2,naive. The floor
 * (naive-router.ts without its parse) runs in the latency scenarios only: broadcast, federated and idle.
 */
type Contender = string
const routers: Contender[] = (flag('routers') ?? 'ours,naive,floor').split(',')
/** Scenarios in which the floor means something (it keeps no positions for a storm, and caps no queue). */
const FLOOR_SCENARIOS = new Set(['broadcast', 'federated', 'idle'])
const repeat = Math.round(numberFlag('repeat', 1))
/** Count the gateway's write/read system calls with `perf stat` (Linux, perf installed): a noise-proof view of batching. */
const countSyscalls = process.argv.includes('--syscalls')
/**
 * One-gateway scenarios: the gateway on CPU 0, the load generator on CPU 1 (`taskset`, util-linux). Unpinned, the
 * scheduler often wakes the load generator on the gateway's core in the middle of a fan-out (the waker's core), and
 * both share it while the other idles: a 399-socket fan-out then took 5.1 ms of wall time for 3.5 ms of CPU here.
 * A diagnostic, off by default: the targets are for the load generator sharing the cores however the kernel likes.
 */
const pin = process.argv.includes('--pin')
for (const name of only) if (!allScenarios.includes(name)) throw new Error(`Unknown scenario ${name}\n${usage}`)
for (const name of routers)
  if (name !== 'ours' && name !== 'naive' && name !== 'floor' && !name.startsWith('ours+'))
    throw new Error(`Unknown router ${name}\n${usage}`)
const routerOf = (contender: Contender): RouterKind => (contender === 'naive' || contender === 'floor' ? contender : 'ours')
const queueVariantOf = (contender: Contender): string | null =>
  contender.startsWith('ours+') ? contender.slice('ours+'.length) : contender === 'ours' ? (process.env.BENCH_QUEUE_VARIANT ?? null) : null

// ---- child processes ----

class Child<In, Out extends { type: string }> {
  private readonly inbox: Out[] = []
  private waiter: (() => void) | null = null
  readonly process: ChildProcess

  /** @param cpu run it on this core only (--pin) */
  constructor(file: string, extraNodeFlags: string[] = [], cpu: number | null = null) {
    const execArgv = file.endsWith('.mjs') ? extraNodeFlags : ['--import', 'tsx', ...extraNodeFlags]
    const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc']
    this.process =
      cpu === null
        ? fork(path.resolve(here, file), [], { execArgv, stdio })
        : spawn('taskset', ['--cpu-list', String(cpu), process.execPath, ...execArgv, path.resolve(here, file)], { stdio })
    this.process.on('message', (message) => {
      this.inbox.push(message as Out)
      this.waiter?.()
    })
    this.process.on('exit', () => this.waiter?.())
  }

  send(message: In): void {
    this.process.send(message as object)
  }

  async next<T extends Out['type']>(type: T, timeoutMs = 180_000): Promise<Extract<Out, { type: T }>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const at = this.inbox.findIndex((m) => m.type === type)
      if (at !== -1) return this.inbox.splice(at, 1)[0] as Extract<Out, { type: T }>
      if (this.process.exitCode !== null || this.process.signalCode !== null)
        throw new Error(`A benchmark child process exited while waiting for '${type}'`)
      if (Date.now() > deadline) throw new Error(`A benchmark child process did not answer '${type}' in time`)
      await new Promise<void>((resolve) => {
        this.waiter = resolve
        setTimeout(resolve, 1000)
      })
      this.waiter = null
    }
  }

  async ask<T extends Out['type']>(message: In, type: T, timeoutMs?: number): Promise<Extract<Out, { type: T }>> {
    this.send(message)
    return this.next(type, timeoutMs)
  }

  async stop(message: In, type: Out['type']): Promise<void> {
    if (this.process.exitCode !== null) return
    try {
      await this.ask(message, type, 10_000)
    } catch {
      this.process.kill('SIGKILL')
    }
  }
}

type Host = Child<ToGatewayHost, FromGatewayHost>

/**
 * The gateway process runs a bundle made with esbuild (as the product runs compiled code): under tsx it would carry
 * the loader's ~35 MiB, which would blur the RSS figures. Falls back to tsx when esbuild is not there (--tsx-gateway forces it).
 */
async function bundleGatewayHost(): Promise<{ file: string; dir: string | null }> {
  if (process.argv.includes('--tsx-gateway')) return { file: 'gateway-host.ts', dir: null }
  try {
    const esbuild = await import('esbuild')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-bench-'))
    const file = path.join(dir, 'gateway-host.mjs')
    await esbuild.build({
      entryPoints: [path.join(here, 'gateway-host.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: file,
      logLevel: 'error',
      banner: {
        js: "import { createRequire as benchCreateRequire } from 'node:module'; const require = benchCreateRequire(import.meta.url);"
      }
    })
    // gateway/cot/proto.ts reads its .proto next to itself: give the bundle the same layout.
    fs.cpSync(path.join(here, '../../gateway/cot/proto'), path.join(dir, 'proto'), { recursive: true })
    return { file, dir }
  } catch (error) {
    console.log(
      `(could not bundle the gateway host with esbuild, running it under tsx: ${error instanceof Error ? error.message : String(error)})`
    )
    return { file: 'gateway-host.ts', dir: null }
  }
}
const gatewayHost = await bundleGatewayHost()
// Also when a scenario throws: the bundle's temp dir goes with the process.
process.once('exit', () => {
  if (gatewayHost.dir) fs.rmSync(gatewayHost.dir, { recursive: true, force: true })
})
type Load = Child<ToLoadGenerator, FromLoadGenerator>

// ---- identities ----

checkMarkerReader()

const pkiStartedAt = performance.now()
const pki = await testPki({ reuseDeviceKeys: true })
const devices: BenchDevice[] = []
for (const networkId of ['net-a', 'net-b']) {
  for (let i = 0; i < params.certsPerNetwork; i++) {
    const callsign = `bench-${networkId}-${i}`
    const issued = await pki.device(callsign, 30)
    devices.push({
      deviceId: `dev-${networkId}-${i}`,
      networkId,
      callsign,
      fingerprint: issued.fingerprint,
      certPem: issued.certPem,
      keyPem: issued.keyPem
    })
  }
}
const stuckIssued = await pki.device('bench-stuck', 30)
const stuckDevice: BenchDevice = {
  deviceId: 'dev-stuck',
  networkId: 'net-a',
  callsign: 'bench-stuck',
  fingerprint: stuckIssued.fingerprint,
  certPem: stuckIssued.certPem,
  keyPem: stuckIssued.keyPem
}
devices.push(stuckDevice)
const identityIndex = (networkId: string, n: number): number =>
  devices.findIndex((d) => d.deviceId === `dev-${networkId}-${n % params.certsPerNetwork}`)
const stuckIdentity = devices.indexOf(stuckDevice)
const serverTls = { key: pki.pki.server.keyPem, cert: pki.pki.server.certPem, ca: pki.pki.caCertPem }
const pkiMs = performance.now() - pkiStartedAt

const bothWays = (a: string, b: string): LocalLink[] => [
  { federationId: 'bench-fed', from: a, to: b, cot: true, packages: false },
  { federationId: 'bench-fed', from: b, to: a, cot: true, packages: false }
]

async function startPair(contender: Contender, links: LocalLink[], watchDeviceId: string | null): Promise<{ host: Host; load: Load }> {
  // BENCH_GATEWAY_FLAGS: extra Node flags for the gateway processes only (e.g. --cpu-prof, --trace-gc) when digging.
  const host: Host = new Child(gatewayHost.file, (process.env.BENCH_GATEWAY_FLAGS ?? '').split(' ').filter(Boolean), pin ? 0 : null)
  if (!sharedLoad || sharedLoad.process.exitCode !== null || sharedLoad.process.signalCode !== null)
    sharedLoad = new Child('load-generator.ts', [], pin ? 1 : null)
  const load = sharedLoad
  const config = { router: routerOf(contender), queueVariant: queueVariantOf(contender), tls: serverTls, devices, links, watchDeviceId }
  const { port } = await host.ask({ type: 'start', config }, 'ready')
  await load.ask(
    { type: 'start', port, ca: pki.pki.caCertPem, identities: devices.map((d) => ({ certPem: d.certPem, keyPem: d.keyPem })) },
    'started'
  )
  return { host, load }
}

/** One load generator for the whole invocation; each scenario resets its connections. */
let sharedLoad: Load | null = null

async function stopPair(pair: { host: Host; load: Load }): Promise<void> {
  try {
    await pair.load.ask({ type: 'reset' }, 'reset', 30_000)
  } catch {
    pair.load.process.kill('SIGKILL')
    sharedLoad = null
  }
  await pair.host.stop({ type: 'stop' }, 'stopped')
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** perf stat on one process; stop() resolves the counts of the syscalls named. */
function syscallCounter(pid: number | undefined): { stop(): Promise<Record<string, number>> } | null {
  if (!countSyscalls || pid === undefined) return null
  const events = ['write', 'writev', 'read', 'epoll_pwait', 'epoll_wait'].map((name) => `syscalls:sys_enter_${name}`)
  const perf = spawn('perf', ['stat', '-x', ',', '-e', events.join(','), '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
  let output = ''
  perf.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  perf.on('error', () => {})
  return {
    stop: () =>
      new Promise((resolve) => {
        perf.once('close', () => {
          const counts: Record<string, number> = {}
          for (const line of output.split('\n')) {
            const [value, , event] = line.split(',')
            const name = event?.replace('syscalls:sys_enter_', '')
            if (name && value && /^\d+$/.test(value)) counts[name] = Number(value)
          }
          resolve(counts)
        })
        perf.kill('SIGINT')
      })
  }
}

/** Busy and total CPU time of the whole machine (Linux /proc/stat), to show how much other processes took. */
function machineCpuMs(): { busy: number; total: number } | null {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    const tick = 10 // USER_HZ is 100 on Linux
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0)
    return { busy: (total - idle) * tick, total: total * tick }
  } catch {
    return null
  }
}

// ---- scenarios ----

/** What a gateway that stopped answering reports: every figure unknown. */
const unansweredReport: GatewayReport = {
  elapsedMs: NaN,
  cpuUserMs: NaN,
  cpuSystemMs: NaN,
  peakRssBytes: NaN,
  peakKernelTcpBytes: NaN,
  rssBytes: NaN,
  heapUsedBytes: NaN,
  externalBytes: NaN,
  drops: NaN,
  deliveries: NaN,
  eventsIn: NaN,
  connections: NaN,
  watchedQueueMaxBytes: NaN,
  anyQueueMaxBytes: NaN,
  rssTimeline: [],
  loopDelayP99Ms: NaN,
  loopDelayMaxMs: NaN
}

interface LoadResult {
  run: RunFigures
  gateway: GatewayReport
  loadCpuMs: number
  connectMs: number
  connectFailures: number
  /** CPU the rest of the machine used during the run, in % of one core (noise from other processes). */
  otherCpuPercent: number
  /** --syscalls: the gateway's system calls during the run. */
  syscallCounts: Record<string, number> | null
  /** The probe's best deliveries/s (capacity), when the scenario probed first. */
  probed: number | null
}

async function loadScenario(
  router: Contender,
  options: {
    networks: string[]
    links: LocalLink[]
    stuck: boolean
    phases: LoadPhase[]
    warmupMs: number
    /** Run these first on the same connections (unless `known`); the main phases are made from their best deliveries/s. */
    probe?: { phases: LoadPhase[]; known: number | null; then: (bestDeliveriesPerSecond: number) => LoadPhase[] }
  }
): Promise<LoadResult> {
  const pair = await startPair(router, options.links, options.stuck ? stuckDevice.deviceId : null)
  try {
    const specs: LoadConnection[] = Array.from({ length: params.devices }, (_, i) => ({
      identity: identityIndex(options.networks[i % options.networks.length]!, Math.floor(i / options.networks.length)),
      source: i,
      sends: true,
      stuck: false
    }))
    if (options.stuck) specs.push({ identity: stuckIdentity, source: params.devices, sends: false, stuck: true })
    const connected = await pair.load.ask({ type: 'connect', connections: specs, concurrency: 32 }, 'connected')
    await sleep(300)
    let phases = options.phases
    let probed: number | null = null
    if (options.probe) {
      probed = options.probe.known
      if (probed === null) {
        const probe = await pair.load.ask({ type: 'run', phases: options.probe.phases, warmupMs: 0, drainMs: 10_000 }, 'ran', 600_000)
        probed = Math.max(...probe.figures.phases.map((p) => p.deliveriesPerSecond))
        await sleep(1000)
      }
      phases = options.probe.then(probed)
    }
    pair.host.send({ type: 'mark', at: Date.now() })
    const machineBefore = machineCpuMs()
    const syscalls = syscallCounter(pair.host.process.pid)
    const ran = await pair.load.ask({ type: 'run', phases, warmupMs: options.warmupMs, drainMs: 10_000 }, 'ran', 600_000)
    // An overloaded naive router can block its event loop for minutes: its figures are then unknown, not a crash.
    const report = await pair.host.ask({ type: 'report' }, 'report', 60_000).then(
      (answer) => answer.report,
      () => unansweredReport
    )
    const machineAfter = machineCpuMs()
    const syscallCounts = (await syscalls?.stop()) ?? null
    // Whatever the machine spent beyond the gateway and the load generator (other users' builds and tests, the kernel).
    const otherCpuPercent =
      machineBefore && machineAfter
        ? Math.max(
            0,
            (100 * (machineAfter.busy - machineBefore.busy - report.cpuUserMs - report.cpuSystemMs - ran.cpuMs)) / report.elapsedMs
          )
        : NaN
    return {
      run: ran.figures,
      gateway: report,
      loadCpuMs: ran.cpuMs,
      connectMs: connected.ms,
      connectFailures: connected.failures,
      otherCpuPercent,
      syscallCounts,
      probed
    }
  } finally {
    await stopPair(pair)
  }
}

interface StormResult {
  storm: StormFigures
  gateway: GatewayReport
  rssBeforeBytes: number
  idleRssBytes: number
  idleConnections: number
}

async function stormScenario(router: Contender): Promise<StormResult> {
  const pair = await startPair(router, [], null)
  try {
    const positions: LoadConnection[] = Array.from({ length: params.stormPositions }, (_, i) => ({
      identity: identityIndex('net-a', i),
      source: i,
      sends: true,
      stuck: false
    }))
    await pair.load.ask({ type: 'connect', connections: positions, concurrency: 32 }, 'connected')
    await pair.load.ask({ type: 'run', phases: [{ rate: 1, ms: 1000 }], warmupMs: 0, drainMs: 2000 }, 'ran')
    await sleep(500)
    const { report: before } = await pair.host.ask({ type: 'report' }, 'report')
    pair.host.send({ type: 'mark', at: Date.now() })
    const stormers: LoadConnection[] = Array.from({ length: params.storm }, (_, i) => ({
      identity: identityIndex('net-a', i),
      source: params.stormPositions + i,
      sends: false,
      stuck: false
    }))
    const { figures } = await pair.load.ask(
      { type: 'storm', connections: stormers, expectSources: params.stormPositions, timeoutMs: 30_000 },
      'storm',
      120_000
    )
    const { report: gateway } = await pair.host.ask({ type: 'report' }, 'report')
    await sleep(2000)
    const { report: idle } = await pair.host.ask({ type: 'report' }, 'report')
    return { storm: figures, gateway, rssBeforeBytes: before.rssBytes, idleRssBytes: idle.rssBytes, idleConnections: idle.connections }
  } finally {
    await stopPair(pair)
  }
}

interface IdleResult {
  before: GatewayReport
  idle: GatewayReport
  connectMs: number
  failures: number
}

/** 1,000 devices connected at a steady pace (no storm), doing nothing: the gateway's memory per idle connection. */
async function idleRssScenario(router: Contender): Promise<IdleResult> {
  const pair = await startPair(router, [], null)
  try {
    await sleep(500)
    const { report: before } = await pair.host.ask({ type: 'report' }, 'report')
    const specs: LoadConnection[] = Array.from({ length: params.storm }, (_, i) => ({
      identity: identityIndex('net-a', i),
      source: i,
      sends: false,
      stuck: false
    }))
    const connected = await pair.load.ask({ type: 'connect', connections: specs, concurrency: 16 }, 'connected', 120_000)
    await sleep(2000)
    const { report: idle } = await pair.host.ask({ type: 'report' }, 'report')
    return { before, idle, connectMs: connected.ms, failures: connected.failures }
  } finally {
    await stopPair(pair)
  }
}

interface FedResult {
  run: RunFigures
  a: GatewayReport
  b: GatewayReport
  loadCpuMs: number
  dropsByReason: Record<string, number>
  /** Per gateway: A accepts the link (server role), B dials it (client role). */
  dropsBySide: { a: Record<string, number>; b: Record<string, number> }
}

/**
 * Two whole gateways (each its own process, CA and TAK federation), B dialing A over fed v2 on loopback; fedDevices
 * devices on each send PLIs at fedRate, so each direction carries fedDevices x fedRate events/s. Every device also
 * gets its own side's events (local broadcast); "across" figures count only what crossed the link.
 */
async function fedScenario(devices: number, rate: number): Promise<FedResult> {
  const gatewayFlags = (process.env.BENCH_GATEWAY_FLAGS ?? '').split(' ').filter(Boolean)
  const a = new Child<ToFedHost, FromFedHost>('fed-gateway-host.ts', gatewayFlags)
  const b = new Child<ToFedHost, FromFedHost>('fed-gateway-host.ts', gatewayFlags)
  const load: Load = new Child('load-generator.ts')
  try {
    const [readyA, readyB] = await Promise.all([
      a.ask({ type: 'start', federateId: 'bench-a', devices }, 'ready', 120_000),
      b.ask({ type: 'start', federateId: 'bench-b', devices }, 'ready', 120_000)
    ])
    await a.ask({ type: 'peer', fingerprint: readyB.federationFingerprint, dial: null }, 'peered')
    await b.ask(
      { type: 'peer', fingerprint: readyA.federationFingerprint, dial: { address: '127.0.0.1', port: readyA.federationPort } },
      'peered'
    )
    const [linkA, linkB] = await Promise.all([
      a.ask({ type: 'waitConnected', timeoutMs: 20_000 }, 'connected'),
      b.ask({ type: 'waitConnected', timeoutMs: 20_000 }, 'connected')
    ])
    if (!linkA.ok || !linkB.ok)
      throw new Error(`The fed v2 link did not come up: ${linkB.lastError ?? linkA.lastError ?? 'no error reported'}`)
    const identities = [
      ...readyA.identities.map((i) => ({ ...i, ca: readyA.ca })),
      ...readyB.identities.map((i) => ({ ...i, ca: readyB.ca }))
    ]
    await load.ask({ type: 'start', port: readyA.streamingPort, ca: readyA.ca, identities }, 'started')
    const specs: LoadConnection[] = []
    for (const [group, ready] of [readyA, readyB].entries()) {
      for (let i = 0; i < devices; i++) {
        const index = group * devices + i
        specs.push({ identity: index, source: index, sends: true, stuck: false, port: ready.streamingPort, group })
      }
    }
    await load.ask({ type: 'connect', connections: specs, concurrency: 8 }, 'connected')
    await sleep(500)
    a.send({ type: 'mark', at: Date.now() })
    b.send({ type: 'mark', at: Date.now() })
    const ran = await load.ask(
      { type: 'run', phases: [{ rate, ms: shortSeconds * 1000 }], warmupMs, drainMs: 10_000, sourceGroups: specs.map((s) => s.group ?? 0) },
      'ran',
      600_000
    )
    const [reportA, reportB] = await Promise.all([a.ask({ type: 'report' }, 'report'), b.ask({ type: 'report' }, 'report')])
    const dropsByReason: Record<string, number> = {}
    for (const drops of [reportA.fed.dropsByReason, reportB.fed.dropsByReason])
      for (const [k, v] of Object.entries(drops)) dropsByReason[k] = (dropsByReason[k] ?? 0) + v
    return {
      run: ran.figures,
      a: reportA.report,
      b: reportB.report,
      loadCpuMs: ran.cpuMs,
      dropsByReason,
      dropsBySide: { a: reportA.fed.dropsByReason, b: reportB.fed.dropsByReason }
    }
  } finally {
    await load.stop({ type: 'stop' }, 'stopped')
    await Promise.all([a.stop({ type: 'stop' }, 'stopped'), b.stop({ type: 'stop' }, 'stopped')])
  }
}

// ---- figures ----

type Figures = Record<string, number>

function loadFigures(result: LoadResult, phase?: number): Figures {
  const { run, gateway } = result
  const selected = phase === undefined ? null : run.phases[phase]!
  const latency = selected ? selected.latency : run.latency
  const seconds = run.sendMs / 1000
  const cpuMs = gateway.cpuUserMs + gateway.cpuSystemMs
  return {
    'offered events/s': selected ? selected.offeredPerSecond : run.sent / seconds,
    'deliveries/s': selected ? selected.deliveriesPerSecond : run.deliveredWhileSending / seconds,
    'delivered %': (100 * (run.delivered - run.duplicates)) / Math.max(1, run.expected),
    'p50 ms': latency.p50,
    'p95 ms': latency.p95,
    'p99 ms': latency.p99,
    'max ms': latency.max,
    gaps: run.gaps,
    duplicates: run.duplicates,
    reorders: run.reorders,
    lost: run.lost,
    'drops (gateway)': gateway.drops,
    'peak RSS MiB': gateway.peakRssBytes / MiB,
    'peak kernel TCP MiB': gateway.peakKernelTcpBytes / MiB,
    'gateway CPU %': (100 * cpuMs) / gateway.elapsedMs,
    'of which kernel %': (100 * gateway.cpuSystemMs) / gateway.elapsedMs,
    'CPU µs/delivery': (cpuMs * 1000) / Math.max(1, run.delivered),
    'gateway loop p99 ms': gateway.loopDelayP99Ms,
    'load gen CPU %': (100 * result.loadCpuMs) / run.sendMs,
    'other processes CPU %': result.otherCpuPercent,
    'gateway answered (1 = yes)': Number.isNaN(gateway.elapsedMs) ? 0 : 1,
    ...(result.syscallCounts
      ? {
          'writes per delivery': ((result.syscallCounts.write ?? 0) + (result.syscallCounts.writev ?? 0)) / Math.max(1, run.delivered),
          'reads per event in': (result.syscallCounts.read ?? 0) / Math.max(1, run.sent),
          'loop wakeups/s': ((result.syscallCounts.epoll_pwait ?? 0) + (result.syscallCounts.epoll_wait ?? 0)) / (gateway.elapsedMs / 1000)
        }
      : {})
  }
}

/** Seconds after the switch back to normal load until every later second's p99 is under `normalP99`. */
function recoverySeconds(run: RunFigures, normalP99: number): number {
  const switchSecond = Math.round(run.phases[0]!.ms / 1000)
  const seconds = run.perSecond.slice(switchSecond, switchSecond + Math.floor(run.phases[1]!.ms / 1000))
  let lastBad = -1
  seconds.forEach((s, i) => {
    if (!(s.p99 <= normalP99)) lastBad = i
  })
  return lastBad === seconds.length - 1 ? Infinity : lastBad + 1
}

interface ScenarioOutput {
  title: string
  target: string
  byRouter: Record<Contender, Figures>
  /** Figures where a smaller value is better get the ratio ours/naive; the table marks them. */
  notes: string[]
}

const results: Record<string, ScenarioOutput> = {}
const format = (n: number | undefined): string => {
  if (n === undefined || Number.isNaN(n)) return '-'
  if (!Number.isFinite(n)) return 'never'
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US')
  if (Math.abs(n) >= 100) return n.toFixed(0)
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

let lastPrintedAt = performance.now()

function printScenario(name: string): void {
  const output = results[name]!
  output.notes.push(`scenario took ${((performance.now() - lastPrintedAt) / 1000).toFixed(0)} s`)
  lastPrintedAt = performance.now()
  const columns = Object.keys(output.byRouter)
  const ours = output.byRouter.ours
  // Ours against the naive router (the targets) and against the floor (how much of the figure is the router's own).
  const ratios = (['naive', 'floor'] as const).filter((base) => ours !== undefined && output.byRouter[base] !== undefined)
  if (ratios.includes('floor'))
    output.notes.push('floor: the naive router without its parse, one write per receiver and nothing else (tests/bench/naive-router.ts)')
  const keys = [...new Set(columns.flatMap((c) => Object.keys(output.byRouter[c]!)))]
  const width = Math.max(22, ...keys.map((k) => k.length + 2))
  const columnWidth = Math.max(12, ...columns.map((c) => c.length + 2))
  const header = `${''.padEnd(width)}${columns.map((c) => c.padStart(columnWidth)).join('')}${ratios.map((base) => `ours/${base}`.padStart(12)).join('')}`
  const lines = [`\n== ${output.title}${repeat > 1 ? ` (median of ${repeat} runs each)` : ''}`, `   target: ${output.target}`, header]
  for (const key of keys) {
    const cells = columns.map((c) => format(output.byRouter[c]![key]).padStart(columnWidth)).join('')
    const ratioCells = ratios.map((base) => {
      const a = ours?.[key]
      const b = output.byRouter[base]?.[key]
      return format(a !== undefined && b !== undefined && b !== 0 ? a / b : NaN).padStart(12)
    })
    lines.push(`${key.padEnd(width)}${cells}${ratioCells.join('')}`)
  }
  for (const note of output.notes) lines.push(`   note: ${note}`)
  console.log(lines.join('\n'))
}

const runStartedAt = performance.now()
lastPrintedAt = runStartedAt
console.log(
  `Fedgate routing benchmark${quick ? ' (quick)' : ''}: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}; ` +
    `gateway and load generator are separate processes sharing these cores${pin ? ' (--pin: one-gateway scenarios run the gateway on CPU 0 and the load generator on CPU 1)' : ''}. ${params.devices} devices x ${params.rate} Hz, ${params.seconds} s; ` +
    `certificates ready in ${Math.round(pkiMs)} ms (${devices.length} device certificates reused across connections). ` +
    `Gateway process: ${gatewayHost.dir ? 'esbuild bundle on plain node' : 'tsx'}. Machine load average now ${os.loadavg()[0]!.toFixed(1)}; "other processes CPU %" in each table shows what else ran.` +
    (process.env.BENCH_QUEUE_VARIANT ? ` Send-queue experiment in our gateway: ${process.env.BENCH_QUEUE_VARIANT}.` : '')
)

const broadcastP99: Record<Contender, number> = {}

/**
 * Runs one scenario for each router, `--repeat` times with the order alternating (ours, naive, naive, ours, …) so
 * that a burst of noise from other processes does not land on one router only; each figure is the median.
 */
async function measureEach(scenario: string, measure: (router: Contender) => Promise<Figures>): Promise<Record<Contender, Figures>> {
  const contenders = routers.filter((r) => r !== 'floor' || FLOOR_SCENARIOS.has(scenario))
  const runs = new Map<Contender, Figures[]>(contenders.map((r) => [r, []]))
  for (let round = 0; round < repeat; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse()
    for (const router of order) runs.get(router)!.push(await measure(router))
  }
  const median = (values: number[]): number => {
    const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
    if (sorted.length === 0) return NaN
    const mid = Math.floor(sorted.length / 2)
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  }
  const out: Record<Contender, Figures> = {}
  for (const [router, list] of runs) {
    const keys = Object.keys(list[0] ?? {})
    out[router] = Object.fromEntries(keys.map((k) => [k, median(list.map((f) => f[k]!))]))
  }
  return out
}

if (only.includes('broadcast')) {
  const out: ScenarioOutput = {
    title: `broadcast: ${params.devices} devices x ${params.rate} Hz on one network, ${params.seconds} s`,
    target: 'all delivered, 0 gaps/dups, p99 <= 40 ms, p99 <= 0.5x naive, CPU per delivery below naive',
    byRouter: {},
    notes: []
  }
  out.byRouter = await measureEach('broadcast', async (router) => {
    const result = await loadScenario(router, {
      networks: ['net-a'],
      links: [],
      stuck: false,
      phases: [{ rate: params.rate, ms: params.seconds * 1000 }],
      warmupMs
    })
    return loadFigures(result)
  })
  for (const router of routers) broadcastP99[router] = out.byRouter[router]?.['p99 ms'] ?? NaN
  results.broadcast = out
  printScenario('broadcast')
}

if (only.includes('federated')) {
  const out: ScenarioOutput = {
    title: `two networks federated locally (both directions): ${params.devices} devices split over A and B x ${params.rate} Hz, ${shortSeconds} s`,
    target: 'as broadcast: every event reaches every other device on both networks',
    byRouter: {},
    notes: []
  }
  out.byRouter = await measureEach('federated', async (router) => {
    const result = await loadScenario(router, {
      networks: ['net-a', 'net-b'],
      links: bothWays('net-a', 'net-b'),
      stuck: false,
      phases: [{ rate: params.rate, ms: shortSeconds * 1000 }],
      warmupMs
    })
    return loadFigures(result)
  })
  results.federated = out
  printScenario('federated')
}

if (only.includes('stuck')) {
  const out: ScenarioOutput = {
    title: `stuck receiver: broadcast as above plus one connection that never reads, ${params.stuckSeconds} s`,
    target: 'its queue <= 1 MiB, others unaffected (no gaps, p99 unchanged)',
    byRouter: {},
    notes: ['queue = bytes the gateway holds for the stuck connection (our send queue + socket buffer; naive: socket buffer)']
  }
  out.byRouter = await measureEach('stuck', async (router) => {
    const result = await loadScenario(router, {
      networks: ['net-a'],
      links: [],
      stuck: true,
      phases: [{ rate: params.rate, ms: params.stuckSeconds * 1000 }],
      warmupMs
    })
    return {
      ...loadFigures(result),
      'offered to stuck MiB': (result.run.sent * PLI_BYTES) / MiB,
      'stuck queue max KiB': result.gateway.watchedQueueMaxBytes / 1024,
      'p99 vs broadcast': result.run.latency.p99 / (broadcastP99[router] ?? NaN)
    }
  })
  results.stuck = out
  printScenario('stuck')
}

if (only.includes('storm')) {
  const out: ScenarioOutput = {
    title: `connect storm: ${params.stormPositions} devices with positions, then ${params.storm} connect at once; then idle RSS`,
    target: `1,000 devices handshaken and given the latest positions within 5 s; 1,000 idle devices RSS <= 120 MiB`,
    byRouter: {},
    notes: [
      `idle RSS is measured 2 s after the storm with ${params.storm + params.stormPositions} idle connections (the storm's plus the position holders)`
    ]
  }
  out.byRouter = await measureEach('storm', async (router) => {
    const result = await stormScenario(router)
    const cpuMs = result.gateway.cpuUserMs + result.gateway.cpuSystemMs
    return {
      connections: result.storm.connections,
      failures: result.storm.failures,
      'all handshaken s': result.storm.handshakeMs / 1000,
      'all given positions s': result.storm.readyMs / 1000,
      'ready p50 s': result.storm.readyP50Ms / 1000,
      'ready p99 s': result.storm.readyP99Ms / 1000,
      incomplete: result.storm.incomplete,
      'gateway CPU s': cpuMs / 1000,
      'RSS before MiB': result.rssBeforeBytes / MiB,
      'peak RSS MiB': result.gateway.peakRssBytes / MiB,
      'idle RSS MiB': result.idleRssBytes / MiB,
      'idle connections': result.idleConnections
    }
  })
  results.storm = out
  printScenario('storm')
}

if (only.includes('rss')) {
  const out: ScenarioOutput = {
    title: `idle devices: ${params.storm} devices connected 16 at a time, then idle for 2 s`,
    target: '1,000 idle devices connected: RSS <= 120 MiB',
    byRouter: {},
    notes: []
  }
  out.byRouter = await measureEach('rss', async (router) => {
    const result = await idleRssScenario(router)
    return {
      connections: result.idle.connections,
      failures: result.failures,
      'connect s': result.connectMs / 1000,
      'RSS empty MiB': result.before.rssBytes / MiB,
      'RSS idle MiB': result.idle.rssBytes / MiB,
      'KiB per connection': (result.idle.rssBytes - result.before.rssBytes) / 1024 / Math.max(1, result.idle.connections),
      'JS heap MiB': result.idle.heapUsedBytes / MiB,
      'external MiB': result.idle.externalBytes / MiB
    }
  })
  results.rss = out
  printScenario('rss')
}

if (only.includes('idle')) {
  const out: ScenarioOutput = {
    title: `idle latency: ${params.devices} devices x ${params.rate / 10} Hz (10% load), ${shortSeconds} s`,
    target: 'p95 <= 5 ms',
    byRouter: {},
    notes: []
  }
  out.byRouter = await measureEach('idle', async (router) => {
    const result = await loadScenario(router, {
      networks: ['net-a'],
      links: [],
      stuck: false,
      phases: [{ rate: params.rate / 10, ms: shortSeconds * 1000 }],
      warmupMs
    })
    return loadFigures(result)
  })
  results.idle = out
  printScenario('idle')
}

/** Fed v2 between two gateways: `devices` per gateway at `rate` each; prints the scenario as `name`. */
async function fedOutput(name: string, devices: number, rate: number, what: string): Promise<void> {
  const out: ScenarioOutput = {
    title: `${what}: ${devices} device${devices === 1 ? '' : 's'} on each x ${rate} Hz = ${devices * rate} events/s each way, ${shortSeconds} s`,
    target: '>= 50k events/s each way, p99 <= 20 ms',
    byRouter: {},
    notes: [
      'ours only (no naive federation); two whole gateways (startGateway) in their own processes plus the load generator share the cores',
      '"across" rows: deliveries of events that came over the link; the other rows include each side\'s local broadcast'
    ]
  }
  try {
    const result = await fedScenario(devices, rate)
    const { run } = result
    const seconds = run.sendMs / 1000
    const cpuA = result.a.cpuUserMs + result.a.cpuSystemMs
    const cpuB = result.b.cpuUserMs + result.b.cpuSystemMs
    out.byRouter.ours = {
      'offered events/s each way': run.sent / seconds / 2,
      // Each event that crosses reaches every device on the far side.
      'across events/s each way': run.across.delivered / 2 / devices / Math.max(0.001, seconds - warmupMs / 1000),
      'delivered %': (100 * (run.delivered - run.duplicates)) / Math.max(1, run.expected),
      'across p50 ms': run.across.latency.p50,
      'across p95 ms': run.across.latency.p95,
      'across p99 ms': run.across.latency.p99,
      'across max ms': run.across.latency.max,
      'all p99 ms': run.latency.p99,
      gaps: run.gaps,
      duplicates: run.duplicates,
      reorders: run.reorders,
      lost: run.lost,
      'drops (gateways)': Object.values(result.dropsByReason).reduce((x, y) => x + y, 0),
      'gateway A CPU %': (100 * cpuA) / result.a.elapsedMs,
      'gateway B CPU %': (100 * cpuB) / result.b.elapsedMs,
      'loop delay p99 A ms': result.a.loopDelayP99Ms,
      'loop delay max A ms': result.a.loopDelayMaxMs,
      'loop delay p99 B ms': result.b.loopDelayP99Ms,
      'loop delay max B ms': result.b.loopDelayMaxMs,
      'peak RSS A MiB': result.a.peakRssBytes / MiB,
      'peak RSS B MiB': result.b.peakRssBytes / MiB,
      'load gen CPU %': (100 * result.loadCpuMs) / run.sendMs
    }
    if (Object.keys(result.dropsByReason).length > 0) {
      out.notes.push(`drops by reason: ${JSON.stringify(result.dropsByReason)}`)
      out.notes.push(
        `drops on A (accepts the link): ${JSON.stringify(result.dropsBySide.a)}; on B (dials it): ${JSON.stringify(result.dropsBySide.b)}`
      )
    }
  } catch (error) {
    out.notes.push(`could not run: ${error instanceof Error ? error.message : String(error)}`)
  }
  results[name] = out
  printScenario(name)
}

if (only.includes('fedv2')) await fedOutput('fedv2', params.fedDevices, params.fedRate, 'fed v2 link between two gateways')
if (only.includes('fedlink')) await fedOutput('fedlink', 1, params.fedLinkRate, 'fed v2 link only (no local fan-out)')

// Last: the naive router's unbounded queues can grow to gigabytes here, and the memory the kernel then reclaims
// disturbed the scenario that ran next (idle p95 43 ms once, 9.5 ms when re-run alone).
if (only.includes('overload')) {
  const probeSteps = quick ? [1, 2, 4, 8] : [1, 2, 3, 4, 6, 8]
  const out: ScenarioOutput = {
    title:
      `2x overload: capacity probed first (${params.devices} devices at ${probeSteps.join('/')} x ${params.rate} Hz, ${params.probeSeconds} s each), ` +
      `then twice that capacity for ${params.overloadSeconds} s, then ${params.rate} Hz for ${params.recoverySeconds} s`,
    target: 'delivered >= 90% of capacity (plateau, not collapse), memory bounded, drops counted, normal latency <= 5 s after',
    byRouter: {},
    notes: [
      'capacity = the best deliveries/s of the probe steps in the first run, used for every router (gateway and load generator together: the load generator reads every delivery)',
      'rows describe the overload phase; "recovery s" = seconds after the switch back until every later second has p99 <= 1.5x the broadcast p99 (+5 ms)'
    ]
  }
  const fanOut = params.devices - 1
  // One capacity for every router (probed in the first run): each is then offered the same load, whatever the noise.
  let capacityProbed: number | null = null
  out.byRouter = await measureEach('overload', async (router) => {
    const result = await loadScenario(router, {
      networks: ['net-a'],
      links: [],
      stuck: false,
      phases: [],
      warmupMs,
      probe: {
        phases: probeSteps.map((k) => ({ rate: k * params.rate, ms: params.probeSeconds * 1000 })),
        known: capacityProbed,
        then: (capacity) => [
          { rate: (2 * capacity) / fanOut / params.devices, ms: params.overloadSeconds * 1000 },
          { rate: params.rate, ms: params.recoverySeconds * 1000 }
        ]
      }
    })
    const figures = loadFigures(result, 0)
    const capacity = result.probed ?? NaN
    capacityProbed ??= result.probed
    const normal = (broadcastP99[router] ?? 40) * 1.5 + 5
    const recovery = result.run.phases[1]!
    const timeline = result.gateway.rssTimeline
    const switchSecond = Math.round(result.run.phases[0]!.ms / 1000)
    const afterSwitch = result.run.perSecond.slice(switchSecond, switchSecond + Math.floor(recovery.ms / 1000)).map((s) => s.p99)
    out.notes.push(
      `${router}: p99 ms of each second after the switch back, by send time (normal <= ${normal.toFixed(1)} ms` +
        `${broadcastP99[router] === undefined ? ', from the 40 ms target: broadcast did not run' : ''}): ` +
        afterSwitch.map((p99) => (Number.isFinite(p99) ? p99.toFixed(1) : '-')).join(', ')
    )
    return {
      'capacity deliveries/s': capacity,
      'offered deliveries/s': figures['offered events/s']! * fanOut,
      ...figures,
      'delivered % of capacity': (100 * figures['deliveries/s']!) / capacity,
      'RSS at end MiB': (timeline[timeline.length - 1] ?? result.gateway.rssBytes) / MiB,
      'max queue KiB': result.gateway.anyQueueMaxBytes / 1024,
      'recovery p99 ms': recovery.latency.p99,
      'recovery s': recoverySeconds(result.run, normal)
    }
  })
  results.overload = out
  printScenario('overload')
}

await (sharedLoad as Load | null)?.stop({ type: 'stop' }, 'stopped')
const totalSeconds = (performance.now() - runStartedAt) / 1000
console.log(`\nbenchmark finished in ${totalSeconds.toFixed(0)} s`)
pki.cleanup()
console.log(
  JSON.stringify({
    bench: 'fedgate-routing',
    quick,
    params,
    repeat,
    pinned: pin,
    queueVariant: process.env.BENCH_QUEUE_VARIANT ?? null,
    loadAverage: os.loadavg()[0],
    cores: os.cpus().length,
    node: process.version,
    seconds: Math.round(totalSeconds),
    scenarios: Object.fromEntries(
      Object.entries(results).map(([name, output]) => {
        const ratio: Figures = {}
        for (const [key, value] of Object.entries(output.byRouter.ours ?? {})) {
          const base = output.byRouter.naive?.[key]
          if (base !== undefined && base !== 0 && Number.isFinite(value / base)) ratio[key] = Number((value / base).toFixed(3))
        }
        const round = (figures: Figures | undefined): Figures | undefined =>
          figures &&
          Object.fromEntries(
            Object.entries(figures).map(([k, v]) => [k, Number.isFinite(v) ? Number(v.toFixed(3)) : (String(v) as unknown as number)])
          )
        const contenders = Object.fromEntries(Object.entries(output.byRouter).map(([c, figures]) => [c, round(figures)]))
        return [name, { target: output.target, ...contenders, ratio }]
      })
    )
  })
)
