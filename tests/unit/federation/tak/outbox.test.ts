import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { Outbox, type DropReason } from '../../../../gateway/federation/tak/outbox.ts'

/** Drops an outbox reported, by reason. */
function dropLog() {
  const counts: Partial<Record<DropReason, number>> = {}
  const sink = (reason: DropReason, count: number): void => void (counts[reason] = (counts[reason] ?? 0) + count)
  const total = (): number => Object.values(counts).reduce((a, b) => a + b, 0)
  return { counts, sink, total }
}

/** An object stream that takes `room` messages, then holds back until release() (which emits 'drain'). */
function gate(room: number) {
  const written: string[] = []
  let blocked = true
  let pending: (() => void)[] = []
  const stream = new Writable({
    objectMode: true,
    highWaterMark: room,
    write(message: string, _e, done) {
      written.push(message)
      if (blocked) pending.push(done)
      else done()
    }
  })
  return {
    stream,
    written,
    release(): void {
      blocked = false
      const waiting = pending
      pending = []
      for (const done of waiting) done()
    }
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('federation Outbox', () => {
  it('writes straight through while the stream takes messages, then queues and sends the rest in order on drain', async () => {
    const g = gate(4)
    const drops = dropLog()
    const outbox = new Outbox(g.stream, 100, 0, drops.sink)
    for (let i = 0; i < 20; i++) expect(outbox.send(`m${i}`, true)).toBe(true)
    expect(drops.total()).toBe(0)
    expect(outbox.length).toBe(20 - 4)
    g.release()
    await settle()
    await settle()
    expect(g.written).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`))
    expect(outbox.length).toBe(0)
  })

  it('counts encoded events by size: past the byte cap as many oldest positions go as the newcomer needs', async () => {
    const g = gate(1)
    const drops = dropLog()
    const bytes = (tag: string, size: number): Buffer => Buffer.alloc(size, tag)
    const outbox = new Outbox(g.stream, 1000, 0, drops.sink, 1000)
    outbox.send(bytes('0', 10), false) // taken by the stream, which then holds back
    for (const tag of ['a', 'b', 'c']) outbox.send(bytes(tag, 300), true)
    expect(outbox.length).toBe(3)
    expect(outbox.bytes).toBe(900)
    // 600 more bytes: two of the three positions must go (900 - 600 + 600 = 900 <= 1000).
    expect(outbox.send(bytes('d', 600), false)).toBe(true)
    expect(drops.counts).toEqual({ oldestPosition: 2 })
    expect(outbox.bytes).toBe(900)
    // A new position: the last old one ('c') makes room; the chat stays.
    expect(outbox.send(bytes('e', 300), true)).toBe(true)
    expect(drops.counts).toEqual({ oldestPosition: 3 })
    // A 700-byte chat: the position 'e' goes, and then, with no position left, the older chat too.
    expect(outbox.send(bytes('f', 700), false)).toBe(true)
    expect(drops.counts).toEqual({ oldestPosition: 4, full: 1 })
    g.release()
    await settle()
    expect(g.written.map((b) => (b as unknown as Buffer).toString('latin1', 0, 1))).toEqual(['0', 'f'])
  })

  it('counts encoded events by their bytes and message objects by number only', async () => {
    const g = gate(1)
    const drops = dropLog()
    const outbox = new Outbox(g.stream, 1000, 0, drops.sink, 1000)
    outbox.send(Buffer.from('first'), false) // taken by the stream, which then holds back
    outbox.send(Buffer.alloc(400, 'a'), false)
    outbox.send({ contact: { uid: 'c' } }, false)
    expect(outbox.bytes).toBe(400)
    outbox.send(Buffer.alloc(400, 'b'), false)
    // 800 + 400 > 1000: the oldest waiting message goes.
    outbox.send(Buffer.alloc(400, 'c'), false)
    expect(drops.counts).toEqual({ full: 1 })
    expect(outbox.bytes).toBe(800)
    g.release()
    await settle()
    expect(g.written.map((m) => (Buffer.isBuffer(m) ? m.toString('latin1', 0, 1) : 'contact'))).toEqual(['f', 'contact', 'b', 'c'])
  })

  it('when full drops the oldest position report first, never a chat while a position can go', async () => {
    const g = gate(1)
    const drops = dropLog()
    const outbox = new Outbox(g.stream, 5, 0, drops.sink)
    outbox.send('first', false) // taken by the stream, which then holds back
    outbox.send('p1', true)
    outbox.send('chat', false)
    outbox.send('p2', true)
    outbox.send('p3', true)
    outbox.send('p4', true)
    expect(outbox.send('p5', true)).toBe(true) // p1 goes
    expect(drops.counts).toEqual({ oldestPosition: 1 })
    expect(outbox.send('contact', false)).toBe(true) // p2 goes
    expect(drops.counts).toEqual({ oldestPosition: 2 })
    g.release()
    await settle()
    expect(g.written).toEqual(['first', 'chat', 'p3', 'p4', 'p5', 'contact'])
    expect(drops.total()).toBe(2)
  })

  it('refuses a position when only non-positions wait; a non-position then pushes out the oldest of them', () => {
    const g = gate(1)
    const drops = dropLog()
    const outbox = new Outbox(g.stream, 3, 0, drops.sink)
    outbox.send('first', false)
    for (const m of ['c1', 'c2', 'c3']) outbox.send(m, false)
    expect(outbox.send('p', true)).toBe(false)
    expect(drops.counts).toEqual({ full: 1 })
    expect(outbox.send('c4', false)).toBe(true)
    expect(drops.counts).toEqual({ full: 2 })
    expect(outbox.length).toBe(3)
  })

  it('stays bounded and counts every drop under a long overload', async () => {
    const g = gate(16)
    const drops = dropLog()
    const outbox = new Outbox(g.stream, 2000, 0, drops.sink)
    const total = 200_000
    for (let i = 0; i < total; i++) outbox.send(`p${i}`, true)
    expect(outbox.length).toBe(2000)
    expect(drops.counts).toEqual({ oldestPosition: total - 16 - 2000 })
    g.release()
    await settle()
    await settle()
    // The newest 2,000 survive, in order.
    expect(g.written.slice(16)).toEqual(Array.from({ length: 2000 }, (_, i) => `p${total - 2000 + i}`))
  })

  it('hands the stream a batch past its high-water mark before it waits for drain', async () => {
    const g = gate(4)
    const outbox = new Outbox(g.stream, 100, 8)
    for (let i = 0; i < 20; i++) outbox.send(`m${i}`, true)
    // The stream took 4 to its mark and 8 more; the rest wait with us, where the drop policy can choose.
    expect(outbox.length).toBe(20 - 4 - 8)
    g.release()
    await settle()
    await settle()
    expect(g.written).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`))
  })

  it('drops what is sent to a closed stream', () => {
    const g = gate(4)
    g.stream.destroy()
    const drops = dropLog()
    const outbox = new Outbox(g.stream, 10, 0, drops.sink)
    expect(outbox.send('late', true)).toBe(false)
    expect(drops.counts).toEqual({ closed: 1 })
  })
})
