// Child process of the benchmark: N device connections over mutual TLS, each sending PLIs at a fixed rate, and every
// connection counting what it receives (gaps, duplicates, re-orders, latency from the send time in the PLI).
// Sender and receivers share this process's monotonic clock, so latency needs no clock agreement between processes.

import tls from 'node:tls'
import { LatencyHistogram } from './histogram.ts'
import type { FromLoadGenerator, LoadConnection, LoadPhase, RunFigures, StormFigures, ToLoadGenerator } from './messages.ts'
import { MarkerReader, pliBytes } from './pli.ts'

const send = (message: FromLoadGenerator): void => void process.send!(message)
const nowMicros = (): number => Math.round(performance.now() * 1000)

let port = 0
let contexts: tls.SecureContext[] = []

interface Receiving {
  onMark(connection: Connection, source: number, seq: number, sentMicros: number, arrivedMicros: number): void
}

class Connection {
  readonly reader = new MarkerReader()
  /** Last sequence number seen per source, -1 before the first. */
  lastSeq = new Int32Array(0)
  sourcesSeen = 0
  seen = new Uint8Array(0)
  handshakeMs = NaN
  readyMs = NaN

  constructor(
    readonly spec: LoadConnection,
    readonly socket: tls.TLSSocket,
    private readonly receiving: { current: Receiving | null }
  ) {
    socket.on('data', (chunk: Buffer) => {
      const receiver = this.receiving.current
      if (!receiver) return
      const arrived = nowMicros()
      this.reader.push(chunk, (source, seq, sent) => receiver.onMark(this, source, seq, sent, arrived))
    })
  }
}

const receiving: { current: Receiving | null } = { current: null }
let connections: Connection[] = []
let failures = 0

function open(spec: LoadConnection, onHandshake: (connection: Connection) => void = () => {}): Promise<Connection | null> {
  return new Promise((resolve) => {
    const startedAt = performance.now()
    const socket = tls.connect({
      host: '127.0.0.1',
      port: spec.port ?? port,
      servername: 'localhost',
      secureContext: contexts[spec.identity]!
    })
    socket.setNoDelay(true)
    let settled = false
    socket.once('secureConnect', () => {
      settled = true
      const connection = new Connection(spec, socket, receiving)
      connection.handshakeMs = performance.now() - startedAt
      if (spec.stuck) socket.pause()
      onHandshake(connection)
      resolve(connection)
    })
    socket.on('error', () => {
      if (settled) return
      settled = true
      failures++
      resolve(null)
    })
  })
}

