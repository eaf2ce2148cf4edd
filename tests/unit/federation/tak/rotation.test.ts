// Federation certificate rotation against our TAK-like test federate on a real gateway: a peer pinned to its current
// and next certificate keeps working when it switches (and is promoted), unpinned ones are still refused and listed;
// our own switch keeps live links up while new handshakes present the next certificate; the methods are deployment
// admins' only and audited; the automatic switch 7 days before the end, with a clock the test moves.

import fs from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTakFederation, takFederationArea, type TakFederation } from '../../../../gateway/federation/tak/index.ts'
import { startAutoSwitch } from '../../../../gateway/federation/tak/rotation.ts'
import { DeviceClient } from '../../../support/device-client.ts'
import { enrollIdentity, until } from '../../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../../support/gateway.ts'
import { testPki, type TestPki } from '../../../support/pki.ts'
import { geoEvent, TakFederate } from '../../../support/tak-federate.ts'

interface Leaf {
  key: string
  certChain: string
  fingerprint: string
}

/** The fingerprint of the leaf a fresh TLS handshake on `port` presents. */
function presentedFingerprint(port: number, client: Leaf): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      key: client.key,
      cert: client.certChain,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2']
    })
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().fingerprint256)
      socket.destroy()
    })
    socket.once('error', reject)
  })
}

