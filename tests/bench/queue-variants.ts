// Opt-in experiments for the benchmark only (BENCH_QUEUE_VARIANT in the gateway process): patch the send queue's
// flush at run time to measure a proposal before anyone changes gateway/devices/streaming-queue.ts.
//   tick:N  — flush every queue from one shared N ms timer instead of one setImmediate per queue (bigger batches)
//   concat  — the queue as it was before writev: each batch copied with Buffer.concat (for before/after figures)

import type { Writable } from 'node:stream'
import { SendQueue } from '../../gateway/devices/streaming-queue.ts'

/** The queue's private state as seen from JavaScript (TypeScript privacy is compile-time only). */
interface QueueInternals {
  items: ({ bytes: Buffer; position: boolean } | null)[]
  head: number
  scheduled: boolean
  waitingForDrain: boolean
  closed: boolean
  queuedBytes: number
  socket: Writable
  flush(): void
  push(bytes: Buffer, position: boolean): boolean
  writeBatch(batch: Buffer[], size: number): boolean
}

export function applyQueueVariant(variant: string | undefined): string | null {
  if (!variant) return null
  const proto = SendQueue.prototype as unknown as QueueInternals
  for (const part of variant.split(',')) {
    const tick = /^tick:(\d+(?:\.\d+)?)$/.exec(part)
    if (tick) {
      const ms = Number(tick[1])
      const originalPush = proto.push
      const pending = new Set<QueueInternals>()
      let timer: NodeJS.Timeout | null = null
      const flushAll = (): void => {
        timer = null
        const queues = [...pending]
        pending.clear()
        for (const queue of queues) queue.flush()
      }
      proto.push = function (this: QueueInternals, bytes: Buffer, position: boolean): boolean {
        this.scheduled = true // the original push then never schedules its own setImmediate
        const queued = originalPush.call(this, bytes, position)
        if (queued && !this.waitingForDrain) {
          pending.add(this)
          timer ??= setTimeout(flushAll, ms)
        }
        return queued
      }
    } else if (part === 'concat') {
      // The send queue before the writev change: every batch copied into one Buffer per receiver.
      proto.writeBatch = function (this: QueueInternals, batch: Buffer[], size: number): boolean {
        return this.socket.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, size))
      }
    } else {
      throw new Error(`Unknown BENCH_QUEUE_VARIANT part ${part} (tick:N or concat)`)
    }
  }
  return variant
}
