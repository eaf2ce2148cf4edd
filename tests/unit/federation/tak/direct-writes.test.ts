// The federation event writers (direct-writes.ts) with real grpc-js on both ends and the FederatedChannel definition.
// Dialing side: once the call is up, gRPC frames go straight to the call's HTTP/2 stream, so a burst goes out in a few
// event-loop turns instead of one message per turn, in order, each its own FederatedEvent; what grpc-js was given
// before the switch still goes first; an over-limit message still fails the call as grpc-js would.
// Accepting side: frames gathered in a turn go out as one write, so a grpc-js client (which pauses its HTTP/2 stream
// for every DATA frame it takes) reads a burst in a few turns instead of one frame at a time.

import { performance as nodePerformance } from 'node:perf_hooks'
import { Writable } from 'node:stream'
import * as grpc from '@grpc/grpc-js'
import { afterEach, describe, expect, it } from 'vitest'
import { batchWrites, ClientEventWriter, ServerEventWriter } from '../../../../gateway/federation/tak/direct-writes.ts'
import { Outbox } from '../../../../gateway/federation/tak/outbox.ts'
import { loadFigService, type FederatedEventMessage } from '../../../../gateway/federation/tak/proto.ts'

const service = loadFigService()
const serialize = service.definition.ServerEventStream!.requestSerialize as (message: unknown) => Buffer
let cleanup: (() => void)[] = []
afterEach(() => {
  for (const c of cleanup) c()
  cleanup = []
})

interface Link {
  writer: ClientEventWriter
  received: string[]
  status: Promise<grpc.ServiceError | null>
}

/** A server that records the uid of every FederatedEvent on ServerEventStream, and a client call wrapped in the writer. */
/** `stopReadingAfter`: the server stops reading after that many events (a peer that stalls). */
async function link(maxMessageBytes = 4 * 1024 * 1024, stopReadingAfter = Infinity): Promise<Link> {
  const received: string[] = []
  const server = new grpc.Server()
  const unimplemented = (call: { emit?: unknown }, callback?: (e: grpc.ServiceError) => void): void => {
    void call
    callback?.({ code: grpc.status.UNIMPLEMENTED } as grpc.ServiceError)
  }
  const handlers: grpc.UntypedServiceImplementation = {}
  for (const name of Object.keys(service.definition)) handlers[name] = unimplemented as grpc.UntypedHandleCall
  handlers.ServerEventStream = ((
    call: grpc.ServerReadableStream<FederatedEventMessage, unknown>,
    callback: grpc.sendUnaryData<unknown>
  ) => {
    call.on('data', (event: FederatedEventMessage) => {
      received.push(event.event?.uid ?? '?')
      if (received.length >= stopReadingAfter) call.pause()
    })
    call.on('end', () => callback(null, {}))
  }) as grpc.UntypedHandleCall
  server.addService(service.definition, handlers)
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)))
  )
  const client = new service.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.enable_retries': 0,
    'grpc.max_send_message_length': maxMessageBytes
  })
  cleanup.push(() => {
    client.close()
    server.forceShutdown()
  })
  let settle: (error: grpc.ServiceError | null) => void = () => {}
  const status = new Promise<grpc.ServiceError | null>((resolve) => (settle = resolve))
  const call = (
    client as unknown as { ServerEventStream: (cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown> }
  ).ServerEventStream((error) => settle(error))
  call.on('error', () => {})
  return { writer: new ClientEventWriter(call, serialize, maxMessageBytes), received, status }
}

const event = (uid: string): Buffer =>
  serialize({
    event: { type: 'a-f-G-U-C', uid, sendTime: 1, startTime: 1, staleTime: 2, how: 'm-g', lat: 1, lon: 2, hae: 0, ce: 9, le: 9 }
  })

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function turnsUntil(done: () => boolean, limit: number): Promise<number> {
  let turns = 0
  while (!done() && turns < limit) {
    await turn()
    turns++
  }
  return turns
}