describe('federation certificate rotation with a TAK-like peer', () => {
  let t: TestGateway
  let fed: TakFederation
  let tak: TestPki
  let admin = ''
  let networkId = ''
  let peerId = ''
  let device: DeviceClient
  let takCurrent: Leaf
  let takNext: Leaf
  let stranger: Leaf
  const federates: TakFederate[] = []
  let counter = 0

  const leafOf = (certPem: string, keyPem: string, fingerprint: string): Leaf => ({
    key: keyPem,
    certChain: `${certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
    fingerprint
  })

  function federate(identity: Leaf): TakFederate {
    const f = new TakFederate({ port: fed.port, ca: t.services.pki.caCertPem, ...identity, name: 'tak-alpha-out', healthIntervalMs: 200 })
    federates.push(f)
    return f.start()
  }

  /** An event from the TAK side reaches our device. */
  async function reachesDevice(f: TakFederate): Promise<boolean> {
    const uid = `tak-${++counter}`
    f.send({ event: geoEvent(uid, { type: 'a-h-G', other: `<detail><contact callsign="TAK-${uid}"/></detail>` }) })
    try {
      await device.waitFor((e) => e.uid === uid, 10_000)
      return true
    } catch {
      return false
    }
  }

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-rot' } })
    await takFederationArea(t.services)!.stop()
    fed = await startTakFederation(t.services, {
      router: t.services.router!,
      pki: t.services.pki,
      host: '127.0.0.1',
      port: 0,
      statusIntervalMs: 100
    })
    tak = await testPki({ freshCa: true, hostname: 'tak-alpha.test', federateId: 'tak-alpha' })
    takCurrent = leafOf(tak.pki.federation!.certPem, tak.pki.federation!.keyPem, tak.pki.federation!.fingerprint)
    const next = await tak.pki.rotation.prepareNextFederationIdentity()
    takNext = leafOf(next.certPem, next.keyPem, next.fingerprint)
    const strangerCert = await tak.device('stranger')
    stranger = leafOf(strangerCert.certPem, strangerCert.keyPem, strangerCert.fingerprint)
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)).id
    peerId = (await t.ok('addExternalPeer', { networkId, fingerprint: takCurrent.fingerprint, displayName: 'TAK Alpha' }, admin)).id
    const identity = await enrollIdentity(t, admin, networkId, 'BLUE1')
    device = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
  })

  afterAll(async () => {
    for (const f of federates) f.close()
    await device?.close()
    await fed?.stop()
    await t?.stop()
    tak?.cleanup()
  })

  it('accepts a peer on its next pinned certificate, promotes it, and still refuses unpinned ones (listed)', async () => {
    const old = federate(takCurrent)
    await old.serving()
    expect(await reachesDevice(old)).toBe(true)
    const updated = await t.ok('updateExternalPeer', { id: peerId, nextFingerprint: takNext.fingerprint }, admin)
    expect(updated.nextFingerprint).toBe(takNext.fingerprint)

    // The TAK Server switches to its next certificate: accepted at once, and the next one becomes the only one.
    const renewed = federate(takNext)
    await renewed.serving()
    expect(await reachesDevice(renewed)).toBe(true)
    await until(
      () => t.services.store.data.externalPeers.find((p) => p.id === peerId)?.fingerprint === takNext.fingerprint,
      3000,
      'promotion'
    )
    const [peer] = await t.ok('listExternalPeers', { networkId }, admin)
    expect(peer).toMatchObject({ fingerprint: takNext.fingerprint, nextFingerprint: null })

    // Neither a certificate nobody pinned nor the replaced one gets in; both are listed for the admin.
    for (const refused of [stranger, takCurrent]) {
      const f = federate(refused)
      await expect(f.serving(1500)).rejects.toThrow()
      const rejected = await t.ok('listRejectedPeers', {}, admin)
      expect(rejected.some((r) => r.fingerprint === refused.fingerprint)).toBe(true)
    }
  })

  it('switching ours keeps a live link up, and new handshakes present the next certificate', async () => {
    const live = federate(takNext)
    await live.serving()
    const before = await t.ok('getFederationCertificate', {}, admin)
    expect(before.next).toBeNull()
    const prepared = await t.ok('prepareNextFederationCertificate', {}, admin)
    const nextFingerprint = prepared.next!.fingerprint
    expect(nextFingerprint).not.toBe(before.current!.fingerprint)
    // Published before it is used: connection info and the download, while handshakes still present the current one.
    expect((await t.ok('getConnectionInfo', {}, admin)).nextFingerprint).toBe(nextFingerprint)
    const pem = Buffer.from((await t.ok('downloadArtifact', { kind: 'federation-cert-next' }, admin)).contentBase64, 'base64').toString()
    expect(new X509Certificate(pem).fingerprint256).toBe(nextFingerprint)
    expect(await presentedFingerprint(fed.port, takNext)).toBe(before.current!.fingerprint)
    const keyMode = fs.statSync(path.join(t.services.pki.dir, 'federation-next.key')).mode & 0o777
    expect(keyMode).toBe(0o600)

    const after = await t.ok('switchFederationCertificate', {}, admin)
    expect(after.current!.fingerprint).toBe(nextFingerprint)
    expect(after.next).toBeNull()
    expect(after.previous!.fingerprint).toBe(before.current!.fingerprint)
    // The old key is gone from pki/: the old certificate is a record, never served again.
    expect(fs.readdirSync(t.services.pki.dir).filter((n) => n.includes('previous') && n.endsWith('.key'))).toEqual([])
    expect(await presentedFingerprint(fed.port, takNext)).toBe(nextFingerprint)
    expect(await reachesDevice(live)).toBe(true)
    expect(live.ended.size).toBe(0)
    // A TAK Server trusting our CA connects to the new certificate as to the old one.
    const fresh = federate(takNext)
    await fresh.serving()
  })

  it('keeps the certificate methods for deployment admins and audits them', async () => {
    const org = t.services.store.data.organizations[0]!
    await t.ok('createUser', { username: 'orgadmin', password: 'orgadmin-password', organizationId: org.id }, admin)
    const user = await t.loginAs('orgadmin', 'orgadmin-password')
    for (const method of ['getFederationCertificate', 'prepareNextFederationCertificate', 'switchFederationCertificate']) {
      const result = await t.call(method, {}, user)
      expect(result.ok ? null : result.error.code).toBe('forbidden')
    }
    const audit = fs.readFileSync(path.join(path.dirname(t.services.pki.dir), 'audit.ndjson'), 'utf8')
    expect(audit).toContain('"prepareNextFederationCertificate"')
    expect(audit).toContain('"switchFederationCertificate"')
    expect(audit).toContain('"nextFingerprint"')
  })

  it('switches by itself 7 days before the end: at start and at the daily check, with the clock it is given', async () => {
    const pki = t.services.pki
    const endOf = (): number => Date.parse(new X509Certificate(pki.federation!.certPem).validTo)
    const first = pki.federation!.fingerprint
    // At start: a federation started 6 days before the end switches at once, and serves the new certificate.
    await fed.stop()
    fed = await startTakFederation(t.services, {
      router: t.services.router!,
      pki,
      host: '127.0.0.1',
      port: 0,
      now: () => new Date(endOf() - 6 * 86_400_000)
    })
    await until(() => pki.federation!.fingerprint !== first, 10_000, 'the switch at start')
    expect(await presentedFingerprint(fed.port, takNext)).toBe(pki.federation!.fingerprint)
    // Daily: nothing while more than 7 days are left; the switch once the clock reaches the 7 days.
    const second = pki.federation!.fingerprint
    let clock = endOf() - 8 * 86_400_000
    const stop = startAutoSwitch({ pki, now: () => new Date(clock), apply: () => {}, log: t.services.log, everyMs: 50 })
    await new Promise((r) => setTimeout(r, 300))
    expect(pki.federation!.fingerprint).toBe(second)
    clock = endOf() - 7 * 86_400_000
    await until(() => pki.federation!.fingerprint !== second, 10_000, 'the daily switch')
    stop()
  })
})
