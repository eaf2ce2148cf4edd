// Journey 1's iTAK/ATAK path: a device enrolls itself. The operator creates an enrollment (callsign + one-time
// password); the phone trusts our CA from the enrollment package's truststore, runs TAK's enrollment sequence on
// the enrollment port (CSR made by the openssl command line), then streams with @tak-ps/node-tak using the
// certificate it got and the key that never left it.

import type TAK from '@tak-ps/node-tak'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreatedDeviceEnrollment } from '../../gateway/api/contract.ts'
import { connectNodeTak, enrollIdentity, pli, until, type TakPhone } from '../support/devices.ts'
import { basic, enrollLikeAtak, enrollRequest, nameEntriesOf, opensslCsr, opensslReq, type EnrollTarget } from '../support/enroll-client.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { throttleScope } from '../../gateway/access/scope.ts'
import { wantsXml } from '../../gateway/devices/enrollment-api.ts'
import { pemFromP12, unzipEntries } from '../support/pki.ts'
import { deviceRevocation } from '../../gateway/pki/revocations.ts'

describe('devices enroll themselves on the enrollment API', () => {
  let t: TestGateway
  let admin = ''
  let alpha = ''
  const clients: TAK[] = []

  /** The CA as ATAK gets it: from the truststore of the enrollment package, opened with its password. */
  async function trustFrom(created: CreatedDeviceEnrollment): Promise<string> {
    const entries = await unzipEntries(Buffer.from(created.packageBase64, 'base64'))
    const truststore = [...entries.keys()].find((n) => n.endsWith('.p12'))!
    return (await pemFromP12(entries.get(truststore)!, created.truststorePassword)).certPems.join('\n')
  }

  async function create(
    callsign: string,
    extra: Record<string, unknown> = {}
  ): Promise<{ created: CreatedDeviceEnrollment; target: EnrollTarget }> {
    const created = await t.ok('createDeviceEnrollment', { networkId: alpha, callsign, ...extra }, admin)
    return { created, target: { host: '127.0.0.1', port: created.enrollmentPort, ca: await trustFrom(created) } }
  }

  const signWith = (target: EnrollTarget, username: string, password: string, csrPem: string) =>
    enrollRequest(target, 'POST', '/Marti/api/tls/signClient/v2?clientUid=ANDROID-1&version=4.10.0', {
      authorization: basic(username, password),
      accept: 'application/json',
      body: csrPem
    })

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: '2-5 Recon' }, admin)
    alpha = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
  })

  afterAll(async () => {
    for (const c of clients) c.destroy()
    await t?.stop()
  })

  it('TAK sequence: config, CSR signed by our CA, profile 204; then the device streams with a package-enrolled one', async () => {
    const { created, target } = await create('KESTREL-2')
    expect(created.enrollment).toMatchObject({ callsign: 'KESTREL-2', username: 'KESTREL-2' })
    expect(created.password).toMatch(/^[A-Z2-9]{12}$/)
    expect(created.itakQrText).toBe(`Alpha,localhost,${t.services.ports.streaming},ssl`)
    expect(created.atakQrText).toBe(
      `tak://com.atakmap.app/enroll?host=localhost%3A${created.streamingPort}&username=KESTREL-2&token=${created.password}`
    )
    expect(await t.ok('listDeviceEnrollments', { networkId: alpha }, admin)).toEqual([created.enrollment])

    const config = await enrollRequest(target, 'GET', '/Marti/api/tls/config', { authorization: basic('KESTREL-2', created.password) })
    expect(config.status).toBe(200)
    expect(nameEntriesOf(config.body.toString())).toEqual([
      { name: 'O', value: '2-5 Recon' },
      { name: 'OU', value: 'Alpha' }
    ])

    // Typed on a phone: lower case, in the groups the console shows. Still the same password.
    const typed = created.password.toLowerCase().replace(/(.{4})(?!$)/g, '$1-')
    const enrolled = await enrollLikeAtak(target, { username: 'kestrel-2', password: typed, clientUid: 'ANDROID-kestrel' })
    expect(enrolled.profileStatus).toBe(204)
    const cert = new X509Certificate(enrolled.certPem)
    const ca = new X509Certificate(t.services.pki.caCertPem)
    expect(cert.verify(ca.publicKey)).toBe(true)
    expect(cert.subject).toBe('CN=KESTREL-2')
    expect(cert.checkPrivateKey(createPrivateKey(enrolled.keyPem))).toBe(true)
    expect(enrolled.caPems.map((p) => new X509Certificate(p).fingerprint256)).toEqual([ca.fingerprint256])

    const devices = await t.ok('listDevices', { networkId: alpha }, admin)
    const kestrel = devices.find((d) => d.callsign === 'KESTREL-2')!
    expect(kestrel).toMatchObject({ enrolledBy: 'password', fingerprint: cert.fingerprint256 })
    expect(await t.ok('listDeviceEnrollments', { networkId: alpha }, admin)).toEqual([])
    const download = await t.call('downloadDevicePackage', { id: kestrel.id }, admin)
    expect(download).toMatchObject({ ok: false, error: { code: 'conflict' } })

    // The enrolled phone and a phone with a connection package see each other.
    const other = await enrollIdentity(t, admin, alpha, 'VIPER-1')
    const connect = async (identity: { cert: string; key: string; ca: string }): Promise<TakPhone> => {
      const phone = await connectNodeTak(t.services.ports.streaming, identity)
      clients.push(phone.tak)
      return phone
    }
    const phone = await connect({ cert: enrolled.certPem, key: enrolled.keyPem, ca: enrolled.caPems.join('\n') })
    const viper = await connect(other)
    phone.tak.write_xml(pli('kestrel-2-uid', 'KESTREL-2'))
    viper.tak.write_xml(pli('viper-1-uid', 'VIPER-1'))
    await until(() => phone.seen.includes('viper-1-uid') && viper.seen.includes('kestrel-2-uid'))
    await until(() => t.services.presence?.(kestrel.id)?.online === true)

    // No log line carries the password or the Basic credentials.
    const logs = t.logs.join('\n')
    expect(logs).toContain("Device 'KESTREL-2' enrolled itself on network 'Alpha'")
    expect(logs).not.toContain(created.password)
    expect(logs).not.toContain(basic('KESTREL-2', created.password).slice(6))
    const audit = await t.ok('listAuditLog', {}, admin)
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['createDeviceEnrollment', 'deviceEnrolledItself']))
  })

  it('counts wrong passwords per IPv4 address and per IPv6 /64 (a host may take any address of its /64)', () => {
    expect(throttleScope('192.0.2.7')).toBe('192.0.2.7')
    expect(throttleScope('::ffff:192.0.2.7')).toBe('192.0.2.7')
    expect(throttleScope('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64')
    expect(throttleScope('2001:DB8:1:2::9')).toBe('2001:db8:1:2::/64')
    expect(throttleScope('2001:db8:1:3::9')).toBe('2001:db8:1:3::/64')
    expect(throttleScope('fd00::2')).toBe('fd00:0:0:0::/64')
    // A link-local peer's address carries its zone, which URL parsing refuses.
    expect(throttleScope('fe80::fc:ff:fe00:1%eth0')).toBe('fe80:0:0:0::/64')
  })

  it('picks XML or JSON as TAK does: the first of the two the Accept header names', () => {
    expect(wantsXml('application/xml')).toBe(true)
    expect(wantsXml('text/xml, application/json')).toBe(true)
    expect(wantsXml('application/json, application/xml;q=0.9')).toBe(false)
    expect(wantsXml('application/xml;q=0.5, application/json')).toBe(false)
    expect(wantsXml('application/json;q=0.2, text/xml;q=0.8')).toBe(true)
    expect(wantsXml('application/json;q=0, application/xml;q=0.1')).toBe(true)
    expect(wantsXml('application/xml;q=0')).toBe(false)
    expect(wantsXml('application/xhtml+xml, application/json')).toBe(false)
    expect(wantsXml('*/*')).toBe(false)
    expect(wantsXml(undefined)).toBe(false)
  })

  it('answers in XML when asked; the password is then used up, but the profile call still works', async () => {
    const { created, target } = await create('HAWK-3')
    const enrolled = await enrollLikeAtak(
      target,
      { username: 'HAWK-3', password: created.password, clientUid: 'IOS-hawk' },
      { accept: 'application/xml' }
    )
    expect(new X509Certificate(enrolled.certPem).subject).toBe('CN=HAWK-3')
    expect(enrolled.caPems).toHaveLength(1)

    const again = await signWith(target, 'HAWK-3', created.password, opensslCsr([{ name: 'CN', value: 'HAWK-3' }]).csrPem)
    expect(again.status).toBe(401)
    expect(again.body.toString()).toContain('already been used')
    const profile = await enrollRequest(target, 'GET', '/Marti/api/tls/profile/enrollment?clientUid=IOS-hawk', {
      authorization: basic('HAWK-3', created.password)
    })
    expect(profile.status).toBe(204)
    const tool = await enrollRequest(target, 'GET', '/Marti/api/tls/profile/tool/vns/file?relativePath=/a&clientUid=IOS-hawk', {
      authorization: basic('HAWK-3', created.password)
    })
    expect(tool.status).toBe(204)
    expect((await t.ok('listDevices', { networkId: alpha }, admin)).filter((d) => d.callsign === 'HAWK-3')).toHaveLength(1)
  })

  it('a lost answer: the same key asking again within the grace gets the same certificate, another key does not', async () => {
    const { created, target } = await create('WREN-8')
    const csr = opensslCsr([{ name: 'CN', value: 'WREN-8' }])
    const first = await signWith(target, 'WREN-8', created.password, csr.csrPem)
    const again = await signWith(target, 'WREN-8', created.password, csr.csrPem)
    expect([first.status, again.status]).toEqual([200, 200])
    const certOf = (answer: { body: Buffer }): string => (JSON.parse(answer.body.toString()) as { signedCert: string }).signedCert
    expect(certOf(again)).toBe(certOf(first))
    const other = await signWith(target, 'WREN-8', created.password, opensslCsr([{ name: 'CN', value: 'WREN-8' }]).csrPem)
    expect(other.status).toBe(401)
    expect((await t.ok('listDevices', { networkId: alpha }, admin)).filter((d) => d.callsign === 'WREN-8')).toHaveLength(1)
  })

  it('a lost answer does not hand back a certificate the revocation journal holds, even when db.json missed the revocation', async () => {
    const { created, target } = await create('KITE-4')
    const csr = opensslCsr([{ name: 'CN', value: 'KITE-4' }])
    expect((await signWith(target, 'KITE-4', created.password, csr.csrPem)).status).toBe(200)
    const device = (await t.ok('listDevices', { networkId: alpha }, admin)).find((d) => d.callsign === 'KITE-4')!
    // The journal is written first; a save of db.json that then failed leaves the device unrevoked there.
    const record = t.services.store.data.devices.find((d) => d.id === device.id)!
    t.services.pki.revocations.record([deviceRevocation(record, new Date().toISOString())])
    expect(record.revokedAt).toBeFalsy()
    const again = await signWith(target, 'KITE-4', created.password, csr.csrPem)
    expect(again.status).toBe(401)
  })

  it('a non-ASCII callsign signs in however the client encodes the name: UTF-8, Latin-1, or ? for the letter', async () => {
    const { created, target } = await create('JÖRG-9')
    const raw = (name: Buffer): string => `Basic ${Buffer.concat([name, Buffer.from(`:${created.password}`)]).toString('base64')}`
    for (const name of [Buffer.from('JÖRG-9', 'utf8'), Buffer.from('jörg-9', 'latin1'), Buffer.from('J?RG-9')]) {
      const answer = await enrollRequest(target, 'GET', '/Marti/api/tls/config', { authorization: raw(name) })
      expect({ name: name.toString('hex'), status: answer.status }).toEqual({ name: name.toString('hex'), status: 200 })
    }
    expect((await enrollRequest(target, 'GET', '/Marti/api/tls/config', { authorization: raw(Buffer.from('J?RG-8')) })).status).toBe(401)
    const enrolled = await enrollLikeAtak(target, { username: 'JÖRG-9', password: created.password, clientUid: 'ANDROID-jorg' })
    expect(new X509Certificate(enrolled.certPem).subject).toBe('CN=JÖRG-9')
  })

  it('refuses bad requests with a clear answer and leaves the enrollment usable', async () => {
    const { created, target } = await create('OWL-4')
    const auth = basic('OWL-4', created.password)

    const anonymous = await enrollRequest(target, 'GET', '/Marti/api/tls/config')
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm=/)

    // Another callsign's name with this password, and a wrong password.
    expect(
      (await enrollRequest(target, 'GET', '/Marti/api/tls/config', { authorization: basic('KESTREL-2', created.password) })).status
    ).toBe(401)
    expect((await enrollRequest(target, 'GET', '/Marti/api/tls/config', { authorization: basic('OWL-4', 'WRONGPASSWORD') })).status).toBe(
      401
    )

    // The CSR must be for the user name, readable, signed by its key, RSA, and small.
    const wrongName = await signWith(target, 'OWL-4', created.password, opensslCsr([{ name: 'CN', value: 'EAGLE-1' }]).csrPem)
    expect(wrongName.status).toBe(400)
    expect(wrongName.body.toString()).toContain("must be the user name 'OWL-4'")
    const garbage = await signWith(target, 'OWL-4', created.password, 'not a certificate request')
    expect(garbage.status).toBe(400)
    const good = opensslCsr([{ name: 'CN', value: 'OWL-4' }]).csrPem
    const der = Buffer.from(good.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
    der.writeUInt8(der.readUInt8(der.length - 5) ^ 0xff, der.length - 5) // inside the signature
    const tampered = await signWith(target, 'OWL-4', created.password, der.toString('base64'))
    expect(tampered.status).toBe(400)
    expect(tampered.body.toString()).toContain('signature')
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const ecCsr = opensslReq(ecKey, '/CN=OWL-4')
    const ec = await signWith(target, 'OWL-4', created.password, ecCsr)
    expect(ec.status).toBe(400)
    expect(ec.body.toString()).toContain('Only RSA keys')
    // Keys a TAK client never makes, refused before forge spends time on the signature: exponent 3, 1024 bits.
    for (const options of [{ modulusLength: 2048, publicExponent: 3 }, { modulusLength: 1024 }]) {
      const odd = generateKeyPairSync('rsa', options).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
      const answer = await signWith(target, 'OWL-4', created.password, opensslReq(odd, '/CN=OWL-4'))
      expect({ options, status: answer.status, body: answer.body.toString() }).toMatchObject({
        status: 400,
        body: expect.stringContaining('exponent 65537')
      })
    }
    const huge = await signWith(target, 'OWL-4', created.password, 'A'.repeat(100_000))
    expect(huge.status).toBe(413)
    expect((await enrollRequest(target, 'POST', '/Marti/api/tls/config', { authorization: auth })).status).toBe(405)
    expect((await enrollRequest(target, 'GET', '/Marti/api/tls/signClient', { authorization: auth })).status).toBe(405)
    expect((await enrollRequest(target, 'GET', '/Marti/api/tls/signClient/v3', { authorization: auth })).status).toBe(404)

    // None of that used the password up: a bare base64 DER CSR (TAK accepts both) now enrolls OWL-4.
    const bare = Buffer.from(good.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64').toString('base64')
    const signed = await signWith(target, 'OWL-4', created.password, bare)
    expect(signed.status).toBe(200)
    expect(signed.headers['content-type']).toBe('application/json')
    const body = JSON.parse(signed.body.toString()) as { signedCert: string; ca0: string }
    expect(new X509Certificate(Buffer.from(body.signedCert, 'base64')).subject).toBe('CN=OWL-4')
  })

  it('an expired or cancelled enrollment cannot be used; the callsign is free again', async () => {
    const { created, target } = await create('CROW-5')
    const taken = await t.call('enrollDevice', { networkId: alpha, callsign: 'crow-5' }, admin)
    expect(taken).toMatchObject({ ok: false, error: { code: 'conflict' } })
    // A day has passed (the store's record says so).
    await t.services.store.update((doc) => {
      doc.deviceEnrollments.find((e) => e.id === created.enrollment.id)!.expiresAt = new Date(Date.now() - 1000).toISOString()
    })
    const expired = await signWith(target, 'CROW-5', created.password, opensslCsr([{ name: 'CN', value: 'CROW-5' }]).csrPem)
    expect(expired.status).toBe(401)
    expect(expired.body.toString()).toContain('expired')
    expect(await t.ok('listDeviceEnrollments', { networkId: alpha }, admin)).not.toContainEqual(
      expect.objectContaining({ callsign: 'CROW-5' })
    )

    const second = await create('CROW-5')
    await t.ok('cancelDeviceEnrollment', { id: second.created.enrollment.id }, admin)
    const cancelled = await signWith(second.target, 'CROW-5', second.created.password, opensslCsr([{ name: 'CN', value: 'CROW-5' }]).csrPem)
    expect(cancelled.status).toBe(401)
    expect((await t.ok('enrollDevice', { networkId: alpha, callsign: 'CROW-5' }, admin)).device.callsign).toBe('CROW-5')
  })

  it('wrong passwords from one address are throttled; other phones are not', async () => {
    const { created, target } = await create('RAVEN-6')
    const guesser: EnrollTarget = { ...target, localAddress: '127.0.0.9' }
    const statuses: number[] = []
    for (let i = 0; i < 7; i++) {
      statuses.push((await enrollRequest(guesser, 'GET', '/Marti/api/tls/config', { authorization: basic('RAVEN-6', `GUESS${i}`) })).status)
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(statuses.at(-1)).toBe(429)
    // Even the right password waits now from that address; another address enrolls.
    expect(
      (await enrollRequest(guesser, 'GET', '/Marti/api/tls/config', { authorization: basic('RAVEN-6', created.password) })).status
    ).toBe(429)
    const enrolled = await enrollLikeAtak(
      { ...target, localAddress: '127.0.0.10' },
      { username: 'RAVEN-6', password: created.password, clientUid: 'ANDROID-raven' }
    )
    expect(new X509Certificate(enrolled.certPem).subject).toBe('CN=RAVEN-6')
  })

  it('only operators with Manage devices create or cancel enrollments', async () => {
    const org = (await t.ok('listOrganizations', {}, admin))[0]!
    await t.ok('createUser', { username: 'viewer', password: 'viewer-password-1', organizationId: org.id }, admin)
    const viewer = await t.loginAs('viewer', 'viewer-password-1')
    const refused = await t.call('createDeviceEnrollment', { networkId: alpha, callsign: 'SPY-1' }, viewer)
    expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const { created } = await create('SPARROW-7')
    expect(await t.call('cancelDeviceEnrollment', { id: created.enrollment.id }, viewer)).toMatchObject({
      ok: false,
      error: { code: 'forbidden' }
    })
    expect(await t.call('createDeviceEnrollment', { networkId: alpha, callsign: 'BAD:NAME' }, admin)).toMatchObject({
      ok: false,
      error: { code: 'invalid' }
    })
  })
})

describe('@tak-ps/node-tak enrolls for a certificate (OAuth password grant, bearer config, Basic signClient)', () => {
  let t: TestGateway
  let admin = ''
  let alpha = ''
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-node-tak-'))

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Ops' }, admin)
    alpha = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
    fs.writeFileSync(path.join(scratch, 'ca.pem'), t.services.pki.caCertPem)
  })

  afterAll(async () => {
    await t?.stop()
    fs.rmSync(scratch, { recursive: true, force: true })
  })

  /** Runs node-tak in a child (asynchronously: the gateway answering it lives in this process). */
  function nodeTak(username: string, password: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const script = path.resolve('tests/support/node-tak-credentials.mjs')
      const child = spawn(process.execPath, [script, `https://localhost:${t.services.ports.enrollment}`, username, password], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(scratch, 'ca.pem') },
        timeout: 30_000
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      child.on('close', (status) => resolve({ status, stdout, stderr }))
    })
  }

  it('gets a certificate for its own key; a wrong password gets a clear refusal', async () => {
    const created = await t.ok('createDeviceEnrollment', { networkId: alpha, callsign: 'ETL-1' }, admin)
    const wrong = await nodeTak('ETL-1', 'NOTTHEPASSWORD')
    expect(wrong.status).toBe(1)
    expect(wrong.stderr).toMatch(/invalid_grant.*Wrong user name or one-time password/)

    const run = await nodeTak('ETL-1', created.password)
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const credentials = JSON.parse(run.stdout) as { cert: string; key: string; ca: string[] }
    const cert = new X509Certificate(credentials.cert)
    expect(cert.subject).toBe('CN=ETL-1')
    expect(cert.verify(new X509Certificate(t.services.pki.caCertPem).publicKey)).toBe(true)
    expect(cert.checkPrivateKey(createPrivateKey(credentials.key))).toBe(true)
    expect(credentials.ca).toHaveLength(1)
    const device = (await t.ok('listDevices', { networkId: alpha }, admin)).find((d) => d.callsign === 'ETL-1')
    expect(device).toMatchObject({ enrolledBy: 'password', fingerprint: cert.fingerprint256 })
  })

  it('a bearer token names one enrollment, serves config but never signing, and a forged one is refused', async () => {
    const created = await t.ok('createDeviceEnrollment', { networkId: alpha, callsign: 'ETL-2' }, admin)
    const target: EnrollTarget = { host: '127.0.0.1', port: created.enrollmentPort, ca: t.services.pki.caCertPem }
    const grant = await enrollRequest(target, 'POST', `/oauth/token?grant_type=password&username=ETL-2&password=${created.password}`)
    expect(grant.status).toBe(200)
    const { access_token: token, expires_in: expiresIn } = JSON.parse(grant.body.toString()) as { access_token: string; expires_in: number }
    expect(expiresIn).toBe(900)
    const config = await enrollRequest(target, 'GET', '/Marti/api/tls/config', { authorization: `Bearer ${token}` })
    expect(config.status).toBe(200)
    expect(nameEntriesOf(config.body.toString())).toEqual([
      { name: 'O', value: 'Ops' },
      { name: 'OU', value: 'Alpha' }
    ])
    const csrPem = opensslCsr([{ name: 'CN', value: 'ETL-2' }]).csrPem
    const sign = await enrollRequest(target, 'POST', '/Marti/api/tls/signClient/v2?clientUid=x', {
      authorization: `Bearer ${token}`,
      body: csrPem
    })
    expect(sign.status).toBe(401)
    expect(sign.body.toString()).toContain('needs the user name and one-time password')
    const [header, payload] = token.split('.')
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, exp: Number(claims.exp) + 86_400 })).toString('base64url')}.${token.split('.')[2]}`
    expect((await enrollRequest(target, 'GET', '/Marti/api/tls/config', { authorization: `Bearer ${forged}` })).status).toBe(401)
    const form = await enrollRequest(target, 'POST', '/oauth/token', {
      body: `grant_type=password&username=ETL-2&password=${created.password}`,
      contentType: 'application/x-www-form-urlencoded'
    })
    expect(form.status).toBe(200)
    expect((await enrollRequest(target, 'POST', '/oauth/token?grant_type=client_credentials')).status).toBe(400)
    // Cancelling the enrollment ends the token with it.
    await t.ok('cancelDeviceEnrollment', { id: created.enrollment.id }, admin)
    expect((await enrollRequest(target, 'GET', '/Marti/api/tls/config', { authorization: `Bearer ${token}` })).status).toBe(401)
  })
})
