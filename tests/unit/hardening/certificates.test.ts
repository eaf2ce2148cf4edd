// Hardening item 5: certificates on the federation port and the device port. Unknown fingerprints, device
// certificates, expired certificates (from a throwaway CA and from our own CA), revoked devices and a second
// simultaneous connection of one peer are each refused (or replaced) as designed.
//
// Policies asserted here (server role, gateway/federation/tak/server.ts; devices, gateway/devices/streaming.ts):
// - Federation port: trust is the pinned leaf fingerprint of a registered peer, whatever the issuer. A certificate that no
//   peer is registered with — including one of our own device certificates — is closed right after TLS, before any
//   HTTP/2 or gRPC byte, and listed by rejected(). A device certificate registered as a peer is a peer like any other.
// - An expired (or not yet valid) certificate is refused on both ports, even when its fingerprint is registered.
// - Device port: our CA only, a registered and unrevoked device fingerprint; a revoked device's live connection is
//   closed and its next handshake is refused.
// - One session per peer: a second simultaneous connection from the same peer replaces the first, which ends with
//   ABORTED (an error status, so a TAK client reconnects instead of staying deaf).

import { X509Certificate } from 'node:crypto'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { takFederationArea, type TakFederation } from '../../../gateway/federation/tak/index.ts'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity, pli, until, type EnrolledIdentity } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { caFromPkiDir, leafCertificate, probeTls, throwawayCa, type HardeningLeaf } from '../../support/hardening-certs.ts'
import { TakFederate } from '../../support/tak-federate.ts'

