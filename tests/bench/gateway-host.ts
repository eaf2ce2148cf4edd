// Child process of the benchmark: runs one router (our streaming listener + Router, or the naive baseline) on a free
// loopback port and reports its own CPU, RSS, drops and queue depths, so those figures are the gateway's alone.

import type tls from 'node:tls'
import { startStreamingListener, type StreamingListener } from '../../gateway/devices/streaming.ts'
import { createLogger } from '../../gateway/log.ts'
import { Router } from '../../gateway/routing/router.ts'
import type { FromGatewayHost, GatewayHostConfig, ToGatewayHost } from './messages.ts'
import { startNaiveRouter, type NaiveRouter } from './naive-router.ts'
import { ProcessMeter, type RouterFigures } from './process-meter.ts'
import { applyQueueVariant } from './queue-variants.ts'

const send = (message: FromGatewayHost): void => void process.send!(message)

interface Running extends RouterFigures {
  close(): Promise<void>
}

async function start(config: GatewayHostConfig): Promise<{ port: number; running: Running }> {
  const byFingerprint = new Map(config.devices.map((d) => [d.fingerprint, d]))
  const identify = (certificate: tls.PeerCertificate) => byFingerprint.get(certificate.fingerprint256) ?? null
  if (config.router === 'naive' || config.router === 'floor') {
    const naive: NaiveRouter = await startNaiveRouter({
      port: 0,
      host: '127.0.0.1',
      tls: config.tls,
      links: config.links,
      authorize: identify,
      parse: config.router === 'naive'
    })
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
  const flushPolicy = applyQueueVariant(config.queueVariant ?? undefined)
  const router = new Router()
  router.setLocalLinks(config.links)
  const listener: StreamingListener = await startStreamingListener({
    port: 0,
    host: '127.0.0.1',
    tls: config.tls,
    idleTimeoutMs: 0,
    flushPolicy,
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
const meter = new ProcessMeter(
  () => running,
  () => watchDeviceId
)

process.on('message', (message: ToGatewayHost) => {
  void (async () => {
    if (message.type === 'start') {
      watchDeviceId = message.config.watchDeviceId
      const started = await start(message.config)
      running = started.running
      meter.mark()
      send({ type: 'ready', port: started.port })
    } else if (message.type === 'mark') {
      meter.mark(message.at)
    } else if (message.type === 'report') {
      send({ type: 'report', report: meter.report() })
    } else if (message.type === 'stop') {
      await running?.close()
      send({ type: 'stopped' })
      process.exit(0)
    }
  })()
})
process.on('disconnect', () => process.exit(0))
