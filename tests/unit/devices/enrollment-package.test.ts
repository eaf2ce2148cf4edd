// The connection data package: zip layout, manifest, pref keys, p12 files readable by Node and by `openssl -legacy`,
// and a real mutual-TLS handshake with the certificate taken out of the package.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { randomUUID, X509Certificate } from 'node:crypto'
import { XMLParser } from 'fast-xml-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  atakEnrollQr,
  buildConnectionPackages,
  buildEnrollmentPackage,
  fileSafe,
  itakQr,
  readablePassword,
  type ConnectionPackages
} from '../../../gateway/devices/connection-package.ts'
import type { IssuedCertificate } from '../../../gateway/pki/pki.ts'
import { pemFromP12, testPki, unzipEntries, type TestPki } from '../../support/pki.ts'

const CALLSIGN = 'Øst-Alpha 1'
let t: TestPki
let other: TestPki
let device: IssuedCertificate
let packages: ConnectionPackages
let atak: Map<string, Buffer>
let itak: Map<string, Buffer>
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-package-test-'))

beforeAll(async () => {
  ;[t, other] = await Promise.all([testPki(), testPki({ freshCa: true })])
  device = await t.device(CALLSIGN)
  packages = await buildConnectionPackages({
    deploymentName: 'Acme HQ',
    serverName: 'Field, Team A',
    host: 'tak.example.org',
    port: 8089,
    martiPort: 8543,
    callsign: CALLSIGN,
    clientCertPem: device.certPem,
    clientKeyPem: device.keyPem,
    caCertPem: t.pki.caCertPem
  })
  atak = await unzipEntries(packages.atakZip)
  itak = await unzipEntries(packages.itakZip)
})

afterAll(() => {
  t.cleanup()
  other.cleanup()
  fs.rmSync(scratch, { recursive: true, force: true })
})

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' })

type Entry = { key: string; class: string; '#text'?: string | number | boolean }
function prefEntries(text: string): Record<string, Record<string, { value: string; class: string }>> {
  const doc = xml.parse(text) as { preferences: { preference: { name: string; entry: Entry[] }[] } }
  const out: Record<string, Record<string, { value: string; class: string }>> = {}
  for (const pref of doc.preferences.preference) {
    out[pref.name] = Object.fromEntries(pref.entry.map((e) => [e.key, { value: String(e['#text'] ?? ''), class: e.class }]))
  }
  return out
}