describe('certificates on the federation and device ports', () => {
  let t: TestGateway
  let fed: TakFederation
  let admin = ''
  let networkId = ''
  let device: EnrolledIdentity
  let listener: DeviceClient
  let peerCert: HardeningLeaf
  let peerId = ''
  const federates: TakFederate[] = []

  function federate(identity: { keyPem: string; chainPem: string }): TakFederate {
    const f = new TakFederate({
      port: fed.port,
      ca: t.services.pki.caCertPem,
      key: identity.keyPem,
      certChain: identity.chainPem,
      healthIntervalMs: 200
    })
    federates.push(f)
    return f.start()
  }

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-certs' } })
    fed = takFederationArea(t.services)!
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Certs', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
    device = await enrollIdentity(t, admin, networkId, 'CERT-1')
    listener = await DeviceClient.connect({ port: t.services.ports.streaming, ...(await enrollIdentity(t, admin, networkId, 'LISTENER')) })
    peerCert = leafCertificate(throwawayCa('Peer CA'), 'tak-peer', -1, 30)
    peerId = (await t.ok('addExternalPeer', { networkId, fingerprint: peerCert.fingerprint, displayName: 'TAK peer' }, admin)).id
  })

  afterAll(async () => {
    for (const f of federates) f.close()
    await listener?.close()
    await t?.stop()
  })

  it('a registered peer gets HTTP/2 at once; an unknown fingerprint is closed before any byte and listed as rejected', async () => {
    const welcome = await probeTls({ port: fed.port, cert: peerCert.certPem, key: peerCert.keyPem, alpn: ['h2'], waitMs: 500 })
    // grpc-js answers the accepted connection with its SETTINGS frame: the control case for the zero below.
    expect(welcome.handshook).toBe(true)
    expect(welcome.bytesReceived).toBeGreaterThan(0)

    const stranger = leafCertificate(throwawayCa('Stranger CA'), 'stranger', -1, 30)
    const refused = await probeTls({ port: fed.port, cert: stranger.certPem, key: stranger.keyPem, alpn: ['h2'] })
    expect(refused.closed).toBe(true)
    expect(refused.bytesReceived).toBe(0)
    expect(fed.rejected().map((r) => r.fingerprint)).toContain(stranger.fingerprint)
    expect(fed.sessionsOf(peerId)).toEqual([])

    // Through a real gRPC client too: its calls fail, nothing is served.
    const f = federate(stranger)
    const end = await f.sessionEnd(5000)
    expect(end.code).toBe(grpc.status.UNAVAILABLE)
    expect(f.groupsReceived).toEqual([])
    expect(fed.rejected().find((r) => r.fingerprint === stranger.fingerprint)!.count).toBeGreaterThanOrEqual(2)
    f.close()
  })

  it('a device certificate on the federation port is refused unless that fingerprint is registered as a peer', async () => {
    const deviceFingerprint = new X509Certificate(device.cert).fingerprint256
    const chainPem = `${device.cert.trim()}\n${device.ca.trim()}\n`
    const refused = await probeTls({ port: fed.port, cert: device.cert, key: device.key, alpn: ['h2'] })
    expect(refused.bytesReceived).toBe(0)
    expect(refused.closed).toBe(true)
    expect(fed.rejected().map((r) => r.fingerprint)).toContain(deviceFingerprint)

    // Registered as a peer (an operator's explicit choice), the same certificate federates.
    const org = await t.ok('createOrganization', { name: 'Other', plan: 'team' }, admin)
    const other = await t.ok('createNetwork', { organizationId: org.id, name: 'Other' }, admin)
    const asPeer = await t.ok(
      'addExternalPeer',
      { networkId: other.id, fingerprint: deviceFingerprint, displayName: 'Device as peer' },
      admin
    )
    const f = federate({ keyPem: device.key, chainPem })
    await f.serving(5000)
    expect(fed.sessionsOf(asPeer.id)).toHaveLength(1)
    f.close()
    await t.ok('removeExternalPeer', { id: asPeer.id }, admin)
  })

  it('an expired certificate is refused on the federation port, even with a registered fingerprint', async () => {
    const expired = leafCertificate(throwawayCa('Expired peer CA'), 'expired-peer', -30, -1)
    const expiredPeer = await t.ok('addExternalPeer', { networkId, fingerprint: expired.fingerprint, displayName: 'Expired peer' }, admin)
    const refused = await probeTls({ port: fed.port, cert: expired.certPem, key: expired.keyPem, alpn: ['h2'] })
    expect(refused.bytesReceived).toBe(0)
    expect(refused.closed).toBe(true)
    const f = federate(expired)
    const end = await f.sessionEnd(5000)
    expect(end.code).toBe(grpc.status.UNAVAILABLE)
    expect(f.groupsReceived).toEqual([])
    expect(fed.sessionsOf(expiredPeer.id)).toEqual([])
    // The operator sees why in the peer's status.
    expect(fed.status(expiredPeer.id).lastError).toMatch(/renew/)
    f.close()
    // Not yet valid is refused the same way.
    const early = leafCertificate(throwawayCa('Early peer CA'), 'early-peer', 1, 30)
    await t.ok('addExternalPeer', { networkId, fingerprint: early.fingerprint, displayName: 'Early peer' }, admin)
    expect((await probeTls({ port: fed.port, cert: early.certPem, key: early.keyPem, alpn: ['h2'] })).bytesReceived).toBe(0)
  })

  it('an expired certificate is refused on the device port, from a throwaway CA and from our own CA', async () => {
    const port = t.services.ports.streaming
    const foreign = leafCertificate(throwawayCa('Expired device CA'), 'EXPIRED-1', -30, -1)
    const ours = leafCertificate(caFromPkiDir(path.join(t.dataDir, 'pki')), 'EXPIRED-2', -30, -1)
    for (const cert of [foreign, ours]) {
      const result = await probeTls({ port, cert: cert.certPem, key: cert.keyPem, payload: pli('EXPIRED-UID', 'EXPIRED') })
      expect(result.bytesReceived).toBe(0)
      expect(result.closed).toBe(true)
    }
    // A valid certificate from our CA that is not an enrolled device: refused too (the control for "our CA" above).
    const unenrolled = leafCertificate(caFromPkiDir(path.join(t.dataDir, 'pki')), 'NOT-ENROLLED', -1, 30)
    expect((await probeTls({ port, cert: unenrolled.certPem, key: unenrolled.keyPem })).closed).toBe(true)
    await new Promise((r) => setTimeout(r, 200))
    expect(listener.events.filter((e) => e.uid === 'EXPIRED-UID')).toEqual([])
  })

  it('a revoked device is disconnected and refused at its next handshake', async () => {
    const revokee = await enrollIdentity(t, admin, networkId, 'REVOKEE')
    const client = await DeviceClient.connect({ port: t.services.ports.streaming, ...revokee })
    client.send(pli('REVOKEE-UID', 'REVOKEE'))
    await listener.waitFor((e) => e.uid === 'REVOKEE-UID', 3000)
    await t.ok('revokeDevice', { id: revokee.deviceId }, admin)
    await Promise.race([client.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('still connected')), 3000))])
    const again = await probeTls({
      port: t.services.ports.streaming,
      cert: revokee.cert,
      key: revokee.key,
      payload: pli('REVOKEE-UID', 'REVOKED')
    })
    expect(again.bytesReceived).toBe(0)
    expect(again.closed).toBe(true)
    await new Promise((r) => setTimeout(r, 200))
    expect(listener.events.filter((e) => e.detailXml.includes('REVOKED'))).toEqual([])
  })

  it('a second simultaneous connection of one peer replaces the first, which ends with ABORTED', async () => {
    const first = federate(peerCert)
    await first.serving()
    await until(() => fed.sessionsOf(peerId).length === 1, 3000)
    const firstSession = fed.sessionsOf(peerId)[0]!
    const second = federate(peerCert)
    await second.serving()
    const end = await first.sessionEnd(5000)
    expect(end.code).toBe(grpc.status.ABORTED)
    await until(() => fed.sessionsOf(peerId).length === 1 && fed.sessionsOf(peerId)[0] !== firstSession, 3000)
    expect(firstSession.isEnded).toBe(true)
    expect(second.ended.has('ClientEventStream')).toBe(false)
    // The surviving session carries traffic.
    const device1 = await DeviceClient.connect({ port: t.services.ports.streaming, ...device })
    device1.send(pli('CERT-1-UID', 'CERT-1'))
    await second.waitForEvent((m) => (m as { event?: { uid?: string } }).event?.uid === 'CERT-1-UID', 3000)
    await device1.close()
  })
})
