// Hardening item 1: a registered federation peer that misbehaves on the wire. Garbage instead of HTTP/2, a gRPC
// frame announcing a 4 GiB message followed by megabytes, and a well-sized frame of junk protobuf: each ends that
// call or connection with an error, the heap stays bounded, and a well-behaved peer and local devices see every
// event of a steady stream sent during the abuse (no gap, no duplicate).

import { randomBytes } from 'node:crypto'
import http2 from 'node:http2'
import v8 from 'node:v8'
import vm from 'node:vm'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { takFederationArea, type TakFederation } from '../../../gateway/federation/tak/index.ts'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity, until } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { leafCertificate, probeTls, throwawayCa, type HardeningLeaf } from '../../support/hardening-certs.ts'
import { TakFederate } from '../../support/tak-federate.ts'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

function heapAfterGc(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

function sequenced(seq: number): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 120_000)
  return (
    `<event version="2.0" uid="STEADY-UID" type="a-f-G-U-C" how="m-g" time="${now.toISOString()}" start="${now.toISOString()}"` +
    ` stale="${stale.toISOString()}">` +
    `<point lat="1" lon="2" hae="3" ce="4" le="5"/><detail><contact callsign="STEADY"/><remarks>seq-${seq}-end</remarks></detail></event>`
  )
}

const seqOf = (text: string): number | null => {
  const match = /seq-(\d+)-end/.exec(text)
  return match ? Number(match[1]) : null
}

interface CallOutcome {
  grpcStatus: number | null
  /** The stream or the whole connection was reset/closed by the server. */
  reset: boolean
  /** Bytes of the body we managed to hand to the socket before the server stopped us. */
  sent: number
}