describe('ATAK package', () => {
  it('has the manifest, a pref and both p12 files, with deployment-unique names', () => {
    expect(packages.atakFilename).toBe('Acme_HQ-st-Alpha_1.zip')
    expect([...atak.keys()].sort()).toEqual([
      'MANIFEST/manifest.xml',
      'certs/Acme_HQ-st-Alpha_1.p12',
      'certs/Acme_HQ.pref',
      'certs/truststore-Acme_HQ.p12'
    ])
  })

  it('has a MissionPackageManifest v2 with uid, name, onReceiveDelete and every file listed', () => {
    const root = manifestOf(atak.get('MANIFEST/manifest.xml')!)
    expect(root.version).toBe('2')
    expect(root.params.uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(root.params.name).toBe(packages.atakFilename)
    expect(root.params.onReceiveDelete).toBe('true')
    expect(root.entries.sort()).toEqual([...atak.keys()].filter((n) => !n.startsWith('MANIFEST/')).sort())
  })

  it('writes the indexed cot_streams keys with relative cert/ paths and the passwords', () => {
    const prefs = prefEntries(atak.get('certs/Acme_HQ.pref')!.toString())
    const streams = prefs.cot_streams!
    expect(streams.count).toEqual({ value: '1', class: 'class java.lang.Integer' })
    expect(streams.description0!.value).toBe('Field, Team A')
    expect(streams.enabled0).toEqual({ value: 'true', class: 'class java.lang.Boolean' })
    expect(streams.connectString0!.value).toBe('tak.example.org:8089:ssl')
    expect(streams.caLocation0!.value).toBe('cert/truststore-Acme_HQ.p12')
    expect(streams.certificateLocation0!.value).toBe('cert/Acme_HQ-st-Alpha_1.p12')
    expect(streams.caPassword0!.value).toBe(packages.truststorePassword)
    expect(streams.clientPassword0!.value).toBe(packages.clientPassword)
    expect(prefs['com.atakmap.app_preferences']!.locationCallsign!.value).toBe(CALLSIGN)
    // Data packages go to the Marti port wherever it is (ATAK assumes 8443 without this).
    expect(prefs['com.atakmap.app_preferences']!.apiSecureServerPort).toEqual({ value: '8543', class: 'class java.lang.String' })
  })

  it('p12 files load in node:tls with their passwords and carry our certificates', async () => {
    const client = atak.get('certs/Acme_HQ-st-Alpha_1.p12')!
    const truststore = atak.get('certs/truststore-Acme_HQ.p12')!
    expect(() => tls.createSecureContext({ pfx: client, passphrase: packages.clientPassword })).not.toThrow()
    expect(() => tls.createSecureContext({ pfx: client, passphrase: 'wrong' })).toThrow()
    const fromClient = await pemFromP12(client, packages.clientPassword)
    expect(fingerprints(fromClient.certPems)).toEqual([device.fingerprint, t.pki.caFingerprint])
    expect(fromClient.keyPem).toBeTruthy()
    const fromTruststore = await pemFromP12(truststore, packages.truststorePassword)
    expect(fromTruststore.keyPem).toBeNull()
    expect(fingerprints(fromTruststore.certPems)).toEqual([t.pki.caFingerprint])
    // node:tls opens the truststore with its password (the MAC checks out) but, having no key, it is no identity:
    // a wrong password fails earlier, at the MAC. Its CA goes into `ca` instead.
    expect(() => tls.createSecureContext({ pfx: truststore, passphrase: packages.truststorePassword })).toThrow(/private key/)
    expect(() => tls.createSecureContext({ pfx: truststore, passphrase: 'wrong' })).toThrow(/mac verify failure/)
    expect(() => tls.createSecureContext({ ca: fromTruststore.certPems })).not.toThrow()
  })

  it('p12 files are legacy format per openssl: SHA-1 MAC, 3DES key bag', () => {
    const client = opensslInfo(atak.get('certs/Acme_HQ-st-Alpha_1.p12')!, packages.clientPassword)
    expect(client).toMatch(/MAC: sha1/)
    expect(client).toMatch(/Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC/)
    expect(client).not.toMatch(/PBES2|AES/)
    const truststore = opensslInfo(atak.get('certs/truststore-Acme_HQ.p12')!, packages.truststorePassword)
    expect(truststore).toMatch(/MAC: sha1/)
    expect(truststore).not.toMatch(/Keybag/)
    expect(truststore).toMatch(/friendlyName: Acme_HQ-ca/)
    expect(() => opensslInfo(atak.get('certs/truststore-Acme_HQ.p12')!, 'wrong')).toThrow()
  })
})

describe('WinTAK package', () => {
  it('nests the ATAK package in an outer data package whose manifest lists it', async () => {
    expect(packages.wintakFilename).toBe('Acme_HQ-st-Alpha_1-WinTAK.zip')
    const outer = await unzipEntries(packages.wintakZip)
    expect([...outer.keys()].sort()).toEqual(['Acme_HQ-st-Alpha_1.zip', 'MANIFEST/manifest.xml'])
    const root = manifestOf(outer.get('MANIFEST/manifest.xml')!)
    expect(root.version).toBe('2')
    expect(root.params).toMatchObject({ name: packages.wintakFilename, onReceiveDelete: 'true' })
    expect(root.params.uid).not.toBe(manifestOf(atak.get('MANIFEST/manifest.xml')!).params.uid)
    expect(root.entries).toEqual([packages.atakFilename])
    // The inner package has ATAK's files; the p12 files are the same bytes.
    const inner = await unzipEntries(outer.get(packages.atakFilename)!)
    expect([...inner.keys()].sort()).toEqual([...atak.keys()].sort())
    expect(manifestOf(inner.get('MANIFEST/manifest.xml')!).entries.sort()).toEqual([
      'certs/Acme_HQ-st-Alpha_1.p12',
      'certs/Acme_HQ.pref',
      'certs/truststore-Acme_HQ.p12'
    ])
    for (const name of ['certs/Acme_HQ-st-Alpha_1.p12', 'certs/truststore-Acme_HQ.p12'])
      expect(inner.get(name)!.equals(atak.get(name)!)).toBe(true)
  })

  it('its pref has both forms: the indexed stream keys and the global caLocation, caPassword, certificateLocation, clientPassword', async () => {
    const inner = await unzipEntries((await unzipEntries(packages.wintakZip)).get(packages.atakFilename)!)
    const pref = prefEntries(inner.get('certs/Acme_HQ.pref')!.toString())
    const atakPrefs = prefEntries(atak.get('certs/Acme_HQ.pref')!.toString())
    expect(pref.cot_streams).toEqual(atakPrefs.cot_streams)
    const streams = pref.cot_streams!
    const app = pref['com.atakmap.app_preferences']!
    for (const key of ['caLocation', 'caPassword', 'certificateLocation', 'clientPassword']) {
      expect({ key, global: app[key] }).toEqual({ key, global: { value: streams[`${key}0`]!.value, class: 'class java.lang.String' } })
    }
    expect(app.caLocation!.value).toBe('cert/truststore-Acme_HQ.p12')
    expect(app.certificateLocation!.value).toBe('cert/Acme_HQ-st-Alpha_1.p12')
    expect(app.caPassword!.value).toBe(packages.truststorePassword)
    expect(app.clientPassword!.value).toBe(packages.clientPassword)
    // ATAK's own package keeps only the per-stream keys (global ones are app-wide defaults there).
    expect(Object.keys(atakPrefs['com.atakmap.app_preferences']!)).not.toContain('caLocation')
  })
})

function manifestOf(bytes: Buffer): { version: string; params: Record<string, string>; entries: string[] } {
  type Content = { zipEntry: string }
  const doc = xml.parse(bytes.toString()) as {
    MissionPackageManifest: {
      version: string
      Configuration: { Parameter: { name: string; value: string }[] }
      Contents: { Content: Content | Content[] }
    }
  }
  const root = doc.MissionPackageManifest
  return {
    version: root.version,
    params: Object.fromEntries(root.Configuration.Parameter.map((p) => [p.name, p.value])),
    entries: [root.Contents.Content].flat().map((c) => c.zipEntry)
  }
}

describe('Java keystore (the JCA side ATAK and TAK Server tooling build on)', () => {
  it('keytool lists the client p12 as one private key entry named after the callsign', () => {
    const file = path.join(scratch, 'client.p12')
    fs.writeFileSync(file, atak.get('certs/Acme_HQ-st-Alpha_1.p12')!)
    const result = spawnSync('keytool', ['-list', '-storetype', 'PKCS12', '-keystore', file, '-storepass', packages.clientPassword], {
      encoding: 'utf8'
    })
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/Your keystore contains 1 entry/)
    expect(result.stdout).toMatch(new RegExp(`^${CALLSIGN.toLowerCase()}, .*PrivateKeyEntry`, 'm'))
    expect(result.stdout).toContain(device.fingerprint)
  })

  it('keytool lists the truststore p12 as one trusted certificate entry, our CA (Java needs its trusted-key-usage bag attribute)', async () => {
    const enrollment = await buildEnrollmentPackage({
      deploymentName: 'Acme HQ',
      serverName: 'Alpha',
      host: 'tak.example.org',
      port: 8089,
      callsign: CALLSIGN,
      username: CALLSIGN,
      caCertPem: t.pki.caCertPem,
      enrollmentPort: 8446,
      martiPort: 8443
    })
    const enrollmentEntries = await unzipEntries(enrollment.zip)
    const truststores: [string, Buffer, string][] = [
      ['connection package', atak.get('certs/truststore-Acme_HQ.p12')!, packages.truststorePassword],
      ['enrollment package', enrollmentEntries.get('certs/truststore-Acme_HQ.p12')!, enrollment.truststorePassword]
    ]
    for (const [which, p12, password] of truststores) {
      const file = path.join(scratch, `truststore-${randomUUID()}.p12`)
      fs.writeFileSync(file, p12)
      const result = spawnSync('keytool', ['-list', '-storetype', 'PKCS12', '-keystore', file, '-storepass', password], {
        encoding: 'utf8'
      })
      expect(result.status, `${which}: ${result.stderr}`).toBe(0)
      expect(result.stdout, which).toMatch(/Your keystore contains 1 entry/)
      expect(result.stdout, which).toMatch(/^acme_hq-ca, .*trustedCertEntry/m)
      expect(result.stdout, which).toContain(t.pki.caFingerprint)
    }
  })
})

