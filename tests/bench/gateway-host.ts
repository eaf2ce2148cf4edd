// Child process of the benchmark: runs one router (our streaming listener + Router, or the naive baseline) on a free
// loopback port and reports its own CPU, RSS, drops and queue depths, so those figures are the gateway's alone.

import { monitorEventLoopDelay } from 'node:perf_hooks'
import type tls from 'node:tls'
import { startStreamingListener, type StreamingListener } from '../../gateway/devices/streaming.ts'
import { createLogger } from '../../gateway/log.ts'
import { Router } from '../../gateway/routing/router.ts'
import type { FromGatewayHost, GatewayHostConfig, GatewayReport, ToGatewayHost } from './messages.ts'
import { startNaiveRouter, type NaiveRouter } from './naive-router.ts'

const send = (message: FromGatewayHost): void => void process.send!(message)

interface Running {
  close(): Promise<void>
  queues(): { deviceId: string; bytes: number }[]
  drops(): number
  deliveries(): number
  eventsIn(): number
}

async function start(config: GatewayHostConfig): Promise<{ port: number; running: Running }> {
  const byFingerprint = new Map(config.devices.map((d) => [d.fingerprint, d]))
  const identify = (certificate: tls.PeerCertificate) => byFingerprint.get(certificate.fingerprint256) ?? null
  if (config.router === 'naive') {
    const naive: NaiveRouter = await startNaiveRouter({ port: 0, host: '127.0.0.1', tls: config.tls, links: config.links, authorize: identify })
    return {
      port: naive.port,
      running: {
        close: () => naive.close(),
        queues: () => naive.connections().map((c) => ({ deviceId: c.deviceId, bytes: c.queuedBytes })),
        drops: () => 0,
        deliveries: () => naive.counters().deliveries,
        eventsIn: () => naive.counters().eventsIn
      }
    }
  }
  const router = new Router()
  router.setLocalLinks(config.links)
  const listener: StreamingListener = await startStreamingListener({
    port: 0,
    host: '127.0.0.1',
    tls: config.tls,
    idleTimeoutMs: 0,
    authorize: (certificate) => {
      const device = identify(certificate)
      return device && { deviceId: device.deviceId, networkId: device.networkId, callsign: device.callsign }
    },
    router,
    log: createLogger(undefined, true)
  })
  return {
    port: listener.port,
    running: {
      close: () => listener.close(),
      queues: () => listener.connections().map((c) => ({ deviceId: c.deviceId, bytes: c.queuedBytes })),
      drops: () => listener.counters().drops,
      deliveries: () => router.stats().deliveries,
      eventsIn: () => router.stats().eventsIn
    }
  }
}

let running: Running | null = null
let watchDeviceId: string | null = null
let markedAt = performance.now()
let cpuAtMark = process.cpuUsage()
let dropsAtMark = 0
let deliveriesAtMark = 0
let eventsInAtMark = 0
let peakRss = 0
let watchedMax = 0
let anyMax = 0
let rssTimeline: number[] = []
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()

function mark(): void {
  markedAt = performance.now()
  cpuAtMark = process.cpuUsage()
  dropsAtMark = running?.drops() ?? 0
  deliveriesAtMark = running?.deliveries() ?? 0
  eventsInAtMark = running?.eventsIn() ?? 0
  peakRss = process.memoryUsage.rss()
  watchedMax = 0
  anyMax = 0
  rssTimeline = []
  loopDelay.reset()
}

// Sampling costs the gateway a little CPU (a walk over the connections ten times a second); both routers pay it.
let ticks = 0
setInterval(() => {
  const rss = process.memoryUsage.rss()
  if (rss > peakRss) peakRss = rss
  if (++ticks % 10 === 0) rssTimeline.push(rss)
  if (!running) return
  for (const queue of running.queues()) {
    if (queue.bytes > anyMax) anyMax = queue.bytes
    if (queue.deviceId === watchDeviceId && queue.bytes > watchedMax) watchedMax = queue.bytes
  }
}, 100).unref()

function report(): GatewayReport {
  const cpu = process.cpuUsage(cpuAtMark)
  const memory = process.memoryUsage()
  return {
    elapsedMs: performance.now() - markedAt,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    peakRssBytes: Math.max(peakRss, memory.rss),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    drops: (running?.drops() ?? 0) - dropsAtMark,
    deliveries: (running?.deliveries() ?? 0) - deliveriesAtMark,
    eventsIn: (running?.eventsIn() ?? 0) - eventsInAtMark,
    connections: running?.queues().length ?? 0,
    watchedQueueMaxBytes: watchedMax,
    anyQueueMaxBytes: anyMax,
    rssTimeline,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6
  }
}

process.on('message', (message: ToGatewayHost) => {
  void (async () => {
    if (message.type === 'start') {
      watchDeviceId = message.config.watchDeviceId
      const started = await start(message.config)
      running = started.running
      mark()
      send({ type: 'ready', port: started.port })
    } else if (message.type === 'mark') {
      mark()
    } else if (message.type === 'report') {
      send({ type: 'report', report: report() })
    } else if (message.type === 'stop') {
      await running?.close()
      send({ type: 'stopped' })
      process.exit(0)
    }
  })()
})
process.on('disconnect', () => process.exit(0))