/** One raw HTTP/2 call to the federation port: a gRPC frame header `prefix`, then `bodyBytes` of filler. */
function rawGrpcCall(port: number, peer: HardeningLeaf, method: string, prefix: Buffer, bodyBytes: number): Promise<CallOutcome> {
  return new Promise((resolve) => {
    const outcome: CallOutcome = { grpcStatus: null, reset: false, sent: 0 }
    const tlsOptions = { key: peer.keyPem, cert: peer.chainPem, rejectUnauthorized: false, servername: 'localhost' }
    const session = http2.connect(`https://127.0.0.1:${port}`, tlsOptions)
    session.on('error', () => {
      outcome.reset = true
    })
    const timer = setTimeout(finish, 8000)
    function finish(): void {
      clearTimeout(timer)
      session.destroy()
      resolve(outcome)
    }
    const stream = session.request({
      ':method': 'POST',
      ':path': `/com.atakmap.FederatedChannel/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers'
    })
    // The final status ends our interest: the server stops reading, our half of the stream would stay open forever.
    const take = (headers: http2.IncomingHttpHeaders): void => {
      if (headers['grpc-status'] === undefined) return
      outcome.grpcStatus = Number(headers['grpc-status'])
      finish()
    }
    stream.on('response', take)
    stream.on('trailers', take)
    stream.on('data', () => {})
    stream.on('error', () => {
      outcome.reset = true
    })
    stream.on('close', finish)
    const filler = randomBytes(64 * 1024)
    stream.write(prefix)
    const pump = (): void => {
      while (outcome.sent < bodyBytes && !stream.destroyed && outcome.grpcStatus === null) {
        outcome.sent += filler.length
        if (!stream.write(filler)) {
          stream.once('drain', pump)
          return
        }
      }
    }
    pump()
  })
}

function frameHeader(length: number): Buffer {
  const header = Buffer.alloc(5)
  header.writeUInt8(0, 0)
  header.writeUInt32BE(length, 1)
  return header
}

describe('a federation peer that sends garbage', () => {
  let t: TestGateway
  let fed: TakFederation
  let sender: DeviceClient
  let listener: DeviceClient
  let good: TakFederate
  let abuser: HardeningLeaf
  let abuserId = ''
  let goodId = ''

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-garbage' } })
    fed = takFederationArea(t.services)!
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Garbage', plan: 'team' }, admin)
    const networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
    const ca = throwawayCa('Peers CA')
    abuser = leafCertificate(ca, 'abuser', -1, 30)
    const goodCert = leafCertificate(ca, 'good', -1, 30)
    abuserId = (await t.ok('addExternalPeer', { networkId, fingerprint: abuser.fingerprint, displayName: 'Abuser' }, admin)).id
    goodId = (await t.ok('addExternalPeer', { networkId, fingerprint: goodCert.fingerprint, displayName: 'Good' }, admin)).id
    sender = await DeviceClient.connect({ port: t.services.ports.streaming, ...(await enrollIdentity(t, admin, networkId, 'STEADY')) })
    listener = await DeviceClient.connect({ port: t.services.ports.streaming, ...(await enrollIdentity(t, admin, networkId, 'LISTENER')) })
    good = new TakFederate({
      port: fed.port,
      ca: t.services.pki.caCertPem,
      key: goodCert.keyPem,
      certChain: goodCert.chainPem,
      healthIntervalMs: 300
    }).start()
    await good.serving()
    await until(() => fed.sessionsOf(goodId).length === 1, 3000)
  })

  afterAll(async () => {
    good?.close()
    await sender?.close()
    await listener?.close()
    await t?.stop()
  })

  it('each attack ends with an error, memory stays bounded, and a steady stream reaches everyone without a gap', async () => {
    // A steady stream from a local device for the whole attack: every 20 ms one numbered event.
    let next = 0
    const streamTimer = setInterval(() => sender.send(sequenced(next++)), 20)
    try {
      await until(() => listener.events.some((e) => seqOf(e.detailXml) !== null), 3000)
      const heapBefore = heapAfterGc()

      // 1. Garbage instead of the HTTP/2 preface: the connection is dropped.
      const abuserTls = { port: fed.port, cert: abuser.certPem, key: abuser.keyPem, alpn: ['h2'] }
      const garbage = await probeTls({ ...abuserTls, payload: randomBytes(256 * 1024), waitMs: 3000 })
      expect(garbage.closed).toBe(true)

      // 2. A frame announcing ~4 GiB, then 32 MiB of filler: refused (RESOURCE_EXHAUSTED or a reset) long before the end.
      const huge = await rawGrpcCall(fed.port, abuser, 'ServerEventStream', frameHeader(0xfffffff0), 32 * 1_048_576)
      expect(huge.grpcStatus === grpc.status.RESOURCE_EXHAUSTED || (huge.grpcStatus === null && huge.reset)).toBe(true)
      expect(huge.grpcStatus).not.toBe(grpc.status.OK)

      // 3. A well-sized frame of junk protobuf on the unary call: an error status, not a crash.
      // Not plain random bytes: about 2 % of random 4 KiB buffers decode as a valid FederatedEvent (unknown fields are
      // skipped), so the call rightly succeeded now and then. A first tag naming an unknown field with wire type 7
      // (there is no such wire type) never decodes: 0 of 20,000 tried.
      const junk = Buffer.concat([Buffer.from([(15 << 3) | 7]), randomBytes(4095)])
      const junkCall = await rawGrpcCall(fed.port, abuser, 'SendOneEvent', Buffer.concat([frameHeader(junk.length), junk]), 0)
      expect(junkCall.grpcStatus === null ? junkCall.reset : junkCall.grpcStatus !== grpc.status.OK).toBe(true)

      // Keep attacking for a while (garbage and the big frame, alternately): a leak per attack would add up, and the
      // steady stream needs time to show a gap.
      const attackUntil = Date.now() + 1500
      let rounds = 0
      while (Date.now() < attackUntil || rounds < 3) {
        await probeTls({ ...abuserTls, payload: randomBytes(64 * 1024), waitMs: 1000 })
        await rawGrpcCall(fed.port, abuser, 'ServerEventStream', frameHeader(0x7ffffff0), 8 * 1_048_576)
        rounds++
      }

      const heapDelta = heapAfterGc() - heapBefore
      // 32 MiB + 8 MiB per round were offered; buffering any of it whole would exceed this.
      expect(heapDelta).toBeLessThan(24 * 1_048_576)
      // No abusive session survives.
      await until(() => fed.sessionsOf(abuserId).length === 0, 3000)
    } finally {
      clearInterval(streamTimer)
    }
    const last = next - 1
    await until(() => listener.events.some((e) => seqOf(e.detailXml) === last), 5000)
    await good.waitUntil(() => good.received.some((m) => seqOf(m.event?.other ?? '') === last), 5000, 'the last event at the good peer')

    const seen = (texts: string[]): number[] => texts.map(seqOf).filter((n): n is number => n !== null)
    for (const received of [seen(listener.events.map((e) => e.detailXml)), seen(good.received.map((m) => m.event?.other ?? ''))]) {
      const first = received[0]!
      expect(received.length).toBe(last - first + 1)
      expect(received).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i))
    }
    expect(last).toBeGreaterThan(50)
    // The well-behaved peer was never disturbed.
    expect(fed.sessionsOf(goodId)).toHaveLength(1)
    expect(good.ended.size).toBe(0)
  })
})