it('once the call is up, a burst of events reaches the server in a few turns, in order, each its own message', async () => {
  const { writer, received, status } = await link()
  // The first event goes through grpc-js (the HTTP/2 stream does not exist before the call has started).
  writer.write(event('first'))
  expect(writer.direct).toBe(false)
  await turnsUntil(() => received.length === 1, 2000)
  expect(received).toEqual(['first'])

  const burst = 3000
  // Through an outbox, as the session sends: it honours the stream's backpressure ('drain' of whichever stream said full).
  const outbox = new Outbox(writer, 10_000)
  for (let i = 0; i < burst; i++) outbox.send(event(`e${i}`), true)
  expect(writer.direct).toBe(true)
  // grpc-js's own relay passes one message per completed HTTP/2 write, at least one turn each: 3,000 would need 3,000+.
  const turns = await turnsUntil(() => received.length === burst + 1, 2000)
  expect(received.length).toBe(burst + 1)
  expect(turns).toBeLessThan(300)
  expect(received.slice(1)).toEqual(Array.from({ length: burst }, (_, i) => `e${i}`))
  expect(writer.directWrites.messages).toBe(burst)
  expect(writer.directWrites.writes).toBeLessThan(30)

  writer.call.end()
  expect(await status).toBeNull()
}, 30_000)

it('messages grpc-js still holds go before the first direct frame', async () => {
  const { writer, received } = await link()
  // Written before the call has reached HTTP/2: grpc-js holds them; the writer must not overtake them.
  // Then more every turn, as a busy link does: without holding new ones back grpc-js would never catch up.
  const outbox = new Outbox(writer, 100_000)
  for (let i = 0; i < 50; i++) outbox.send(event(`held${i}`), true)
  let next = 0
  let turnsDirect = 0
  for (let turns = 0; turns < 5000 && turnsDirect < 50; turns++) {
    for (let i = 0; i < 10; i++) outbox.send(event(`then${next++}`), true)
    await turn()
    if (writer.direct) turnsDirect++
  }
  expect(writer.direct).toBe(true)
  const expected = [...Array.from({ length: 50 }, (_, i) => `held${i}`), ...Array.from({ length: next }, (_, i) => `then${i}`)]
  await turnsUntil(() => received.length === expected.length, 2000)
  expect(received).toEqual(expected)
}, 30_000)

it('an event over the message limit fails the call as grpc-js does, not sent as a frame', async () => {
  const { writer, received, status } = await link(2000)
  writer.write(event('small'))
  await turnsUntil(() => received.length === 1, 2000)
  writer.write(event('small2'))
  expect(writer.direct).toBe(true)
  writer.write(serialize({ event: { type: 'a-f-G', uid: 'big', other: 'x'.repeat(5000) } }))
  const error = await status
  expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
  expect(received).not.toContain('big')
}, 30_000)

it('a peer that stops reading: the writer listens for one drain however many turns find the stream full', async () => {
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => void warnings.push(warning)
  process.on('warning', onWarning)
  try {
    const { writer, received } = await link(4 * 1024 * 1024, 1)
    writer.write(event('first'))
    await turnsUntil(() => received.length === 1, 2000)
    const outbox = new Outbox(writer, 2000)
    // A trickle (20 events a turn) into a stream whose window is full: its buffer grows past its own mark turn after
    // turn before ours is reached, then the outbox holds and drops the rest.
    for (let t = 0; t < 150; t++) {
      for (let i = 0; i < 20; i++) outbox.send(event(`x${t}-${i}`), true)
      await turn()
    }
    expect(writer.direct).toBe(true)
    expect(outbox.length).toBeLessThanOrEqual(2000)
    expect(received.length).toBeLessThan(100)
    await turn()
    expect(warnings.map((w) => w.message)).toEqual([])
  } finally {
    process.off('warning', onWarning)
  }
}, 30_000)

it('waiting for grpc-js to catch up with a peer that never reads does not keep the event loop busy', async () => {
  const { writer } = await link(4 * 1024 * 1024, 0)
  const outbox = new Outbox(writer, 100_000)
  // Big enough to fill the peer's 64 KiB window: grpc-js's relay stalls, so the writer waits for it to catch up.
  const filler = serialize({ event: { type: 'a-f-G', uid: 'filler', other: 'x'.repeat(8000) } })
  for (let i = 0; i < 40; i++) outbox.send(filler, true)
  await new Promise((resolve) => setTimeout(resolve, 100))
  // The call is up now, grpc-js still holds most of the fillers: the next event makes the writer wait for it.
  for (let i = 0; i < 300; i++) outbox.send(event(`late${i}`), true)
  const before = nodePerformance.eventLoopUtilization()
  await new Promise((resolve) => setTimeout(resolve, 300))
  const busy = nodePerformance.eventLoopUtilization(before).utilization
  expect(writer.direct).toBe(false)
  expect(busy).toBeLessThan(0.5)
}, 30_000)

