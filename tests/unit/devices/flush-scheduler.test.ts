import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { FlushScheduler } from '../../../gateway/devices/flush-scheduler.ts'
import { SendQueue } from '../../../gateway/devices/streaming-queue.ts'

/** A socket that records each write call with the frames it carried. */
function recordingSocket(): Writable & { calls: string[][] } {
  const calls: string[][] = []
  const socket = new Writable({
    write: (chunk: Buffer, _e, done) => (calls.push([chunk.toString()]), done()),
    writev: (chunks, done) => (calls.push(chunks.map((c) => (c.chunk as Buffer).toString())), done())
  }) as Writable & { calls: string[][] }
  socket.calls = calls
  return socket
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r))
const after = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Keeps the scheduler writing until one rate window (100 ms) has passed with this traffic. */
async function keepBusy(queue: SendQueue, scheduler: FlushScheduler): Promise<void> {
  const until = performance.now() + 150
  while (performance.now() < until || !scheduler.isBusy()) {
    for (let i = 0; i < 20; i++) queue.push(Buffer.from('<p/>'), true)
    await after(1)
  }
}

describe('FlushScheduler', () => {
  it('when quiet writes at the next turn of the event loop', async () => {
    const scheduler = new FlushScheduler({ tickMs: 1000, busyFramesPerSecond: 1_000_000 })
    const socket = recordingSocket()
    const queue = new SendQueue(socket, undefined, undefined, scheduler)
    queue.push(Buffer.from('<a/>'), true)
    expect(socket.calls).toHaveLength(0)
    await nextTurn()
    expect(socket.calls).toEqual([['<a/>']])
    expect(scheduler.isBusy()).toBe(false)
  })

  it('when busy gathers every queue’s frames until the tick, then writes each queue once', async () => {
    const scheduler = new FlushScheduler({ tickMs: 40, busyFramesPerSecond: 1000 })
    const warm = new SendQueue(recordingSocket(), undefined, undefined, scheduler)
    await keepBusy(warm, scheduler)
    await after(50) // the last warm-up tick has run
    const a = recordingSocket()
    const b = recordingSocket()
    const queueA = new SendQueue(a, undefined, undefined, scheduler)
    const queueB = new SendQueue(b, undefined, undefined, scheduler)
    queueA.push(Buffer.from('<a1/>'), true)
    queueB.push(Buffer.from('<b1/>'), true)
    await nextTurn()
    // Still gathering: a quiet scheduler would have written by now.
    expect(a.calls).toHaveLength(0)
    queueA.push(Buffer.from('<a2/>'), false)
    queueB.push(Buffer.from('<b2/>'), true)
    await after(60) // a timer set after the tick's fires after it
    expect(a.calls).toEqual([['<a1/>', '<a2/>']])
    expect(b.calls).toEqual([['<b1/>', '<b2/>']])
  })

  it('after a quiet spell writes at once again', async () => {
    const scheduler = new FlushScheduler({ tickMs: 5, busyFramesPerSecond: 1000 })
    const socket = recordingSocket()
    const queue = new SendQueue(socket, undefined, undefined, scheduler)
    await keepBusy(queue, scheduler)
    expect(scheduler.isBusy()).toBe(true)
    await after(250) // nothing written for more than two windows
    expect(scheduler.isBusy()).toBe(false)
    const written = socket.calls.length
    queue.push(Buffer.from('<x/>'), true)
    await nextTurn()
    expect(socket.calls.slice(written)).toEqual([['<x/>']])
  })

  it('tickMs 0 never waits, however busy', async () => {
    const scheduler = new FlushScheduler({ tickMs: 0, busyFramesPerSecond: 1 })
    const socket = recordingSocket()
    const queue = new SendQueue(socket, undefined, undefined, scheduler)
    for (let round = 0; round < 3; round++) {
      queue.push(Buffer.from(`<r${round}/>`), true)
      await nextTurn()
      expect(socket.calls).toHaveLength(round + 1)
    }
    expect(scheduler.isBusy()).toBe(false)
  })
})