async function connectAll(specs: LoadConnection[], concurrency: number): Promise<number> {
  const startedAt = performance.now()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < specs.length) {
      const connection = await open(specs[next++]!)
      if (connection) connections.push(connection)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker))
  return performance.now() - startedAt
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function run(phases: LoadPhase[], warmupMs: number, drainMs: number, sourceGroups: number[] = []): Promise<RunFigures> {
  const senders = connections.filter((c) => c.spec.sends)
  const sourceCount = Math.max(0, ...senders.map((c) => c.spec.source + 1))
  const readers = connections.filter((c) => !c.spec.stuck)
  for (const c of connections) c.lastSeq = new Int32Array(sourceCount).fill(-1)
  const sentBySource = new Float64Array(sourceCount)

  const startMicros = nowMicros()
  const phaseStarts: number[] = []
  let at = startMicros
  for (const phase of phases) {
    phaseStarts.push(at)
    at += phase.ms * 1000
  }
  const endMicros = at
  const totalSeconds = Math.ceil((endMicros - startMicros) / 1e6)
  const overall = new LatencyHistogram()
  const across = new LatencyHistogram()
  const perPhase = phases.map(() => new LatencyHistogram())
  const perSecond = Array.from({ length: totalSeconds + 1 }, () => ({ sent: 0, delivered: 0, latency: new LatencyHistogram(1000, 10_000) }))
  const deliveredPerPhase = new Float64Array(phases.length)
  let delivered = 0
  let deliveredWhileSending = 0
  let gaps = 0
  let duplicates = 0
  let reorders = 0
  let sending = true
  const warmupEnd = startMicros + warmupMs * 1000
  const phaseOf = (micros: number): number => {
    let index = 0
    while (index + 1 < phaseStarts.length && micros >= phaseStarts[index + 1]!) index++
    return index
  }

  receiving.current = {
    onMark(connection, source, seq, sent, arrived) {
      if (connection.spec.stuck || source >= sourceCount || sent < startMicros) return
      const last = connection.lastSeq[source]!
      if (seq === last) duplicates++
      else if (seq < last) reorders++
      else {
        if (seq > last + 1) gaps += seq - last - 1
        connection.lastSeq[source] = seq
      }
      delivered++
      if (sending) deliveredWhileSending++
      if (arrived < endMicros) deliveredPerPhase[phaseOf(arrived)]!++
      const latency = arrived - sent
      if (sent >= warmupEnd) {
        overall.add(latency)
        if ((sourceGroups[source] ?? 0) !== (connection.spec.group ?? 0)) across.add(latency)
      }
      perPhase[phaseOf(sent)]!.add(latency)
      const second = perSecond[Math.min(totalSeconds, Math.floor((sent - startMicros) / 1e6))]!
      second.delivered++
      second.latency.add(latency)
    }
  }

  // Each sender's sends are spread evenly over the interval (sender k of M starts k/M of an interval late).
  const nextDue = new Float64Array(senders.length)
  const seqOf = new Float64Array(senders.length)
  let phaseIndex = 0
  const schedulePhase = (index: number): void => {
    const interval = 1e6 / phases[index]!.rate
    senders.forEach((_, k) => (nextDue[k] = phaseStarts[index]! + (k / senders.length) * interval))
  }
  schedulePhase(0)
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = nowMicros()
      const wallNow = Date.now()
      // A late tick (busy machine) first sends everything that fell due in the phase it missed: the offered count stays exact.
      while (phaseIndex < phases.length) {
        const phaseEnd = phaseStarts[phaseIndex]! + phases[phaseIndex]!.ms * 1000
        const interval = 1e6 / phases[phaseIndex]!.rate
        for (let k = 0; k < senders.length; k++) {
          while (nextDue[k]! <= now && nextDue[k]! < phaseEnd) {
            const sender = senders[k]!
            const sentAt = nowMicros()
            sender.socket.write(pliBytes(sender.spec.source, seqOf[k]!, sentAt, wallNow))
            seqOf[k]!++
            sentBySource[sender.spec.source]!++
            perSecond[Math.min(totalSeconds, Math.floor((sentAt - startMicros) / 1e6))]!.sent++
            nextDue[k]! += interval
          }
        }
        if (now < phaseEnd) break
        phaseIndex++
        if (phaseIndex < phases.length) schedulePhase(phaseIndex)
      }
      if (phaseIndex >= phases.length) {
        clearInterval(tick)
        resolve()
      }
    }, 2)
  })
  sending = false
  const sendMs = (nowMicros() - startMicros) / 1000
  // Drain: wait until nothing more arrives for a quarter of a second (or drainMs).
  const drainUntil = performance.now() + drainMs
  let before = -1
  while (performance.now() < drainUntil && delivered !== before) {
    before = delivered
    await sleep(250)
  }
  receiving.current = null

  let expected = 0
  let sent = 0
  for (const sender of senders) {
    const count = sentBySource[sender.spec.source]!
    sent += count
    expected += count * (readers.length - (sender.spec.stuck ? 0 : 1))
  }
  return {
    sendMs,
    sent,
    expected,
    delivered,
    deliveredWhileSending,
    latency: overall.summary(),
    across: { delivered: across.count, latency: across.summary() },
    gaps,
    duplicates,
    reorders,
    lost: Math.max(0, expected - (delivered - duplicates)),
    phases: phases.map((phase, i) => {
      let phaseSent = 0
      const seconds = perSecond.slice(
        Math.floor((phaseStarts[i]! - startMicros) / 1e6),
        Math.ceil((phaseStarts[i]! - startMicros) / 1e6 + phase.ms / 1000)
      )
      for (const s of seconds) phaseSent += s.sent
      return {
        rate: phase.rate,
        ms: phase.ms,
        offeredPerSecond: phaseSent / (phase.ms / 1000),
        deliveriesPerSecond: deliveredPerPhase[i]! / (phase.ms / 1000),
        latency: perPhase[i]!.summary()
      }
    }),
    perSecond: perSecond.map((s) => ({ sent: s.sent, delivered: s.delivered, p99: s.latency.quantileMs(0.99) }))
  }
}

