import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { Outbox } from '../../../../gateway/federation/tak/outbox.ts'

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
    const outbox = new Outbox(g.stream, 100)
    for (let i = 0; i < 20; i++) expect(outbox.send(`m${i}`, true)).toEqual({ queued: true, dropped: 0 })
    expect(outbox.length).toBe(20 - 4)
    g.release()
    await settle()
    await settle()
    expect(g.written).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`))
    expect(outbox.length).toBe(0)
  })

  it('when full drops the oldest position report first, never a chat while a position can go', async () => {
    const g = gate(1)
    const outbox = new Outbox(g.stream, 5)
    outbox.send('first', false) // taken by the stream, which then holds back
    outbox.send('p1', true)
    outbox.send('chat', false)
    outbox.send('p2', true)
    outbox.send('p3', true)
    outbox.send('p4', true)
    expect(outbox.send('p5', true)).toEqual({ queued: true, dropped: 1 }) // p1 goes
    expect(outbox.send('contact', false)).toEqual({ queued: true, dropped: 1 }) // p2 goes
    g.release()
    await settle()
    expect(g.written).toEqual(['first', 'chat', 'p3', 'p4', 'p5', 'contact'])
    expect(outbox.dropped).toBe(2)
  })

  it('refuses a position when only non-positions wait; a non-position then pushes out the oldest of them', () => {
    const g = gate(1)
    const outbox = new Outbox(g.stream, 3)
    outbox.send('first', false)
    for (const m of ['c1', 'c2', 'c3']) outbox.send(m, false)
    expect(outbox.send('p', true)).toEqual({ queued: false, dropped: 1 })
    expect(outbox.send('c4', false)).toEqual({ queued: true, dropped: 1 })
    expect(outbox.length).toBe(3)
  })

  it('stays bounded and counts every drop under a long overload', async () => {
    const g = gate(16)
    const outbox = new Outbox(g.stream, 2000)
    let dropped = 0
    const total = 200_000
    for (let i = 0; i < total; i++) dropped += outbox.send(`p${i}`, true).dropped
    expect(outbox.length).toBe(2000)
    expect(dropped).toBe(total - 16 - 2000)
    g.release()
    await settle()
    await settle()
    // The newest 2,000 survive, in order.
    expect(g.written.slice(16)).toEqual(Array.from({ length: 2000 }, (_, i) => `p${total - 2000 + i}`))
  })

  it('drops what is sent to a closed stream', () => {
    const g = gate(4)
    g.stream.destroy()
    const outbox = new Outbox(g.stream, 10)
    expect(outbox.send('late', true)).toEqual({ queued: false, dropped: 1 })
  })
})
