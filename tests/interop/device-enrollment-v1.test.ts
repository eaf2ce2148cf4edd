// ATAK-CIV 4.x enrolls with TAK's v1 `signClient` (docs/spec/tak-facts.md §4.1–4.3). The phone here is written from
// ATAK 4.6's source (tests/support/atak4-enroll-client.ts): CSR without PEM armour, Basic auth, the answer opened as
// a PKCS#12 with 'atakatak', 'signedCert' its certificate and every other alias a CA. It then streams over mutual TLS
// with the certificate it got. Also: v2's base64 is wrapped at 64 characters as TAK's Util writes it.

import { spawnSync } from 'node:child_process'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import forge from 'node-forge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enrollIdentity, pli, until } from '../support/devices.ts'
import { DeviceClient } from '../support/device-client.ts'
import { armourless, enrollLikeAtak4, postSignClientV1, readV1Answer } from '../support/atak4-enroll-client.ts'
import { basic, enrollRequest, opensslCsr, type EnrollTarget } from '../support/enroll-client.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'

describe('ATAK 4 enrolls with v1 signClient', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-v1-'))
  let t: TestGateway
  let admin = ''
  let alpha = ''
  const clients: DeviceClient[] = []

  async function create(callsign: string): Promise<{ password: string; target: EnrollTarget; enrollmentId: string }> {
    const created = await t.ok('createDeviceEnrollment', { networkId: alpha, callsign }, admin)
    // The CA as the enrollment package's truststore gives it; that it opens is tested with the package.
    return {
      password: created.password,
      enrollmentId: created.enrollment.id,
      target: { host: '127.0.0.1', port: created.enrollmentPort, ca: t.services.pki.caCertPem }
    }
  }
  const devicesNamed = async (callsign: string): Promise<unknown[]> =>
    (await t.ok('listDevices', { networkId: alpha }, admin)).filter((d) => d.callsign === callsign)

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon' }, admin)
    alpha = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
  })

  afterAll(async () => {
    for (const c of clients) await c.close()
    await t?.stop()
    fs.rmSync(scratch, { recursive: true, force: true })
  })

  it("answers TAK's certificates-only PKCS#12; the phone streams with the certificate and a packaged phone sees it", async () => {
    const { password, target } = await create('FALCON-1')
    const enrolled = await enrollLikeAtak4(target, { username: 'FALCON-1', password, clientUid: 'ANDROID-falcon' })
    expect(enrolled.profileStatus).toBe(204)
    const cert = new X509Certificate(enrolled.certPem)
    const ca = new X509Certificate(t.services.pki.caCertPem)
    expect(cert.subject).toBe('CN=FALCON-1')
    expect(cert.verify(ca.publicKey)).toBe(true)
    expect(cert.checkPrivateKey(createPrivateKey(enrolled.keyPem))).toBe(true)
    expect(enrolled.cas.map((c) => ({ alias: c.alias, fingerprint: new X509Certificate(c.certPem).fingerprint256 }))).toEqual([
      { alias: 'ca0', fingerprint: ca.fingerprint256 }
    ])
    const device = (await t.ok('listDevices', { networkId: alpha }, admin)).find((d) => d.callsign === 'FALCON-1')
    expect(device).toMatchObject({ enrolledBy: 'password', fingerprint: cert.fingerprint256 })

    // Mutual TLS on the streaming port with the issued certificate and the CA from the answer; a phone enrolled
    // by package receives what it sends.
    const falcon = await DeviceClient.connect({
      port: t.services.ports.streaming,
      cert: enrolled.certPem,
      key: enrolled.keyPem,
      ca: enrolled.cas.map((c) => c.certPem).join('\n')
    })
    const other = await enrollIdentity(t, admin, alpha, 'HERON-2')
    const heron = await DeviceClient.connect({ port: t.services.ports.streaming, cert: other.cert, key: other.key, ca: other.ca })
    clients.push(falcon, heron)
    await until(() => t.services.presence?.(device!.id)?.online === true && t.services.presence?.(other.deviceId)?.online === true)
    falcon.send(pli('falcon-1-uid', 'FALCON-1'))
    expect((await heron.waitFor((e) => e.uid === 'falcon-1-uid')).type).toBe('a-f-G-U-C')

    // One password, both versions: v2 with another key is refused now.
    const v2 = await enrollRequest(target, 'POST', '/Marti/api/tls/signClient/v2?clientUid=x', {
      authorization: basic('FALCON-1', password),
      body: opensslCsr([{ name: 'CN', value: 'FALCON-1' }]).csrPem
    })
    expect(v2.status).toBe(401)
  })

  it("the answer is what TAK sends: exactly signedCert and ca0, certificate bags only, Java's trusted attribute on each", async () => {
    const { password, target } = await create('EGRET-3')
    const answer = await postSignClientV1(target, 'EGRET-3', password, armourless(opensslCsr([{ name: 'CN', value: 'EGRET-3' }]).csrPem))
    expect(answer.status).toBe(200)
    expect(answer.headers['content-type']).toBe('application/octet-stream')
    const store = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(answer.body.toString('binary')), 'atakatak')
    const bags = store.safeContents.flatMap((s) => s.safeBags)
    expect(bags.every((b) => b.type === forge.pki.oids.certBag)).toBe(true)
    expect(bags.map((b) => b.attributes.friendlyName)).toEqual([['signedCert'], ['ca0']])
    // Java's keystore (what TAK writes with) lists both as trusted entries only with Java's trusted-key-usage bag
    // attribute, which forge does not read back: ask keytool.
    const file = path.join(scratch, 'signclient-v1.p12')
    fs.writeFileSync(file, answer.body)
    const listed = spawnSync('keytool', ['-list', '-storetype', 'PKCS12', '-keystore', file, '-storepass', 'atakatak'], {
      encoding: 'utf8'
    })
    expect(listed.status, listed.stderr).toBe(0)
    expect(listed.stdout).toMatch(/Your keystore contains 2 entries/)
    expect(listed.stdout).toMatch(/^signedcert, .*trustedCertEntry/m)
    expect(listed.stdout).toMatch(/^ca0, .*trustedCertEntry/m)
    expect(() => forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(answer.body.toString('binary')), 'another')).toThrow()
  })

  it('refuses a wrong password, a CSR for another name and an unreadable CSR with a clear answer, issuing nothing', async () => {
    const { password, target, enrollmentId } = await create('IBIS-4')
    const csr = (cn: string): string => armourless(opensslCsr([{ name: 'CN', value: cn }]).csrPem)

    const wrong = await postSignClientV1(target, 'IBIS-4', 'NOTTHEPASSWORD', csr('IBIS-4'))
    expect({ status: wrong.status, code: wrong.headers['x-error-code'], body: wrong.body.toString() }).toEqual({
      status: 401,
      code: 'unauthenticated',
      body: 'Wrong user name or one-time password.\n'
    })
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic realm=/)

    const otherName = await postSignClientV1(target, 'IBIS-4', password, csr('STORK-5'))
    expect({ status: otherName.status, code: otherName.headers['x-error-code'] }).toEqual({ status: 400, code: 'invalid' })
    expect(otherName.body.toString()).toBe("The common name of the request ('STORK-5') must be the user name 'IBIS-4'.\n")

    const garbage = await postSignClientV1(target, 'IBIS-4', password, '<csr>not a certificate request</csr>')
    expect({ status: garbage.status, code: garbage.headers['x-error-code'], body: garbage.body.toString() }).toEqual({
      status: 400,
      code: 'invalid',
      body: 'The body is not a certificate signing request (PEM or base64).\n'
    })
    const truncated = await postSignClientV1(target, 'IBIS-4', password, csr('IBIS-4').slice(0, 200).replace(/\s+/g, ''))
    expect({ status: truncated.status, body: truncated.body.toString() }).toEqual({
      status: 400,
      body: 'The certificate signing request could not be read.\n'
    })

    expect(await devicesNamed('IBIS-4')).toEqual([])
    expect(await t.ok('listDeviceEnrollments', { networkId: alpha }, admin)).toContainEqual(expect.objectContaining({ id: enrollmentId }))

    // TAK compares the CN with the user case-insensitively, as we do for v2: a lower-case CN enrolls, and the
    // certificate carries the callsign as the operator wrote it.
    const lower = await postSignClientV1(target, 'ibis-4', password, csr('ibis-4'))
    expect(lower.status).toBe(200)
    expect(new X509Certificate(readV1Answer(lower.body).certPem!).subject).toBe('CN=IBIS-4')
    expect(await devicesNamed('IBIS-4')).toHaveLength(1)
  })

  it('counts wrong passwords on v1 and v2 together per address, as one throttle', async () => {
    const { password, target } = await create('KITE-6')
    const guesser: EnrollTarget = { ...target, localAddress: '127.0.0.31' }
    const statuses: number[] = []
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await enrollRequest(guesser, 'POST', '/Marti/api/tls/signClient/v2', { authorization: basic('KITE-6', `GUESS${i}`), body: 'x' }))
          .status
      )
    for (let i = 3; i < 6; i++) statuses.push((await postSignClientV1(guesser, 'KITE-6', `GUESS${i}`, 'x')).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    const waiting = await postSignClientV1(guesser, 'KITE-6', password, armourless(opensslCsr([{ name: 'CN', value: 'KITE-6' }]).csrPem))
    expect({ status: waiting.status, code: waiting.headers['x-error-code'] }).toEqual({ status: 429, code: 'rate_limited' })
    expect(await devicesNamed('KITE-6')).toEqual([])
  })
})