async function storm(specs: LoadConnection[], expectSources: number, timeoutMs: number): Promise<StormFigures> {
  const startedAt = performance.now()
  const fresh: Connection[] = []
  let ready = 0
  let done: () => void = () => {}
  const allReady = new Promise<void>((resolve) => (done = resolve))
  const markReady = (connection: Connection): void => {
    connection.readyMs = performance.now() - startedAt
    if (++ready === specs.length - failures) done()
  }
  receiving.current = {
    onMark(connection, source) {
      if (!Number.isNaN(connection.readyMs) || source >= expectSources || connection.seen[source]) return
      connection.seen[source] = 1
      if (++connection.sourcesSeen >= expectSources) markReady(connection)
    }
  }
  failures = 0
  let handshakes = 0
  let lastHandshakeMs = NaN
  await Promise.all(
    specs.map((spec) =>
      open(spec, (connection) => {
        connection.seen = new Uint8Array(expectSources)
        fresh.push(connection)
        lastHandshakeMs = performance.now() - startedAt
        handshakes++
        if (expectSources === 0) markReady(connection)
      })
    )
  )
  if (ready < specs.length - failures) await Promise.race([allReady, sleep(timeoutMs)])
  receiving.current = null
  connections.push(...fresh)
  const readyTimes = fresh
    .map((c) => c.readyMs)
    .filter((ms) => !Number.isNaN(ms))
    .sort((a, b) => a - b)
  const quantile = (q: number): number => readyTimes[Math.min(readyTimes.length - 1, Math.ceil(readyTimes.length * q) - 1)] ?? NaN
  return {
    connections: specs.length,
    failures,
    handshakeMs: handshakes === specs.length ? lastHandshakeMs : NaN,
    readyMs: readyTimes.length === specs.length ? readyTimes[readyTimes.length - 1]! : NaN,
    readyP50Ms: quantile(0.5),
    readyP99Ms: quantile(0.99),
    incomplete: specs.length - readyTimes.length
  }
}

process.on('message', (message: ToLoadGenerator) => {
  void (async () => {
    if (message.type === 'start') {
      port = message.port
      contexts = message.identities.map((identity) =>
        tls.createSecureContext({ cert: identity.certPem, key: identity.keyPem, ca: identity.ca ?? message.ca })
      )
      send({ type: 'started' })
    } else if (message.type === 'connect') {
      failures = 0
      const ms = await connectAll(message.connections, message.concurrency)
      send({ type: 'connected', ms, failures })
    } else if (message.type === 'run') {
      const cpuBefore = process.cpuUsage()
      const figures = await run(message.phases, message.warmupMs, message.drainMs, message.sourceGroups)
      const cpu = process.cpuUsage(cpuBefore)
      send({ type: 'ran', figures, cpuMs: (cpu.user + cpu.system) / 1000 })
    } else if (message.type === 'storm') {
      send({ type: 'storm', figures: await storm(message.connections, message.expectSources, message.timeoutMs) })
    } else if (message.type === 'reset') {
      // Between scenarios: drop every connection, keep the process (spawning one costs more than a quick scenario).
      for (const connection of connections) connection.socket.destroy()
      connections = []
      receiving.current = null
      send({ type: 'reset' })
    } else if (message.type === 'stop') {
      for (const connection of connections) connection.socket.destroy()
      connections = []
      send({ type: 'stopped' })
      process.exit(0)
    }
  })()
})
process.on('disconnect', () => process.exit(0))