describe('iTAK package and QR', () => {
  it('is a flat zip: config.pref and the p12 files at the root, app-wide certificate keys', () => {
    expect([...itak.keys()].sort()).toEqual(['Acme_HQ-st-Alpha_1.p12', 'config.pref', 'truststore-Acme_HQ.p12'])
    const prefs = prefEntries(itak.get('config.pref')!.toString())
    expect(prefs.cot_streams!.connectString0!.value).toBe('tak.example.org:8089:ssl')
    const app = prefs['com.atakmap.app_preferences']!
    expect(app.caLocation!.value).toBe('cert/truststore-Acme_HQ.p12')
    expect(app.certificateLocation!.value).toBe('cert/Acme_HQ-st-Alpha_1.p12')
    expect(app.caPassword!.value).toBe(packages.truststorePassword)
    expect(app.clientPassword!.value).toBe(packages.clientPassword)
    expect(() => tls.createSecureContext({ pfx: itak.get('Acme_HQ-st-Alpha_1.p12')!, passphrase: packages.clientPassword })).not.toThrow()
  })

  it('QR text is name,host,port,ssl (commas removed from the name) and the data URL is a PNG', () => {
    expect(packages.itakQrText).toBe('Field  Team A,tak.example.org,8089,ssl')
    expect(packages.itakQrDataUrl.startsWith('data:image/png;base64,')).toBe(true)
    const png = Buffer.from(packages.itakQrDataUrl.split(',')[1]!, 'base64')
    expect(png.subarray(1, 4).toString()).toBe('PNG')
  })
})