describe('signClient/v2 base64 as TAK writes it', () => {
  let t: TestGateway
  let admin = ''
  let alpha = ''

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon' }, admin)
    alpha = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
  })
  afterAll(async () => t?.stop())

  /** TAK's Util.certToPEM(cert, false): '\n' after every 64 characters, nothing else. */
  const takWrapped = (der: Buffer): string => der.toString('base64').replace(/(.{64})/g, '$1\n')

  it('JSON and XML carry each certificate in lines of 64 with LF, no header, no final newline unless a multiple of 64', async () => {
    const ca = new X509Certificate(t.services.pki.caCertPem)
    for (const accept of ['application/json', 'application/xml']) {
      const callsign = `LARK-${accept.length}`
      const created = await t.ok('createDeviceEnrollment', { networkId: alpha, callsign }, admin)
      const target: EnrollTarget = { host: '127.0.0.1', port: created.enrollmentPort, ca: t.services.pki.caCertPem }
      const answer = await enrollRequest(target, 'POST', '/Marti/api/tls/signClient/v2?clientUid=x', {
        authorization: basic(callsign, created.password),
        accept,
        body: opensslCsr([{ name: 'CN', value: callsign }]).csrPem
      })
      expect(answer.status).toBe(200)
      const text = answer.body.toString()
      const [signedCert, ca0] =
        accept === 'application/json'
          ? (({ signedCert, ca0 }: Record<string, string>) => [signedCert!, ca0!])(JSON.parse(text) as Record<string, string>)
          : [/<signedCert>([^<]*)<\/signedCert>/.exec(text)![1]!, /<ca>([^<]*)<\/ca>/.exec(text)![1]!]
      const device = new X509Certificate(Buffer.from(signedCert, 'base64'))
      expect(device.subject).toBe(`CN=${callsign}`)
      expect(signedCert).toBe(takWrapped(device.raw))
      expect(ca0).toBe(takWrapped(ca.raw))
      for (const value of [signedCert, ca0]) {
        const lines = value.split('\n')
        expect(lines.slice(0, -1).every((l) => l.length === 64)).toBe(true)
        expect(lines.at(-1)!.length).toBeLessThan(64)
        expect(value).not.toMatch(/\r|-----/)
      }
    }
  })
})
