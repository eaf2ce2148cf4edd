// Issue 16 §3: a TAK session that opens after our devices reported gets the network's current picture. A real device
// reports, places a marker and sends a chat; THEN a TAK-like federate dials us, and we dial a TAK-like server (real
// gRPC over mutual TLS, each with its own fig.proto): each gets the position and the marker once, never the chat, and
// nothing while Out is off. A local federation resumed from paused gives the other network's device the same picture.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FederatedEventMessage } from '../../../../gateway/federation/tak/proto.ts'
import type { CotEvent } from '../../../../gateway/cot/event.ts'
import { DeviceClient } from '../../../support/device-client.ts'
import { enrollIdentity, pli, until } from '../../../support/devices.ts'
import { testPki, type TestPki } from '../../../support/pki.ts'
import { startFederatingGateway, type FederatingGateway } from '../../../support/tak-gateway.ts'
import { geoEvent, TakFederate } from '../../../support/tak-federate.ts'
import { TakServer } from '../../../support/tak-server.ts'

const REDIAL = { baseDelayMs: 200, maxDelayMs: 1000, afterDropMs: 500 }
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** ATAK's event for a marker a user drops (a callsign, no contact endpoint: not anyone's own report). */
function marker(uid: string, name: string): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 3_600_000)
  return (
    `<event version="2.0" uid="${uid}" type="b-m-p-s-m" how="h-g-i-g-o" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="34.2" lon="-117.3" hae="0" ce="9999999" le="9999999"/>` +
    `<detail><contact callsign="${name}"/><archive/><usericon iconsetpath="COT_MAPPING_SPOTMAP/b-m-p-s-m/-65536"/></detail></event>`
  )
}

/** A chat to All Chat Rooms (no dest: it goes to everyone, yet is not part of the picture). */
function chat(uid: string): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 3_600_000)
  return (
    `<event version="2.0" uid="${uid}" type="b-t-f" how="h-g-i-g-o" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/>` +
    `<detail><__chat chatroom="All Chat Rooms" id="All Chat Rooms" senderCallsign="PIC-1"/><remarks>before you came</remarks></detail></event>`
  )
}

const PICTURE = ['pic-1', 'marker-rally']
const count = (uids: string[], uid: string): number => uids.filter((u) => u === uid).length
const eventUids = (messages: FederatedEventMessage[]): string[] => messages.flatMap((m) => (m.event?.uid ? [m.event.uid] : []))
const deviceUids = (events: CotEvent[]): string[] => events.map((e) => e.uid)
/** A TAK user's own report (contact with callsign and endpoint), and a marker of theirs (no endpoint). */
const takSa = (uid: string): FederatedEventMessage => ({
  event: geoEvent(uid, { other: `<detail><contact callsign="OPS-${uid}" endpoint="*:-1:stcp"/></detail>` })
})
const takMarker = (uid: string): FederatedEventMessage => ({ event: geoEvent(uid, { type: 'b-m-p-s-m' }) })

