// The federation server opens the HTTP/2 receive window of the connection a call arrives on (flow-control.ts reaches
// into grpc-js for the session). Shown by what a client can send to a server that is not reading: the difference with
// and without it is the window itself.

import * as grpc from '@grpc/grpc-js'
import { afterEach, expect, it } from 'vitest'
import { FEDERATION_WINDOW_BYTES, widenReceiveWindow } from '../../../../gateway/federation/tak/flow-control.ts'

const MESSAGE_BYTES = 16 * 1024
const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b }
const definition: grpc.ServiceDefinition = {
  Upload: {
    path: '/test.Sink/Upload',
    requestStream: true,
    responseStream: false,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize
  }
}
const Client = grpc.makeGenericClientConstructor(definition, 'Sink')

let cleanup: (() => void)[] = []
afterEach(() => {
  for (const c of cleanup) c()
  cleanup = []
})

/**
 * Bytes a client gets accepted (write callbacks) by a server that never reads, until nothing moves for two seconds:
 * a pause that long on a loaded two-core machine is not taken for the window being full.
 */
async function acceptedByStalledServer(widen: boolean): Promise<{ bytes: number; widened: boolean }> {
  let widened = false
  const server = new grpc.Server()
  server.addService(definition, {
    Upload: (call: grpc.ServerReadableStream<Buffer, Buffer>) => {
      if (widen) widened = widenReceiveWindow(call)
      call.pause() // never reads: only the windows decide what the client can send
    }
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)))
  )
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  cleanup.push(() => {
    client.close()
    server.forceShutdown()
  })
  const call = (client as unknown as { Upload: (cb: () => void) => grpc.ClientWritableStream<Buffer> }).Upload(() => {})
  call.on('error', () => {})
  let accepted = 0
  let lastProgress = Date.now()
  const payload = Buffer.alloc(MESSAGE_BYTES, 0x5a)
  // Keep a few writes outstanding; stop when the window holds everything back (bounded: at most 16 MiB offered).
  let offered = 0
  while (Date.now() - lastProgress < 2000 && offered < 1024) {
    while (offered - accepted / MESSAGE_BYTES < 4 && offered < 1024) {
      offered++
      call.write(payload, () => {
        accepted += MESSAGE_BYTES
        lastProgress = Date.now()
      })
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  return { bytes: accepted, widened }
}

it('opening the window on the server side lets a client get the whole window more through to a stalled server', async () => {
  // What goes through without it: HTTP/2's 64 KiB window plus what the client's HTTP/2 layer buffers (~1 MiB here).
  const plain = await acceptedByStalledServer(false)
  const opened = await acceptedByStalledServer(true)
  expect(opened.widened).toBe(true)
  expect(opened.bytes - plain.bytes).toBeGreaterThan(FEDERATION_WINDOW_BYTES - 512 * 1024)
  expect(opened.bytes - plain.bytes).toBeLessThan(FEDERATION_WINDOW_BYTES + 512 * 1024)
}, 20_000)