describe('accepting side', () => {
  interface Served {
    uids: string[]
    /** Turns from the first event received until `expected` have arrived. */
    turns: Promise<number>
    writer: () => ServerEventWriter | null
    status: Promise<grpc.ServiceError | null>
  }

  /** A server whose ClientEventStream handler gives `send` an outbox over a ServerEventWriter; a grpc-js client reads. */
  async function serve(send: (outbox: Outbox) => void, expected: number, maxMessageBytes = 4 * 1024 * 1024): Promise<Served> {
    let writer: ServerEventWriter | null = null
    const server = new grpc.Server({ 'grpc.max_send_message_length': maxMessageBytes })
    const handlers: grpc.UntypedServiceImplementation = {}
    for (const name of Object.keys(service.definition)) handlers[name] = (() => {}) as grpc.UntypedHandleCall
    const eventSerialize = service.definition.ClientEventStream!.responseSerialize as (message: unknown) => Buffer
    handlers.ClientEventStream = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
      writer = new ServerEventWriter(call, eventSerialize, maxMessageBytes)
      send(new Outbox(writer, 100_000))
    }) as grpc.UntypedHandleCall
    server.addService(service.definition, handlers)
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)))
    )
    const client = new service.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
    cleanup.push(() => {
      client.close()
      server.forceShutdown()
    })
    const stream = (
      client as unknown as { ClientEventStream: (request: unknown) => grpc.ClientReadableStream<FederatedEventMessage> }
    ).ClientEventStream({})
    const uids: string[] = []
    let settle: (error: grpc.ServiceError | null) => void = () => {}
    const status = new Promise<grpc.ServiceError | null>((resolve) => (settle = resolve))
    stream.on('error', (error: grpc.ServiceError) => settle(error))
    stream.on('end', () => settle(null))
    const turns = new Promise<number>((resolve) => {
      stream.on('data', (message: FederatedEventMessage) => {
        uids.push(message.event?.uid ?? '?')
        if (uids.length === 1) void turnsUntil(() => uids.length >= expected, 20_000).then(resolve)
      })
    })
    return { uids, turns, writer: () => writer, status }
  }

  it('a burst reaches a grpc-js client in order and in a few turns, each event its own message', async () => {
    const burst = 3000
    const { uids, turns, writer } = await serve((outbox) => {
      for (let i = 0; i < burst; i++) outbox.send(event(`s${i}`), true)
    }, burst)
    expect(await turns).toBeLessThan(300)
    expect(writer()!.direct).toBe(true)
    // Gathered per turn: a handful of HTTP/2 writes, not one (and one DATA frame) per message.
    const { messages, writes } = writer()!.directWrites
    expect(messages).toBe(burst)
    expect(writes).toBeLessThan(30)
    expect(uids).toEqual(Array.from({ length: burst }, (_, i) => `s${i}`))
  }, 30_000)

  it('an event over the message limit ends the stream with RESOURCE_EXHAUSTED, as grpc-js does, and is not framed', async () => {
    const { status, uids, writer } = await serve(
      (outbox) => {
        outbox.send(event('small'), true)
        outbox.send(serialize({ event: { type: 'a-f-G', uid: 'big', other: 'x'.repeat(5000) } }), true)
      },
      1,
      2000
    )
    const error = await status
    expect(writer()!.direct).toBe(true)
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(uids).not.toContain('big')
  }, 30_000)
})

it('batchWrites lets a stream start every buffered write at once instead of one per completion', () => {
  const started: string[] = []
  const completions: (() => void)[] = []
  const make = (): Writable =>
    new Writable({
      objectMode: true,
      write(message: string, _e, done) {
        started.push(message)
        completions.push(() => done())
      }
    })
  const plain = make()
  for (const m of ['a', 'b', 'c', 'd']) plain.write(m)
  completions.shift()!()
  expect(started).toEqual(['a', 'b']) // one at a time

  started.length = 0
  completions.length = 0
  const batched = make()
  batchWrites(batched)
  for (const m of ['a', 'b', 'c', 'd']) batched.write(m)
  completions.shift()!()
  expect(started).toEqual(['a', 'b', 'c', 'd']) // the three buffered ones started together
  let drained = false
  batched.once('drain', () => (drained = true))
  for (const complete of completions.splice(0)) complete()
  expect(drained).toBe(false) // 'drain' comes on the next tick, once all of them completed
})