describe('passwords', () => {
  it('are 16 readable characters, new for every package', async () => {
    expect(packages.clientPassword).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{16}$/)
    expect(packages.truststorePassword).not.toBe(packages.clientPassword)
    const again = new Set(Array.from({ length: 50 }, () => readablePassword()))
    expect(again.size).toBe(50)
    expect([...again].join('')).not.toMatch(/[01OIl]/)
  })

  it('file names keep only safe characters', () => {
    expect(fileSafe('../../etc/passwd', 'x')).toBe('etc_passwd')
    expect(fileSafe('東京', 'device')).toBe('device')
  })
})

describe('mutual TLS with the certificate from the package', () => {
  it('a server with our server certificate accepts the device, and refuses a device of another CA', async () => {
    const server = tls.createServer({
      key: t.pki.server.keyPem,
      cert: t.pki.server.certPem,
      ca: [t.pki.caCertPem],
      requestCert: true,
      rejectUnauthorized: true
    })
    const peers: string[] = []
    server.on('secureConnection', (socket) => {
      peers.push((socket.getPeerCertificate() as { fingerprint256: string }).fingerprint256)
      socket.end('ok')
    })
    server.on('tlsClientError', () => {})
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    try {
      const client = atak.get('certs/Acme_HQ-st-Alpha_1.p12')!
      const trust = await pemFromP12(atak.get('certs/truststore-Acme_HQ.p12')!, packages.truststorePassword)
      const reply = await handshake({
        port,
        pfx: client,
        passphrase: packages.clientPassword,
        ca: trust.certPems,
        servername: 'fedgate.test'
      })
      expect(reply).toBe('ok')
      expect(peers).toEqual([device.fingerprint])

      const stranger = await other.device('STRANGER')
      await expect(
        handshake({ port, key: stranger.keyPem, cert: stranger.certPem, ca: trust.certPems, servername: 'fedgate.test' })
      ).rejects.toThrow()
      expect(peers).toEqual([device.fingerprint])
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

function handshake(options: tls.ConnectionOptions & { port: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', ...options })
    let data = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('timed out'))
    }, 5000)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (data += chunk))
    socket.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.on('end', () => {
      clearTimeout(timer)
      socket.destroy()
      // TLS 1.3 reports a refused client certificate after the handshake: an empty close means refused.
      if (data === 'ok') resolve(data)
      else reject(new Error('closed without the reply'))
    })
  })
}