describe('a new session gets the current picture', () => {
  let gw: FederatingGateway
  let dialsUs: TestPki
  let weDial: TestPki
  let device: DeviceClient
  let dialsUsPeerId = ''
  let weDialPeerId = ''
  const closers: (() => unknown)[] = []

  const chainOf = (p: TestPki): { key: string; certChain: string } => ({
    key: p.pki.federation!.keyPem,
    certChain: `${p.pki.federation!.certPem.trim()}\n${p.pki.caCertPem.trim()}\n`
  })

  beforeAll(async () => {
    ;[gw, dialsUs, weDial] = await Promise.all([
      startFederatingGateway('fedgate-picture', REDIAL),
      testPki({ freshCa: true, hostname: 'tak-in.test', federateId: 'tak-in' }),
      testPki({ freshCa: true, hostname: 'tak-out.test', federateId: 'tak-out' })
    ])
    const identity = await enrollIdentity(gw.t, gw.admin, gw.networkId, 'PIC-1')
    device = await DeviceClient.connect({ port: gw.t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
    device.send(pli('pic-1', 'PIC-1'))
    device.send(marker('marker-rally', 'Rally'))
    device.send(chat('GeoChat.pic-1.All Chat Rooms.1'))
    await until(() => gw.t.services.router!.latestPicture(gw.networkId).length === 2, 5000, 'the picture held')
  }, 40_000)

  afterAll(async () => {
    for (const close of closers) await close()
    await device?.close()
    await gw?.fed.stop()
    await gw?.t.stop()
    dialsUs?.cleanup()
    weDial?.cleanup()
  })

  it('a TAK Server that dials us gets nothing with Out off, then the position and the marker once, not the chat; again when Out comes back on', async () => {
    const args = { networkId: gw.networkId, fingerprint: dialsUs.pki.federation!.fingerprint, displayName: 'TAK In' }
    const peerId = (await gw.t.ok('addExternalPeer', { ...args, outgoing: false }, gw.admin)).id
    dialsUsPeerId = peerId
    const dial = (): TakFederate => {
      const f = new TakFederate({ port: gw.fed.port, ca: gw.t.services.pki.caCertPem, ...chainOf(dialsUs), healthIntervalMs: 200 })
      closers.push(() => f.close())
      return f.start()
    }
    const muted = dial()
    await muted.serving()
    await until(() => gw.fed.status(peerId).connected, 5000, 'the session up')
    await settle(800)
    expect(eventUids(muted.received)).toEqual([])
    muted.close()
    await until(() => !gw.fed.status(peerId).connected, 5000, 'the session down')

    await gw.t.ok('updateExternalPeer', { id: peerId, outgoing: true }, gw.admin)
    const tak = dial()
    await tak.waitUntil(() => PICTURE.every((uid) => eventUids(tak.received).includes(uid)), 5000, 'the picture')
    await settle(800)
    const got = eventUids(tak.received)
    for (const uid of PICTURE) expect(count(got, uid)).toBe(1)
    expect(got.filter((uid) => uid.startsWith('GeoChat'))).toEqual([])
    const rally = tak.received.find((m) => m.event?.uid === 'marker-rally')!.event!
    expect(rally.type).toBe('b-m-p-s-m')

    // Out switched off and back on over the live session: the picture goes again, once.
    await gw.t.ok('updateExternalPeer', { id: peerId, outgoing: false }, gw.admin)
    await gw.t.ok('updateExternalPeer', { id: peerId, outgoing: true }, gw.admin)
    await tak.waitUntil(() => PICTURE.every((uid) => count(eventUids(tak.received), uid) === 2), 5000, 'the picture again')
    await settle(800)
    for (const uid of PICTURE) expect(count(eventUids(tak.received), uid)).toBe(2)
  }, 30_000)

  it('a TAK Server we dial gets the position and the marker once, not the chat', async () => {
    const tak = await new TakServer({ ...chainOf(weDial), clientCa: gw.t.services.pki.caCertPem }).start()
    closers.push(() => tak.close())
    const args = { networkId: gw.networkId, fingerprint: weDial.pki.federation!.fingerprint, displayName: 'TAK Out' }
    const dial = { address: '127.0.0.1', port: tak.port, caPem: weDial.pki.caCertPem }
    weDialPeerId = (await gw.t.ok('addExternalPeer', { ...args, dial }, gw.admin)).id
    await until(() => PICTURE.every((uid) => eventUids(tak.received).includes(uid)), 10_000, 'the picture at the TAK side')
    await settle(800)
    const got = eventUids(tak.received)
    for (const uid of PICTURE) expect(count(got, uid)).toBe(1)
    expect(got.filter((uid) => uid.startsWith('GeoChat'))).toEqual([])
  }, 30_000)

  it("a local federation resumed from paused gives the other network's device the picture once", async () => {
    const organizationId = gw.t.services.store.data.networks.find((n) => n.id === gw.networkId)!.organizationId
    const side = await gw.t.ok('createNetwork', { organizationId, name: 'Side' }, gw.admin)
    const federation = await gw.t.ok('federateWithinOrganization', { networkId: gw.networkId, otherNetworkId: side.id }, gw.admin)
    const toggles = (on: boolean) => ({ incoming: on, outgoing: on })
    for (const networkId of [gw.networkId, side.id])
      await gw.t.ok('updateFederationEnd', { federationId: federation.id, networkId, ...toggles(false) }, gw.admin)
    const identity = await enrollIdentity(gw.t, gw.admin, side.id, 'SIDE-1')
    const other = await DeviceClient.connect({
      port: gw.t.services.ports.streaming,
      cert: identity.cert,
      key: identity.key,
      ca: identity.ca
    })
    closers.push(() => other.close())
    await settle(500)
    expect(deviceUids(other.events)).toEqual([]) // paused: nothing crosses

    for (const networkId of [gw.networkId, side.id])
      await gw.t.ok('updateFederationEnd', { federationId: federation.id, networkId, ...toggles(true) }, gw.admin)
    await until(() => PICTURE.every((uid) => deviceUids(other.events).includes(uid)), 5000, 'the picture on the side network')
    await settle(500)
    const got = deviceUids(other.events)
    for (const uid of PICTURE) expect(count(got, uid)).toBe(1)
    expect(got.filter((uid) => uid.startsWith('GeoChat'))).toEqual([])
  }, 30_000)

  // The emulations do TAK's SA-on-join (tak-facts §3): only with latestSA on, and only their users' own reports.
  it("a TAK Server we dial with latestSA gives our device its user's SA once on joining, not a marker; without it, nothing", async () => {
    const start = async (latestSA: boolean, tag: string): Promise<void> => {
      const tak = await new TakServer({ ...chainOf(weDial), clientCa: gw.t.services.pki.caCertPem, latestSA }).start()
      closers.push(() => tak.close())
      tak.sendAs('anon', takSa(`sa-${tag}`))
      tak.sendAs('anon', takMarker(`marker-${tag}`))
      const dial = { address: '127.0.0.1', port: tak.port, caPem: weDial.pki.caCertPem }
      await gw.t.ok('updateExternalPeer', { id: weDialPeerId, dial }, gw.admin)
      await until(() => tak.calls.some((c) => c.method === 'ClientEventStream') && gw.fed.status(weDialPeerId).connected, 10_000, 'up')
      await settle(800)
    }
    await start(false, 'off')
    expect(deviceUids(device.events).filter((uid) => uid.endsWith('-off'))).toEqual([])
    await start(true, 'on')
    expect(deviceUids(device.events).filter((uid) => uid.endsWith('-on'))).toEqual(['sa-on'])
  }, 40_000)

  it("a TAK Server that dials us with latestSA gives our device its user's SA once on joining, not a marker", async () => {
    const tak = new TakFederate({
      port: gw.fed.port,
      ca: gw.t.services.pki.caCertPem,
      ...chainOf(dialsUs),
      healthIntervalMs: 200,
      latestSA: true
    })
    closers.push(() => tak.close())
    tak.userReports('anon', takSa('sa-dialer'))
    tak.userReports('anon', takMarker('marker-dialer'))
    tak.start()
    await until(() => deviceUids(device.events).includes('sa-dialer'), 5000, 'the SA at our device')
    await settle(800)
    expect(gw.fed.status(dialsUsPeerId).connected).toBe(true)
    expect(deviceUids(device.events).filter((uid) => uid.endsWith('-dialer'))).toEqual(['sa-dialer'])
  }, 30_000)
})
