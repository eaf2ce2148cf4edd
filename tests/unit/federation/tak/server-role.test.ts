// The server role against our TAK-like test federate (tests/support/tak-federate.ts): RPC order and SERVING rules,
// CoT both ways with field checks, provenance and echo drop, live toggles, an unregistered certificate refused
// before any call, removal ending the session with an error status, and the health-check timeout.

import { createHash, randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as grpc from '@grpc/grpc-js'
import { zipOf } from '../../../support/zip.ts'
import type { ConsoleEvent } from '../../../../gateway/api/contract.ts'
import { startTakFederation, takFederationArea, type TakFederation } from '../../../../gateway/federation/tak/index.ts'
import { announcePackageRol, createResourceRol } from '../../../../gateway/federation/tak/rol.ts'
import { packagesArea } from '../../../../gateway/packages/index.ts'
import { MAX_ROL_IN_FLIGHT_BYTES } from '../../../../gateway/federation/tak/rol-flow.ts'
import { DeviceClient } from '../../../support/device-client.ts'
import { enrollIdentity } from '../../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../../support/gateway.ts'
import { testPki, type TestPki } from '../../../support/pki.ts'
import { geoEvent, TakFederate } from '../../../support/tak-federate.ts'

const HEALTH_TIMEOUT_MS = 1500

describe('TAK federation server role', () => {
  let t: TestGateway
  let fed: TakFederation
  let tak: TestPki
  /** A certificate from the same TAK CA that nobody registered. */
  let stranger: { key: string; certChain: string; fingerprint: string }
  let admin = ''
  let networkId = ''
  let peerId = ''
  let device: DeviceClient
  const federates: TakFederate[] = []
  const events: ConsoleEvent[] = []

  const takIdentity = (p: TestPki): { key: string; certChain: string } => ({
    key: p.pki.federation!.keyPem,
    certChain: `${p.pki.federation!.certPem.trim()}\n${p.pki.caCertPem.trim()}\n`
  })

  function federate(identity: { key: string; certChain: string } = takIdentity(tak), healthIntervalMs = 200): TakFederate {
    const f = new TakFederate({ port: fed.port, ca: t.services.pki.caCertPem, ...identity, name: 'tak-alpha-out', healthIntervalMs })
    federates.push(f)
    return f.start()
  }

  function pli(uid: string, callsign: string, extraDetail = ''): string {
    const now = new Date()
    const stale = new Date(now.getTime() + 120_000)
    return (
      `<event version="2.0" uid="${uid}" type="a-f-G-U-C" how="m-g" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
      `<point lat="34.25" lon="-117.5" hae="20" ce="9.9" le="12"/>` +
      `<detail><contact callsign="${callsign}" endpoint="*:-1:stcp"/><track speed="2.5" course="180"/>${extraDetail}</detail></event>`
    )
  }

  /** What this TAK Server federates: a hostile position with its own flow tags, speed and course. */
  const geo = (uid: string): Record<string, unknown> =>
    geoEvent(uid, {
      type: 'a-h-G',
      other: `<detail><contact callsign="TAK-${uid}"/><_flow-tags_ TAK-Server-tak="x"/></detail>`,
      speed: 7,
      course: 45
    })

  const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms))

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-a' } })
    // The gateway's own instance runs with TAK's 15 s rule; this test uses a short timeout to prove the rule quickly.
    await takFederationArea(t.services)!.stop()
    fed = await startTakFederation(t.services, {
      router: t.services.router!,
      pki: t.services.pki,
      healthTimeoutMs: HEALTH_TIMEOUT_MS,
      statusIntervalMs: 100
    })
    t.services.events.subscribe((e) => events.push(e))
    tak = await testPki({ freshCa: true, hostname: 'tak-alpha.test', federateId: 'tak-alpha' })
    const strangerCert = await tak.device('stranger')
    stranger = {
      key: strangerCert.keyPem,
      certChain: `${strangerCert.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
      fingerprint: strangerCert.fingerprint
    }
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
    const network = await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)
    networkId = network.id
    const fingerprint = tak.pki.federation!.fingerprint.replace(/:/g, '').toLowerCase()
    const peer = await t.ok('addExternalPeer', { networkId, fingerprint, displayName: 'TAK Alpha' }, admin)
    peerId = peer.id
    const identity = await enrollIdentity(t, admin, networkId, 'BLUE-1')
    device = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
    device.send(pli('BLUE-1-UID', 'BLUE-1'))
    await settle(200)
  })

  afterEach(async () => {
    for (const f of federates.splice(0)) f.close()
    await t
      .ok('updateExternalPeer', { id: peerId, incoming: true, outgoing: true, acceptPackages: false, sharePackages: false }, admin)
      .catch(() => {})
    await settle(100)
    device.received.length = 0
  })

  afterAll(async () => {
    for (const f of federates) f.close()
    await device?.close()
    await fed?.stop()
    await t?.stop()
    tak?.cleanup()
  })

  it('answers the TAK call sequence: one SERVING, health SERVING, ROL stream open, nothing completed early', async () => {
    const f = federate()
    await f.serving()
    await f.waitUntil(() => f.callOrder.includes('ClientROLStream'), 3000, 'ClientROLStream after the first health check')
    expect(f.callOrder.slice(0, 4)).toEqual([
      'ServerFederateGroupsStream',
      'ClientEventStream',
      'ServerROLStream',
      'ClientFederateGroupsStream'
    ])
    expect(f.callOrder.indexOf('ServerEventStream')).toBeGreaterThan(0)
    await settle(600)
    const serving = f.groupsReceived.filter((g) => g.streamUpdate?.status === 'SERVING')
    expect(serving).toHaveLength(1)
    expect(f.healthAnswers.length).toBeGreaterThanOrEqual(2)
    expect(new Set(f.healthAnswers)).toEqual(new Set(['SERVING']))
    // Every stream is still open and no client-streaming call was answered.
    expect([...f.ended.keys()]).toEqual([])
    expect(f.answered).toEqual([])
    const status = fed.status(peerId)
    expect(status.connected).toBe(true)
    expect(status.since).not.toBeNull()
    expect(events.some((e) => e.type === 'peerStatus' && e.peers.some((p) => p.peerId === peerId && p.connected))).toBe(true)
  })

  it('sends our devices as contacts and their CoT mapped field by field with our provenance', async () => {
    const f = federate()
    await f.serving()
    const contact = await f.waitForEvent((m) => m.contact?.uid === 'BLUE-1-UID')
    expect(contact.contact).toMatchObject({ operation: 'CREATE', callsign: 'BLUE-1' })
    device.send(pli('BLUE-1-UID', 'BLUE-1', '<_flow-tags_ fedgate="1"/>'))
    // The report sent now (an earlier one of BLUE-1 came with the picture when the session opened).
    const message = await f.waitForEvent((m) => m.event?.uid === 'BLUE-1-UID' && (m.event.other ?? '').includes('fedgate="1"'))
    const g = message.event!
    expect(g.type).toBe('a-f-G-U-C')
    expect(g.coordSource).toBe('m-g')
    expect([g.lat, g.lon, g.hae, g.ce, g.le]).toEqual([34.25, -117.5, 20, 9.9, 12])
    expect([g.speed, g.course]).toEqual([2.5, 180])
    expect(g.other).toBe('<detail><contact callsign="BLUE-1" endpoint="*:-1:stcp"/><_flow-tags_ fedgate="1"/></detail>')
    expect(g.staleTime! - g.sendTime!).toBe(120_000)
    expect(message.federateProvenance).toEqual([{ federationServerId: 'fedgate-a', federationServerName: 'fedgate-a' }])
    expect(message.federateHops).toMatchObject({ currentHops: 1, maxHops: -1 })
    await f.waitUntil(() => fed.status(peerId).outPerSecond > 0, 3000, 'an outgoing rate')
  })

  it('delivers the federate CoT to the network devices, rebuilt with track from speed/course', async () => {
    const f = federate()
    await f.serving()
    f.send({ event: geo('tak-unit-1'), federateProvenance: [{ federationServerId: 'tak-alpha', federationServerName: '' }] })
    const event = await device.waitFor((e) => e.uid === 'tak-unit-1')
    expect(event.type).toBe('a-h-G')
    expect(event.how).toBe('h-e')
    expect(event.point).toEqual({ lat: 48.5, lon: 11.25, hae: 500, ce: 3, le: 4 })
    expect(event.callsign).toBe('TAK-tak-unit-1')
    expect(event.detailXml).toBe(
      '<detail><contact callsign="TAK-tak-unit-1"/><_flow-tags_ TAK-Server-tak="x"/><track speed="7" course="45"/></detail>'
    )
    await f.waitUntil(() => fed.status(peerId).inPerSecond > 0, 3000, 'an incoming rate')
    expect(fed.status(peerId).lastHeard).not.toBeNull()
  })

  it('drops an event over Streaming:MaxEventBytes without decoding it, counts it, and keeps the session', async () => {
    const f = federate()
    await f.serving()
    // 1.5 MiB of remarks: under grpc-js's limit (sized for data packages), over what any device may send (1 MiB).
    const huge = geoEvent('huge-1', { type: 'a-h-G', other: `<detail><remarks>${'x'.repeat(1_572_864)}</remarks></detail>` })
    f.send({ event: huge })
    f.send({ event: geo('after-huge') })
    await device.waitFor((e) => e.uid === 'after-huge')
    await settle(200)
    expect(device.received.some((e) => e.uid === 'huge-1')).toBe(false)
    const session = fed.sessionsOf(peerId)[0]!
    expect(session.dropped.oversize).toBe(1)
    expect(t.services.health().dropsByReason['federation.oversize']).toBeGreaterThanOrEqual(1)
    expect(f.ended.size).toBe(0)
  })

  it("forgets a federate contact's position when it is deleted: a device connecting later is not shown a ghost", async () => {
    const f = federate()
    await f.serving()
    f.send({ contact: { operation: 'CREATE', uid: 'tak-gone-1', callsign: 'TAK-GONE', phone: '', sip: '', directConnect: '' } })
    f.send({
      event: geoEvent('tak-gone-1', { type: 'a-f-G-U-C', other: '<detail><contact callsign="TAK-GONE" endpoint="*:-1:stcp"/></detail>' })
    })
    await device.waitFor((e) => e.uid === 'tak-gone-1')
    const replayed = (): string[] => t.services.router!.latestPositions(networkId).map((e) => e.uid)
    expect(replayed()).toContain('tak-gone-1')
    f.send({ contact: { operation: 'DELETE', uid: 'tak-gone-1', callsign: 'a-f-G-U-C', phone: '', sip: '', directConnect: '' } })
    await device.waitFor((e) => e.type === 't-x-d-d' && e.detailXml.includes('uid="tak-gone-1"'))
    expect(replayed()).not.toContain('tak-gone-1')
  })

  it('drops events that carry our own provenance (echoes)', async () => {
    const f = federate()
    await f.serving()
    f.send({ event: geo('echo-1'), federateProvenance: [{ federationServerId: 'fedgate-a', federationServerName: 'fedgate-a' }] })
    f.send({ event: geo('fresh-1') })
    await device.waitFor((e) => e.uid === 'fresh-1')
    await settle(200)
    expect(device.received.some((e) => e.uid === 'echo-1')).toBe(false)
    expect(fed.sessionsOf(peerId)[0]!.dropped.echo).toBe(1)
  })

  it('applies the In and Out toggles live', async () => {
    const f = federate()
    await f.serving()
    await t.ok('updateExternalPeer', { id: peerId, incoming: false }, admin)
    f.send({ event: geo('blocked-in') })
    device.send(pli('BLUE-1-UID', 'BLUE-1', '<remarks>while in is off</remarks>'))
    await f.waitForEvent((m) => (m.event?.other ?? '').includes('while in is off'))
    await settle(200)
    expect(device.received.some((e) => e.uid === 'blocked-in')).toBe(false)

    await t.ok('updateExternalPeer', { id: peerId, incoming: true, outgoing: false }, admin)
    device.send(pli('BLUE-1-UID', 'BLUE-1', '<remarks>while out is off</remarks>'))
    f.send({ event: geo('allowed-in') })
    await device.waitFor((e) => e.uid === 'allowed-in')
    await settle(200)
    expect(f.received.some((m) => (m.event?.other ?? '').includes('while out is off'))).toBe(false)
    // The session stays up while paused one way.
    expect(f.ended.size).toBe(0)
  })

  it('carries data packages over ROL: DP-Out creates ours on the federate, DP-In stores theirs', async () => {
    await t.ok('updateExternalPeer', { id: peerId, sharePackages: true, acceptPackages: true }, admin)
    const f = federate()
    await f.serving()
    await f.waitUntil(() => f.callOrder.includes('ClientROLStream'), 3000, 'ClientROLStream')
    const ours = await zipOf({ 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'notes.txt': 'from fedgate' })
    await t.ok('uploadDataPackage', { networkId, name: 'ops.zip', contentBase64: ours.toString('base64') }, admin)
    await f.waitUntil(() => f.rolReceived.some((r) => r.program.startsWith('create resource')), 5000, 'create resource')
    const create = f.rolReceived.find((r) => r.program.startsWith('create resource'))!
    expect(create.program).toContain('ops.zip')
    expect(Buffer.from(create.payload[0]!.data).equals(ours)).toBe(true)
    expect(create.federateProvenance).toEqual([{ federationServerId: 'fedgate-a', federationServerName: 'fedgate-a' }])

    const theirs = await zipOf({ 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'tak.txt': 'from TAK' })
    const hash = createHash('sha256').update(theirs).digest('hex')
    const rol = createResourceRol(
      {
        hash,
        name: 'from-tak.zip',
        filename: 'from-tak.zip',
        mimeType: 'application/zip',
        keywords: ['missionpackage'],
        submissionTime: new Date().toISOString(),
        submitter: 'tak-admin',
        uid: 'res-1',
        creatorUid: '',
        size: theirs.length,
        tool: 'public'
      },
      theirs
    )
    f.sendRol({ program: rol.program, payload: rol.payload.map((p) => ({ type: 'OTHER', data: p.data })) })
    let stored = false
    for (let i = 0; i < 100 && !stored; i++) {
      stored = (await t.ok('listDataPackages', { networkId }, admin)).some((p) => p.hash === hash && p.source.kind === 'peer')
      if (!stored) await settle(50)
    }
    expect(stored).toBe(true)
  })

  it("handles a federate's ROL in order: a create resource is stored before the announce right behind it", async () => {
    await t.ok('updateExternalPeer', { id: peerId, acceptPackages: true }, admin)
    const f = federate()
    await f.serving()
    const zip = await zipOf(
      { 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'map.bin': randomBytes(3 * 1_048_576) },
      { compress: false }
    )
    const hash = createHash('sha256').update(zip).digest('hex')
    // Private: the create stores it without telling devices; the announce names who gets it.
    const create = createResourceRol(
      {
        hash,
        name: 'ordered.zip',
        filename: 'ordered.zip',
        mimeType: 'application/zip',
        keywords: ['missionpackage'],
        submissionTime: new Date().toISOString(),
        submitter: 'tak-admin',
        uid: 'res-ordered',
        creatorUid: '',
        size: zip.length,
        tool: 'private'
      },
      zip
    )
    const announce = announcePackageRol({
      sha256: hash,
      name: 'ordered',
      filename: 'ordered.zip',
      senderUrl: '',
      sizeInBytes: zip.length,
      senderCallsign: 'TAK-OPS',
      dest: { callsigns: ['BLUE-1'], uids: [] },
      tsStored: Date.now()
    })
    for (const rol of [create, announce])
      f.sendRol({ program: rol.program, payload: rol.payload.map((p) => ({ type: 'OTHER', data: p.data })) })
    const share = await device.waitFor((e) => e.type === 'b-f-t-r' && e.xml.toString().includes(hash), 5000)
    expect(share.xml.toString()).toContain('TAK-OPS')
    await settle(300)
    // Had the announce overtaken the create, we would have asked the federate for bytes we were storing.
    expect(f.rolReceived.filter((r) => r.program.startsWith('request'))).toEqual([])
  })

  it('sends pending packages one read at a time to a federate that is slow to read, and marks each shared only once sent', async () => {
    await t.ok('updateExternalPeer', { id: peerId, sharePackages: true }, admin)
    const area = packagesArea(t.services)!
    const reads: string[] = []
    const readBytes = area.store.readBytes.bind(area.store)
    area.store.readBytes = async (record) => {
      reads.push(record.id)
      return readBytes(record)
    }
    try {
      // 40 packages of 1 MiB wait for the peer. A peer that does not read still takes some: grpc-js fills its stream's
      // buffer (16 messages) and a message or two more before HTTP/2 flow control stops the rest. Then no more than
      // MAX_ROL_IN_FLIGHT_BYTES may be on its way, plus the one being read: 8 + 1 more.
      const count = 40
      const size = 1_048_576
      const peerTakes = 18
      const ids: string[] = []
      for (let i = 0; i < count; i++) {
        const zip = await zipOf(
          { 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'data.bin': randomBytes(size) },
          { compress: false }
        )
        ids.push(
          (
            await area.store.ingestBuffer(zip, {
              networkId,
              name: `pending-${i}.zip`,
              source: { kind: 'operator', label: 'admin', id: 'op' }
            })
          ).id
        )
      }
      // The order they go in (the store's listing, newest first); "shared" lists them in that order.
      const sendOrder = area.store
        .listForNetwork(networkId)
        .map((r) => r.id)
        .filter((id) => ids.includes(id))
      const sharedWithPeer = (): string[] =>
        sendOrder.filter((id) => area.store.byId(id)!.sharedWith.some((s) => s.kind === 'peer' && s.id === peerId))
      reads.length = 0

      // A federate that opens its ROL stream but does not read it: flow control stops the first package.
      const slow = federate()
      slow.holdRol()
      await slow.serving()
      await slow.waitUntil(() => slow.callOrder.includes('ClientROLStream'), 3000, 'ClientROLStream')
      await settle(800)
      const session = fed.sessionsOf(peerId)[0]!
      // On a loaded machine the last read may still be on its way (it counts in the backlog until written): wait
      // until nothing is being read, so the figures below are taken at rest.
      await slow.waitUntil(() => session.rolBacklog().messages === count - reads.length, 10_000, 'the last read to finish')
      const readWhileHeld = reads.length
      expect(readWhileHeld).toBeGreaterThanOrEqual(1)
      expect(readWhileHeld).toBeLessThanOrEqual(peerTakes + MAX_ROL_IN_FLIGHT_BYTES / size + 1)
      expect(session.rolBacklog().messages).toBe(count - readWhileHeld)
      expect(session.rolBacklog().bytes).toBeGreaterThanOrEqual(MAX_ROL_IN_FLIGHT_BYTES)

      // Shared = handed to HTTP/2, in order: the ones the peer took (held in its buffer), none of those still waiting.
      const takenWhileHeld = sharedWithPeer()
      expect(takenWhileHeld).toEqual(sendOrder.slice(0, takenWhileHeld.length))
      expect(takenWhileHeld.length).toBeLessThanOrEqual(peerTakes)
      // It goes away: what had not gone does not count as shared, so the next session offers it again.
      slow.close()
      await slow.waitUntil(() => fed.sessionsOf(peerId).length === 0, 5000, 'the session to end')
      await settle(300)
      const handedOver = sharedWithPeer()
      expect(handedOver).toEqual(sendOrder.slice(0, handedOver.length))
      expect(handedOver.length).toBeLessThanOrEqual(peerTakes)

      const reader = federate()
      await reader.serving()
      const rest = count - handedOver.length
      await reader.waitUntil(
        () => reader.rolReceived.filter((r) => r.program.startsWith('create resource')).length >= rest,
        15_000,
        'the packages not sent before'
      )
      const received = reader.rolReceived
        .filter((r) => r.program.includes('pending-'))
        .map((r) => ids[Number(/pending-(\d+)\.zip/.exec(r.program)![1])])
      expect(received).toEqual(sendOrder.slice(handedOver.length))
      await reader.waitUntil(() => sharedWithPeer().length === count, 3000, 'all marked shared')
    } finally {
      area.store.readBytes = readBytes
    }
  })

  it('refuses an unregistered certificate before any call and lists it as rejected', async () => {
    const f = federate(stranger)
    await f.waitUntil(() => f.ended.has('ServerFederateGroupsStream'), 5000, 'the refusal')
    expect(f.ended.get('ServerFederateGroupsStream')!.code).toBe(grpc.status.UNAVAILABLE)
    expect(f.groupsReceived).toEqual([])
    const rejected = await t.ok('listRejectedPeers', {}, admin)
    const entry = rejected.find((r) => r.fingerprint === stranger.fingerprint)
    expect(entry).toBeDefined()
    expect(entry!.subject).toContain('CN=stranger')
    expect(entry!.address).toContain('127.0.0.1')
    expect(entry!.count).toBeGreaterThanOrEqual(1)
    expect(events.some((e) => e.type === 'rejectedPeer' && e.peer.fingerprint === entry!.fingerprint)).toBe(true)

    // Only those who could add it as a peer see the list: a member of the organization without that permission does not.
    const orgId = t.services.store.data.organizations[0]!.id
    await t.ok('createUser', { username: 'watcher', password: 'watcher-password', organizationId: orgId }, admin)
    const watcher = await t.loginAs('watcher', 'watcher-password')
    expect(await t.ok('listRejectedPeers', {}, watcher)).toEqual([])
  })

  it('ends a session without health checks after the timeout with DEADLINE_EXCEEDED, and keeps a healthy one', async () => {
    // Timed from before the dial, so a slow handshake on a loaded machine can only lengthen the figure, never shorten it.
    const started = Date.now()
    const silent = federate(takIdentity(tak), 0)
    await silent.serving()
    const end = await silent.sessionEnd(HEALTH_TIMEOUT_MS + 3000)
    expect(end.code).toBe(grpc.status.DEADLINE_EXCEEDED)
    expect(Date.now() - started).toBeGreaterThanOrEqual(HEALTH_TIMEOUT_MS - 300)
    expect(fed.status(peerId).connected).toBe(false)
    expect(fed.status(peerId).lastError).toMatch(/health check/)

    const healthy = federate(takIdentity(tak), 300)
    await healthy.serving()
    await settle(HEALTH_TIMEOUT_MS + 700)
    expect(healthy.ended.size).toBe(0)
    expect(fed.status(peerId).connected).toBe(true)
  })

  it('removing the peer ends the live session at once with an error status', async () => {
    const f = federate()
    await f.serving()
    await t.ok('removeExternalPeer', { id: peerId }, admin)
    const end = await f.sessionEnd(2000)
    expect(end.code).not.toBe(grpc.status.OK)
    expect(end.code).toBe(grpc.status.UNAVAILABLE)
    expect(fed.sessionsOf(peerId)).toEqual([])
    // Register it again for any later test.
    const fingerprint = tak.pki.federation!.fingerprint
    peerId = (await t.ok('addExternalPeer', { networkId, fingerprint, displayName: 'TAK Alpha' }, admin)).id
  })
})
