import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { SendQueue } from '../../../gateway/devices/streaming-queue.ts'

/** A socket whose peer never reads: the first write is accepted and never completes. */
function stuckSocket(): Writable & { written: Buffer[] } {
  const written: Buffer[] = []
  const socket = new Writable({ highWaterMark: 1024, write: (chunk: Buffer) => void written.push(chunk) }) as Writable & {
    written: Buffer[]
  }
  socket.written = written
  return socket
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('SendQueue', () => {
  it('batches everything queued in one tick into one write', async () => {
    const written: Buffer[] = []
    const socket = new Writable({ write: (chunk: Buffer, _e, done) => (written.push(chunk), done()) })
    const queue = new SendQueue(socket)
    for (let i = 0; i < 50; i++) queue.push(Buffer.from(`<e${i}/>`), true)
    await tick()
    expect(written).toHaveLength(1)
    expect(written[0]!.toString()).toBe(Array.from({ length: 50 }, (_, i) => `<e${i}/>`).join(''))
  })

  it('hands a batch to a socket that gathers (writev) as one writev of the original buffers, in order', async () => {
    const calls: Buffer[][] = []
    const socket = new Writable({
      write: (_chunk: Buffer, _e, done) => (calls.push([]), done()),
      writev: (chunks, done) => (calls.push(chunks.map((c) => c.chunk as Buffer)), done())
    })
    const queue = new SendQueue(socket)
    const frames = Array.from({ length: 20 }, (_, i) => Buffer.from(`<e${i}/>`))
    for (const frame of frames) queue.push(frame, true)
    await tick()
    expect(calls).toHaveLength(1)
    expect(calls[0]!).toHaveLength(20)
    calls[0]!.forEach((chunk, i) => expect(chunk).toBe(frames[i]))
  })

  it('never pushes a control answer (pong, protocol answer) out to make room, while older and newer others go', async () => {
    const socket = stuckSocket()
    const cap = 128 * 1024 + 10_000
    const queue = new SendQueue(socket, cap)
    queue.push(Buffer.alloc(2000, 0x41), false) // goes to the stuck socket at the next tick
    await tick()
    queue.push(Buffer.alloc(1000, 0x42), false) // an older chat
    queue.push(Buffer.alloc(100, 0x52), false, true) // the answer the device waits for
    for (let i = 0; i < 30; i++) queue.push(Buffer.alloc(1000, 0x60 + (i % 10)), false) // a flood of non-positions
    const held = (queue as unknown as { frames: (Buffer | null)[] }).frames.filter((x): x is Buffer => x !== null)
    expect(held.some((b) => b[0] === 0x52)).toBe(true)
    expect(held.some((b) => b[0] === 0x42)).toBe(false)
    expect(queue.drops).toBeGreaterThan(0)
    expect(queue.queuedBytes).toBeLessThanOrEqual(10_000)
  })

  it('when full drops the oldest position reports first, keeps other events, and counts drops', async () => {
    const socket = stuckSocket()
    let reported = 0
    const cap = 128 * 1024 + 10_000 // 10 kB of room on top of the socket allowance
    const queue = new SendQueue(socket, cap, (n) => (reported += n))
    queue.push(Buffer.alloc(2000, 0x41), false) // goes to the stuck socket at the next tick
    await tick()
    queue.push(Buffer.alloc(1000, 0x43), false) // a chat: must survive
    for (let i = 0; i < 20; i++) queue.push(Buffer.alloc(1000, 0x50 + (i % 10)), true)
    expect(queue.queuedBytes).toBeLessThanOrEqual(10_000)
    expect(queue.drops).toBeGreaterThan(0)
    expect(reported).toBe(queue.drops)
    // unstick: everything still queued is written; the chat is first and the newest positions survived
    const written: Buffer[] = []
    const held = (queue as unknown as { frames: (Buffer | null)[] }).frames.filter((x) => x !== null)
    written.push(...held)
    expect(written[0]![0]).toBe(0x43)
    expect(written.at(-1)![0]).toBe(0x50 + (19 % 10))
    expect(queue.heldBytes).toBeLessThanOrEqual(cap)
  })

  it('drops older non-position events only when nothing else is left, and refuses a frame larger than the budget', async () => {
    const socket = stuckSocket()
    const queue = new SendQueue(socket, 128 * 1024 + 5000)
    queue.push(Buffer.alloc(2000), false)
    await tick()
    for (let i = 0; i < 10; i++) expect(queue.push(Buffer.alloc(1000, i), false)).toBe(true)
    expect(queue.queuedBytes).toBeLessThanOrEqual(5000)
    expect(queue.push(Buffer.alloc(1000, 0x50), true)).toBe(false) // a position does not push out a chat
    expect(queue.push(Buffer.alloc(6000), false)).toBe(false)
    expect(queue.drops).toBe(5 + 1 + 1)
  })
  it('keeps queue + socket within the cap (give or take one frame) while the socket takes writes it never sends', async () => {
    // Unlike stuckSocket(), write() keeps saying yes (a 4 MiB mark), so only the queue's own limits hold the bytes.
    const socket = new Writable({ highWaterMark: 4 * 1_048_576, write: () => {} })
    const cap = 512 * 1024
    const frame = 1024
    const queue = new SendQueue(socket, cap)
    let most = 0
    for (let i = 0; i < 3000; i++) {
      queue.push(Buffer.alloc(frame, i % 256), true)
      if (i % 50 === 49) await tick()
      most = Math.max(most, queue.heldBytes)
    }
    await tick()
    most = Math.max(most, queue.heldBytes)
    expect(socket.writableLength).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(cap + frame)
  })
})
