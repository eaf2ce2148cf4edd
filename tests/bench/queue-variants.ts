// Opt-in experiments for the benchmark only (BENCH_QUEUE_VARIANT in the gateway process, or --routers ours+<variant>):
// measure a proposal against the gateway's defaults before anyone changes gateway/devices/.
//   tick:N      — a busy listener gathers frames for N ms before writing (FlushPolicy.tickMs; tick:0 = never wait)
//   busy:N      — the listener counts as busy from N frames written per second (FlushPolicy.busyFramesPerSecond)
//   immediate   — never wait: every queue flushed at the next turn of the loop, as before the flush scheduler
//   concat      — each batch copied with Buffer.concat (the send queue before writev)
// Parts combine with commas: ours+tick:4,busy:20000

import type { Writable } from 'node:stream'
import { SendQueue } from '../../gateway/devices/streaming-queue.ts'
import { DEFAULT_FLUSH_POLICY, type FlushPolicy } from '../../gateway/devices/flush-scheduler.ts'

/** The queue's private state as seen from JavaScript (TypeScript privacy is compile-time only). */
interface QueueInternals {
  socket: Writable
  scheduler: { request(queue: unknown): void }
  writeBatch(batch: Buffer[], size: number): boolean
}

/** Applies the patches of a variant and returns the flush policy it asks for. */
export function applyQueueVariant(variant: string | undefined): FlushPolicy {
  const policy = { ...DEFAULT_FLUSH_POLICY }
  if (!variant) return policy
  const proto = SendQueue.prototype as unknown as QueueInternals
  for (const part of variant.split(',')) {
    const numeric = /^(tick|busy):(\d+(?:\.\d+)?)$/.exec(part)
    if (numeric?.[1] === 'tick') policy.tickMs = Number(numeric[2])
    else if (numeric?.[1] === 'busy') policy.busyFramesPerSecond = Number(numeric[2])
    else if (part === 'immediate') policy.tickMs = 0
    else if (part === 'concat') {
      proto.writeBatch = function (this: QueueInternals, batch: Buffer[], size: number): boolean {
        return this.socket.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, size))
      }
    } else {
      throw new Error(`Unknown BENCH_QUEUE_VARIANT part ${part} (tick:N, busy:N, immediate or concat)`)
    }
  }
  return policy
}