function fingerprints(pems: string[]): string[] {
  return pems.map((pem) => new X509Certificate(pem).fingerprint256)
}

/** `openssl pkcs12 -legacy -info`: the MAC and bag algorithms go to stderr; throws when the password is wrong. */
/**
 * What `openssl pkcs12 -info` says about the file's structure (MAC, bags, algorithms), without the certificates' PEM:
 * base64 can spell anything ("AES", "Keybag"), so negative matches must not look there.
 */
function opensslInfo(p12: Buffer, password: string): string {
  const file = path.join(scratch, `${randomUUID()}.p12`)
  fs.writeFileSync(file, p12)
  const result = spawnSync('openssl', ['pkcs12', '-legacy', '-info', '-nokeys', '-in', file, '-passin', `pass:${password}`], {
    encoding: 'utf8'
  })
  if (result.status !== 0) throw new Error(`openssl refused the file: ${result.stderr}`)
  return `${result.stdout}\n${result.stderr}`.replace(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g, '[PEM]')
}

describe('enrollment package and QR texts (a device that enrolls itself)', () => {
  it('ATAK package: truststore only, auth on, enroll-for-certificate set, the user name filled in', async () => {
    const pkg = await buildEnrollmentPackage({
      deploymentName: 'Acme HQ',
      serverName: 'Field, Team A',
      host: 'tak.example.org',
      port: 8089,
      callsign: CALLSIGN,
      username: CALLSIGN,
      caCertPem: t.pki.caCertPem,
      enrollmentPort: 9446,
      martiPort: 8443
    })
    expect(pkg.filename).toBe('Acme_HQ-st-Alpha_1-enroll.zip')
    const entries = await unzipEntries(pkg.zip)
    expect([...entries.keys()].sort()).toEqual(['MANIFEST/manifest.xml', 'certs/Acme_HQ.pref', 'certs/truststore-Acme_HQ.p12'])
    const manifest = manifestOf(entries.get('MANIFEST/manifest.xml')!)
    expect(manifest.params.name).toBe(pkg.filename)
    expect(manifest.entries.sort()).toEqual(['certs/Acme_HQ.pref', 'certs/truststore-Acme_HQ.p12'])
    const streams = prefEntries(entries.get('certs/Acme_HQ.pref')!.toString()).cot_streams!
    expect(streams.connectString0!.value).toBe('tak.example.org:8089:ssl')
    expect(streams.caLocation0!.value).toBe('cert/truststore-Acme_HQ.p12')
    expect(streams.caPassword0!.value).toBe(pkg.truststorePassword)
    expect(streams.useAuth0).toEqual({ value: 'true', class: 'class java.lang.Boolean' })
    expect(streams.enrollForCertificateWithTrust0).toEqual({ value: 'true', class: 'class java.lang.Boolean' })
    expect(streams.username0!.value).toBe(CALLSIGN)
    expect(streams.certificateLocation0).toBeUndefined()
    expect(streams.clientPassword0).toBeUndefined()
    const app = prefEntries(entries.get('certs/Acme_HQ.pref')!.toString())['com.atakmap.app_preferences']!
    expect(app.apiCertEnrollmentPort).toEqual({ value: '9446', class: 'class java.lang.String' })
    expect(app.apiSecureServerPort).toEqual({ value: '8443', class: 'class java.lang.String' })
    const trust = await pemFromP12(entries.get('certs/truststore-Acme_HQ.p12')!, pkg.truststorePassword)
    expect(trust.keyPem).toBeNull()
    expect(fingerprints(trust.certPems)).toEqual([t.pki.caFingerprint])
    expect(opensslInfo(entries.get('certs/truststore-Acme_HQ.p12')!, pkg.truststorePassword)).toMatch(/MAC: sha1/)
    expect(app.caLocation).toBeUndefined()
    // WinTAK: the same package nested in an outer data package that lists it, its pref with the global truststore
    // keys as well (there is no client certificate yet, so no certificateLocation).
    expect(pkg.wintakFilename).toBe('Acme_HQ-st-Alpha_1-enroll-WinTAK.zip')
    const outer = await unzipEntries(pkg.wintakZip)
    expect([...outer.keys()].sort()).toEqual(['Acme_HQ-st-Alpha_1-enroll.zip', 'MANIFEST/manifest.xml'])
    expect(manifestOf(outer.get('MANIFEST/manifest.xml')!).entries).toEqual(['Acme_HQ-st-Alpha_1-enroll.zip'])
    const inner = await unzipEntries(outer.get('Acme_HQ-st-Alpha_1-enroll.zip')!)
    expect([...inner.keys()].sort()).toEqual([...entries.keys()].sort())
    expect(inner.get('certs/truststore-Acme_HQ.p12')!.equals(entries.get('certs/truststore-Acme_HQ.p12')!)).toBe(true)
    const wintakPref = prefEntries(inner.get('certs/Acme_HQ.pref')!.toString())
    expect(wintakPref.cot_streams).toEqual(prefEntries(entries.get('certs/Acme_HQ.pref')!.toString()).cot_streams)
    const wintakApp = wintakPref['com.atakmap.app_preferences']!
    expect(wintakApp.caLocation).toEqual({ value: 'cert/truststore-Acme_HQ.p12', class: 'class java.lang.String' })
    expect(wintakApp.caPassword).toEqual({ value: pkg.truststorePassword, class: 'class java.lang.String' })
    expect(wintakApp.certificateLocation).toBeUndefined()
    expect(wintakApp.clientPassword).toBeUndefined()
  })

  it('ATAK enroll URI: host alone with streaming on 8089, host:port otherwise, %20 for spaces; iTAK text without stray commas', () => {
    expect(atakEnrollQr('tak.example.org', 8089, 'VIPER 1', 'ABCD2345EFGH')).toBe(
      'tak://com.atakmap.app/enroll?host=tak.example.org&username=VIPER%201&token=ABCD2345EFGH'
    )
    expect(atakEnrollQr('10.0.0.5', 9089, 'Ø&=', 'X')).toBe(
      'tak://com.atakmap.app/enroll?host=10.0.0.5%3A9089&username=%C3%98%26%3D&token=X'
    )
    expect(itakQr('Field, Team A', 'fallback', 'tak.example.org', 8089)).toBe('Field  Team A,tak.example.org,8089,ssl')
    expect(itakQr(' , ', 'fallback', 'h', 1)).toBe('fallback,h,1,ssl')
  })
})
