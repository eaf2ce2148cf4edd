// The figures a benchmark gateway process reports about itself since the last mark: CPU, RSS (sampled every 100 ms),
// event-loop delay, and what its router counted. Shared by the single-router host and the fed v2 gateway host.

import fs from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { GatewayReport } from './messages.ts'

const LOOP_RESOLUTION_MS = 10

export interface RouterFigures {
  queues(): { deviceId: string; bytes: number }[]
  drops(): number
  deliveries(): number
  eventsIn(): number
}

/** Bytes the kernel holds in TCP buffers machine-wide (/proc/net/sockstat), or 0 where that file is missing. */
function kernelTcpBytes(): number {
  try {
    const match = /^TCP:.* mem (\d+)/m.exec(fs.readFileSync('/proc/net/sockstat', 'utf8'))
    return match ? Number(match[1]) * 4096 : 0
  } catch {
    return 0
  }
}

interface Sample {
  wall: number
  perf: number
  cpu: NodeJS.CpuUsage
  drops: number
  deliveries: number
  eventsIn: number
}

export class ProcessMeter {
  /** The last ten seconds of samples, so a mark that arrives late (the loop was busy) can start where it was sent. */
  private samples: Sample[] = []
  private peakKernelTcp = 0
  private markedAt = performance.now()
  private cpuAtMark = process.cpuUsage()
  private dropsAtMark = 0
  private deliveriesAtMark = 0
  private eventsInAtMark = 0
  private peakRss = 0
  private watchedMax = 0
  private anyMax = 0
  private rssTimeline: number[] = []
  /** Node records the whole interval between its timer's runs, resolution included: subtract it to get the delay. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })

  constructor(
    private readonly figures: () => RouterFigures | null,
    private readonly watchDeviceId: () => string | null = () => null
  ) {
    this.loopDelay.enable()
    // Sampling costs a walk over the connections ten times a second; every router measured pays it alike.
    let ticks = 0
    setInterval(() => {
      const rss = process.memoryUsage.rss()
      if (rss > this.peakRss) this.peakRss = rss
      if (++ticks % 10 === 0) this.rssTimeline.push(rss)
      // A backlog can sit in the kernel's socket buffers (up to 4 MiB per socket on loopback) where RSS does not show it.
      const kernel = kernelTcpBytes()
      if (kernel > this.peakKernelTcp) this.peakKernelTcp = kernel
      const running = this.figures()
      this.samples.push(this.sample(running))
      if (this.samples.length > 100) this.samples.shift()
      if (!running) return
      const watched = this.watchDeviceId()
      for (const queue of running.queues()) {
        if (queue.bytes > this.anyMax) this.anyMax = queue.bytes
        if (queue.deviceId === watched && queue.bytes > this.watchedMax) this.watchedMax = queue.bytes
      }
    }, 100).unref()
  }

  private sample(running: RouterFigures | null): Sample {
    return {
      wall: Date.now(),
      perf: performance.now(),
      cpu: process.cpuUsage(),
      drops: running?.drops() ?? 0,
      deliveries: running?.deliveries() ?? 0,
      eventsIn: running?.eventsIn() ?? 0
    }
  }

  /** Start the figures at `sentAt` (the sender's Date.now()) when a sample from then exists, otherwise now. */
  mark(sentAt?: number): void {
    const now = this.sample(this.figures())
    const earlier = sentAt === undefined ? undefined : this.samples.findLast((s) => s.wall <= sentAt && s.wall > sentAt - 10_000)
    const base = earlier ?? now
    this.markedAt = base.perf
    this.cpuAtMark = base.cpu
    this.dropsAtMark = base.drops
    this.deliveriesAtMark = base.deliveries
    this.eventsInAtMark = base.eventsIn
    this.peakRss = process.memoryUsage.rss()
    this.peakKernelTcp = kernelTcpBytes()
    this.watchedMax = 0
    this.anyMax = 0
    this.rssTimeline = []
    this.loopDelay.reset()
  }

  report(): GatewayReport {
    const running = this.figures()
    const cpu = process.cpuUsage(this.cpuAtMark)
    const memory = process.memoryUsage()
    return {
      elapsedMs: performance.now() - this.markedAt,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      peakRssBytes: Math.max(this.peakRss, memory.rss),
      peakKernelTcpBytes: this.peakKernelTcp,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external,
      drops: (running?.drops() ?? 0) - this.dropsAtMark,
      deliveries: (running?.deliveries() ?? 0) - this.deliveriesAtMark,
      eventsIn: (running?.eventsIn() ?? 0) - this.eventsInAtMark,
      connections: running?.queues().length ?? 0,
      watchedQueueMaxBytes: this.watchedMax,
      anyQueueMaxBytes: this.anyMax,
      rssTimeline: this.rssTimeline,
      loopDelayP99Ms: Math.max(0, this.loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      loopDelayMaxMs: Math.max(0, this.loopDelay.max / 1e6 - LOOP_RESOLUTION_MS)
    }
  }
}
