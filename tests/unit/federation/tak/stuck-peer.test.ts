// A TAK federate that stops reading its ClientEventStream: our outbox for it stays bounded, the oldest position reports
// are the ones dropped (chats kept, order kept), every drop is counted in the gateway health by reason, the backlog
// shows in the health queue depths, and a second federate and a device on the same network miss nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type * as grpc from '@grpc/grpc-js'
import { parseEvent } from '../../../../gateway/cot/parse.ts'
import type { CotEvent } from '../../../../gateway/cot/event.ts'
import { takFederationArea } from '../../../../gateway/federation/tak/index.ts'
import { MAX_WAITING_BYTES, MAX_WAITING_MESSAGES } from '../../../../gateway/federation/tak/outbox.ts'
import { DeviceClient } from '../../../support/device-client.ts'
import { enrollIdentity } from '../../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../../support/gateway.ts'
import { testPki, type TestPki } from '../../../support/pki.ts'
import { TakFederate } from '../../../support/tak-federate.ts'

const TOTAL = 12_000
const BATCH = 200

function event(seq: number): CotEvent {
  const now = new Date()
  const stale = new Date(now.getTime() + 120_000)
  const chat = seq % 500 === 0
  const head = chat
    ? `<event version="2.0" uid="GeoChat.S-1.All.${seq}" type="b-t-f" how="h-g-i-g-o"`
    : `<event version="2.0" uid="SRC-${seq % 10}" type="a-f-G-U-C" how="m-g"`
  const detail = chat
    ? `<detail><__chat chatroom="All Chat Rooms" senderCallsign="SRC"/><seq n="${seq}"/></detail>`
    : `<detail><contact callsign="SRC-${seq % 10}" endpoint="*:-1:stcp"/><seq n="${seq}"/></detail>`
  return parseEvent(
    Buffer.from(
      `${head} time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}"><point lat="1" lon="2" hae="3" ce="4" le="5"/>${detail}</event>`
    )
  )
}

const seqOf = (other: string | undefined): number => Number(/<seq n="(\d+)"/.exec(other ?? '')?.[1] ?? -1)

describe('TAK federation: a peer that stops reading', () => {
  let t: TestGateway
  let admin = ''
  let networkId = ''
  let stuckPeerId = ''
  let device: DeviceClient
  const pkis: TestPki[] = []
  const federates: TakFederate[] = []

  async function federate(name: string): Promise<{ federate: TakFederate; peerId: string }> {
    const tak = await testPki({ freshCa: true, hostname: `${name}.test`, federateId: name })
    pkis.push(tak)
    const fingerprint = tak.pki.federation!.fingerprint.replace(/:/g, '').toLowerCase()
    const peer = await t.ok('addExternalPeer', { networkId, fingerprint, displayName: name }, admin)
    const f = new TakFederate({
      port: takFederationArea(t.services)!.port,
      ca: t.services.pki.caCertPem,
      key: tak.pki.federation!.keyPem,
      certChain: `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
      name,
      healthIntervalMs: 500
    }).start()
    federates.push(f)
    await f.serving()
    return { federate: f, peerId: peer.id }
  }

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-a' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)).id
    const identity = await enrollIdentity(t, admin, networkId, 'BLUE-1')
    device = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
  })

  afterAll(async () => {
    for (const f of federates) f.close()
    await device?.close()
    await t?.stop()
    for (const p of pkis) p.cleanup()
  })

  it('keeps a bounded backlog, drops its oldest positions (counted in health), and nobody else misses anything', async () => {
    const stuck = await federate('tak-stuck')
    stuckPeerId = stuck.peerId
    const healthy = await federate('tak-healthy')
    // The stuck federate stops reading its ClientEventStream (the second call it opened): grpc-js stops taking HTTP/2
    // data, the window closes, and our writes to it stop completing.
    const calls = (stuck.federate as unknown as { calls: grpc.ClientReadableStream<unknown>[] }).calls
    calls[1]!.pause()

    const router = t.services.router!
    const origin = { kind: 'device' as const, networkId, endpointId: 'test-source' }
    const seen = (list: { event?: { other?: string } | null }[]): number =>
      list.filter((m) => seqOf(m.event?.other ?? undefined) >= 0).length
    const deviceSeen = (): number => device.received.filter((e) => /<seq n="/.test(e.detailXml)).length
    let maxBacklog = 0
    for (let sent = 0; sent < TOTAL;) {
      for (const end = sent + BATCH; sent < end; sent++) router.publish(event(sent), origin)
      const depth = t.services.health().queueDepths.find((q) => q.label.includes('tak-stuck'))
      maxBacklog = Math.max(maxBacklog, depth?.bytes ?? 0)
      // The healthy side keeps up: each batch reaches the healthy federate and the device before the next.
      await healthy.federate.waitUntil(
        () => seen(healthy.federate.received) === sent && deviceSeen() === sent,
        10_000,
        `batch up to ${sent}`
      )
    }

    const session = takFederationArea(t.services)!.sessionsOf(stuckPeerId)[0]!
    const health = t.services.health()
    // Bounded: at most MAX_WAITING_BYTES of events wait with us (each ~0.5 KB here), the rest was dropped, oldest
    // positions first.
    expect(session.backlog().messages).toBeLessThanOrEqual(MAX_WAITING_MESSAGES)
    expect(maxBacklog).toBeGreaterThan(MAX_WAITING_BYTES / 2)
    expect(maxBacklog).toBeLessThanOrEqual(MAX_WAITING_BYTES)
    expect(session.dropped.oldestPosition).toBeGreaterThan(1000)
    expect(session.dropped.full + session.dropped.closed).toBe(0)
    expect(health.dropsByReason['federation.oldestPosition']).toBe(session.dropped.oldestPosition)
    // Nothing for the healthy federate, the device or the devices' queues.
    expect(takFederationArea(t.services)!.sessionsOf(healthy.peerId)[0]!.dropped.oldestPosition).toBe(0)
    expect(Object.keys(health.dropsByReason).filter((reason) => reason.startsWith('devices.'))).toEqual([])
    // The peer drawer's charts count the same drops, on the stuck peer's link only.
    const links = t.services.history.linkSources.flatMap((source) => source())
    expect(links.find((l) => l.key === `peer:${stuckPeerId}`)?.drops).toBe(session.dropped.oldestPosition)
    expect(links.find((l) => l.key === `peer:${healthy.peerId}`)?.drops).toBe(0)
    expect(seen(healthy.federate.received)).toBe(TOTAL)
    expect(deviceSeen()).toBe(TOTAL)

    // Reading again, the stuck federate gets what was not dropped, in order: the early ones already on their way, then
    // the newest; every chat survived, and what it got plus what we dropped is everything.
    calls[1]!.resume()
    const dropped = session.dropped.oldestPosition
    await stuck.federate.waitUntil(() => seen(stuck.federate.received) === TOTAL - dropped, 10_000, 'the backlog after resuming')
    const seqs = stuck.federate.received.map((m) => seqOf(m.event?.other ?? undefined)).filter((n) => n >= 0)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(seqs.at(-1)).toBe(TOTAL - 1)
    for (let seq = 0; seq < TOTAL; seq += 500) expect(seqs).toContain(seq)
    expect(t.services.health().queueDepths.find((q) => q.label.includes('tak-stuck'))).toBeUndefined()
  }, 60_000)
})
