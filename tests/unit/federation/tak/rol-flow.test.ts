// ROL flow control (gateway/federation/tak/rol-flow.ts) on real Node streams: outbound messages go in order, are
// built only when less than the byte budget is on its way, wait for the stream, are not queued twice under one key,
// and count as sent only on the write's callback; inbound messages are handled one at a time with the stream paused.

import { PassThrough, Readable, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { readRolInOrder, RolSender, ROL_READ_AHEAD, type OutgoingRol, type RolStream } from '../../../../gateway/federation/tak/rol-flow.ts'
import type { RolMessageWire } from '../../../../gateway/federation/tak/proto.ts'
import { until } from '../../../support/devices.ts'

const KiB = 1024
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * An object-mode stream (as grpc-js's) whose writes complete only when the test says so, as HTTP/2 under flow
 * control. `written` is what the sender handed to write(); Writable itself passes them on one at a time.
 */
class HeldStream implements RolStream {
  readonly written: RolMessageWire[] = []
  private pending: ((error?: Error | null) => void) | null = null
  private readonly inner = new Writable({
    objectMode: true,
    highWaterMark: 16,
    write: (_message: RolMessageWire, _encoding, callback) => {
      this.pending = callback
    }
  })
  write(message: RolMessageWire, callback: (error?: Error | null) => void): boolean {
    this.written.push(message)
    return this.inner.write(message, callback)
  }
  get writableEnded(): boolean {
    return this.inner.writableEnded
  }
  get destroyed(): boolean {
    return this.inner.destroyed
  }
  destroy(): void {
    this.inner.destroy()
  }
  /** Complete the write in progress; true when there was one. */
  completeOne(): boolean {
    const callback = this.pending
    this.pending = null
    callback?.()
    return callback !== null
  }
  /** Complete writes until `count` have completed. */
  async complete(count = 1): Promise<void> {
    for (let done = 0; done < count;) {
      if (this.completeOne()) done++
      else await tick()
    }
  }
}

function message(name: string, bytes: number): RolMessageWire {
  return { program: `create resource\n{"name":"${name}"};`, payload: bytes > 0 ? [{ type: 'OTHER', data: Buffer.alloc(bytes) }] : [] }
}

interface Recorder {
  built: string[]
  sent: string[]
  drops: Record<string, number>
  errors: string[]
}

function item(rec: Recorder, name: string, bytes: number, key: string | null = null): OutgoingRol {
  return {
    key,
    build: async () => {
      rec.built.push(name)
      await tick()
      return message(name, bytes)
    },
    onSent: () => void rec.sent.push(name)
  }
}

function sender(stream: () => RolStream | null, maxInFlight = 64 * KiB, maxWaiting = 100): { rol: RolSender; rec: Recorder } {
  const rec: Recorder = { built: [], sent: [], drops: {}, errors: [] }
  const rol = new RolSender(
    stream,
    (reason, count) => (rec.drops[reason] = (rec.drops[reason] ?? 0) + count),
    (err) => rec.errors.push(err.message),
    maxInFlight,
    maxWaiting
  )
  return { rol, rec }
}

describe('RolSender', () => {
  it('builds the next message only when less than the budget is on its way, and keeps the order', async () => {
    const stream = new HeldStream()
    const { rol, rec } = sender(() => stream)
    for (let i = 0; i < 10; i++) rol.send(item(rec, `p${i}`, 24 * KiB))
    await until(() => stream.written.length === 3, 1000, 'three writes')
    await tick()
    // 24 + 24 < 64 KiB: a third goes; 72 KiB is past the budget, so nothing more is built.
    expect(rec.built).toEqual(['p0', 'p1', 'p2'])
    expect(rol.backlog()).toEqual({ messages: 7, bytes: 72 * KiB })
    expect(rec.sent).toEqual([])

    await stream.complete(1)
    await until(() => stream.written.length === 4, 1000, 'the next write')
    await tick()
    expect(rec.built).toEqual(['p0', 'p1', 'p2', 'p3'])
    expect(rec.sent).toEqual(['p0'])

    await stream.complete(9)
    await until(() => rec.sent.length === 10, 1000, 'all sent')
    expect(stream.written.map((m) => /"name":"(\w+)"/.exec(m.program)![1])).toEqual(rec.built)
    expect(rec.sent).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9'])
    expect(rol.backlog()).toEqual({ messages: 0, bytes: 0 })
    expect(rec.drops).toEqual({})
  })

  it('lets one message larger than the budget go on its own', async () => {
    const stream = new HeldStream()
    const { rol, rec } = sender(() => stream, 64 * KiB)
    rol.send(item(rec, 'big', 1024 * KiB))
    rol.send(item(rec, 'small', 1 * KiB))
    await until(() => stream.written.length === 1, 1000, 'the big one')
    await tick()
    expect(rec.built).toEqual(['big'])
    await stream.complete()
    await until(() => stream.written.length === 2, 1000, 'the small one')
  })

  it('refuses a message past what the waiting ones may hold, counts it as full, and takes more once some have gone', async () => {
    let stream: HeldStream | null = null
    const rec: Recorder = { built: [], sent: [], drops: {}, errors: [] }
    const rol = new RolSender(
      () => stream,
      (reason, count) => (rec.drops[reason] = (rec.drops[reason] ?? 0) + count),
      (err) => rec.errors.push(err.message),
      64 * KiB,
      100,
      10 * KiB
    )
    const holding = (name: string): OutgoingRol => ({ ...item(rec, name, 10), holds: 4 * KiB })
    expect([rol.send(holding('a')), rol.send(holding('b')), rol.send(holding('c'))]).toEqual([true, true, false])
    expect(rec.drops).toEqual({ full: 1 })
    expect(rol.backlog()).toEqual({ messages: 2, bytes: 8 * KiB })
    stream = new HeldStream()
    rol.pump()
    await until(() => stream!.written.length === 2, 1000, 'both written')
    expect(rol.send(holding('d'))).toBe(true)
  })

  it('waits for the stream to open', async () => {
    let stream: HeldStream | null = null
    const { rol, rec } = sender(() => stream)
    rol.send(item(rec, 'a', 10))
    rol.send(item(rec, 'b', 10))
    await tick()
    expect(rec.built).toEqual([])
    expect(rol.backlog().messages).toBe(2)
    stream = new HeldStream()
    rol.pump()
    await until(() => stream!.written.length === 2, 1000, 'both written')
    expect(rec.built).toEqual(['a', 'b'])
  })

  it('keeps a message whose stream went away while it was being built, and sends it when the stream is back', async () => {
    let stream: HeldStream | null = new HeldStream()
    const first = stream
    const { rol, rec } = sender(() => stream)
    rol.send({
      key: 'create:p1',
      build: async () => {
        rec.built.push('p1')
        if (rec.built.length === 1) stream = null
        await tick()
        return message('p1', 10)
      },
      onSent: () => void rec.sent.push('p1')
    })
    await until(() => rec.built.length === 1, 1000, 'the build')
    await tick()
    expect(first.written).toEqual([])
    expect(rol.backlog().messages).toBe(1)
    expect(rol.send(item(rec, 'dup', 10, 'create:p1'))).toBe(false)
    stream = new HeldStream()
    rol.pump()
    await until(() => stream!.written.length === 1, 1000, 'written to the new stream')
    await stream.complete()
    await until(() => rec.sent.length === 1, 1000, 'sent')
    expect(rec.built).toEqual(['p1', 'p1'])
    expect(rec.drops).toEqual({})
  })

  it('does not queue a key twice while it waits or is on its way; again once it has gone', async () => {
    const stream = new HeldStream()
    const { rol, rec } = sender(() => stream)
    expect(rol.send(item(rec, 'd1', 10, 'disperse:x'))).toBe(true)
    expect(rol.send(item(rec, 'd2', 10, 'disperse:x'))).toBe(false)
    await until(() => stream.written.length === 1, 1000, 'the first')
    expect(rol.send(item(rec, 'd3', 10, 'disperse:x'))).toBe(false)
    await stream.complete()
    await until(() => rec.sent.length === 1, 1000, 'sent')
    await tick()
    expect(rol.send(item(rec, 'd4', 10, 'disperse:x'))).toBe(true)
    await until(() => stream.written.length === 2, 1000, 'the second')
    expect(rec.built).toEqual(['d1', 'd4'])
  })

  it('keeps the key until onSent has finished (recording a package as shared), so an offer meanwhile is not queued', async () => {
    const stream = new HeldStream()
    const { rol, rec } = sender(() => stream)
    let finishRecording: () => void = () => {}
    const recording = new Promise<void>((resolve) => (finishRecording = resolve))
    rol.send({ key: 'create:p1', build: async () => message('p1', 10), onSent: () => recording })
    await until(() => stream.written.length === 1, 1000, 'written')
    await stream.complete()
    await tick()
    expect(rol.send(item(rec, 'again', 10, 'create:p1'))).toBe(false)
    finishRecording()
    await tick()
    await tick()
    expect(rol.send(item(rec, 'later', 10, 'create:p1'))).toBe(true)
  })

  it('on close drops what waits, never reports unsent ones as sent, and refuses more', async () => {
    const stream = new HeldStream()
    const { rol, rec } = sender(() => stream, 16 * KiB)
    for (let i = 0; i < 5; i++) rol.send(item(rec, `p${i}`, 16 * KiB))
    await until(() => stream.written.length === 1, 1000, 'one write')
    rol.close()
    expect(rec.drops).toEqual({ closed: 4 })
    expect(rol.send(item(rec, 'late', 10))).toBe(false)
    expect(rec.drops).toEqual({ closed: 5 })
    // The one already handed over still completes (it went); none of the dropped ones is built or written after it.
    await stream.complete()
    await tick()
    await tick()
    expect(rec.sent).toEqual(['p0'])
    expect(rec.built).toEqual(['p0'])
    expect(stream.written).toHaveLength(1)
  })

  it('refuses past the waiting limit, counted as full', () => {
    const { rol, rec } = sender(() => null, 64 * KiB, 3)
    for (let i = 0; i < 5; i++) rol.send(item(rec, `p${i}`, 10))
    expect(rec.drops).toEqual({ full: 2 })
    expect(rol.backlog().messages).toBe(3)
  })

  it('goes on after a message that cannot be built, and skips one that builds to nothing', async () => {
    const stream = new HeldStream()
    const { rol, rec } = sender(() => stream)
    rol.send({ key: null, build: async () => Promise.reject(new Error('zip unreadable')) })
    rol.send({ key: null, build: async () => null })
    rol.send(item(rec, 'ok', 10))
    await until(() => stream.written.length === 1, 1000, 'the good one')
    expect(rec.errors).toEqual(['zip unreadable'])
    expect(rec.built).toEqual(['ok'])
  })
})

describe('readRolInOrder', () => {
  it('handles one message at a time, in order, with the stream paused meanwhile', async () => {
    const stream = new PassThrough({ objectMode: true })
    const handled: number[] = []
    let running = 0
    let most = 0
    let pausedWhileHandling = true
    readRolInOrder<number>(
      stream,
      async (n) => {
        running++
        most = Math.max(most, running)
        pausedWhileHandling &&= stream.isPaused()
        await new Promise((resolve) => setTimeout(resolve, n % 3))
        handled.push(n)
        running--
        if (n === 4) throw new Error('bad message')
      },
      () => {}
    )
    for (let i = 0; i < 30; i++) stream.write(i)
    await until(() => handled.length === 30, 1000, 'all handled')
    expect(handled).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect(most).toBe(1)
    expect(pausedWhileHandling).toBe(true)
    await until(() => !stream.isPaused(), 1000, 'the stream to flow again')
  })

  it('reads no further ahead than ROL_READ_AHEAD while a message is being handled (a grpc-js stream would read 16)', async () => {
    // Like grpc-js's call streams: an object Readable that takes the next message from the peer only when asked.
    let produced = 0
    const stream = new Readable({
      objectMode: true,
      read() {
        if (produced < 40) this.push(produced++)
        else this.push(null)
      }
    })
    const handled: number[] = []
    let mostAhead = 0
    readRolInOrder<number>(
      stream,
      async (n) => {
        await new Promise((resolve) => setTimeout(resolve, 1))
        mostAhead = Math.max(mostAhead, produced - handled.length - 1)
        handled.push(n)
      },
      () => {}
    )
    await until(() => handled.length === 40, 1000, 'all handled')
    expect(handled).toEqual(Array.from({ length: 40 }, (_, i) => i))
    expect(mostAhead).toBeLessThanOrEqual(ROL_READ_AHEAD + 1)
  })
})
