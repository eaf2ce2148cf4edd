// Our CA and its certificates, checked with Node's X509Certificate and the openssl CLI.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprintOf, normalizeFingerprint, openPki, type Pki } from '../../../gateway/pki/pki.ts'
import { testPki, type TestPki } from '../../support/pki.ts'

const roots: string[] = []
const tempDir = (): string => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-pki-test-'))
  roots.push(root)
  return path.join(root, 'pki')
}
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true })
})

const mode = (file: string): number => fs.statSync(file).mode & 0o777

describe('openPki on a new directory', () => {
  let dir: string
  let pki: Pki
  beforeAll(async () => {
    dir = tempDir()
    pki = await openPki(dir, { hostname: 'tak.example.org', federateId: 'Fedgate-Test', machineAddresses: () => ['192.0.2.7'] })
  })

  it('creates a CA: self-signed, cA, keyCertSign, 10 years, notBefore in the past', () => {
    const ca = new X509Certificate(pki.caCertPem)
    expect(ca.ca).toBe(true)
    expect(ca.checkIssued(ca)).toBe(true)
    expect(ca.verify(ca.publicKey)).toBe(true)
    expect(ca.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048)
    const years = (Date.parse(ca.validTo) - Date.now()) / (365.25 * 86_400_000)
    expect(years).toBeGreaterThan(9.9)
    expect(years).toBeLessThan(10.1)
    expect(Date.parse(ca.validFrom)).toBeLessThan(Date.now() - 4 * 60_000)
    expect(pki.caFingerprint).toBe(ca.fingerprint256)
  })

  it('issues the server certificate with SAN, EKU serverAuth+clientAuth, KU digitalSignature, chained to the CA', () => {
    const server = new X509Certificate(pki.server.certPem)
    const ca = new X509Certificate(pki.caCertPem)
    expect(server.ca).toBe(false)
    expect(server.checkIssued(ca)).toBe(true)
    expect(server.verify(ca.publicKey)).toBe(true)
    expect(server.checkHost('tak.example.org')).toBe('tak.example.org')
    expect(server.checkHost('localhost')).toBe('localhost')
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(server.checkIP('192.0.2.7')).toBe('192.0.2.7')
    expect(server.checkIP('::1')).toBe('::1')
    expect(server.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']))
    expect(server.checkPrivateKey(cryptoKey(pki.server.keyPem))).toBe(true)
    expect(pki.server.fingerprint).toBe(server.fingerprint256)
    expect(keyUsageText(pki.server.certPem)).toMatch(/Digital Signature, Key Encipherment/)
  })

  it('issues the federation identity: CN = federate id, SAN = hostname only, serverAuth+clientAuth', () => {
    const fed = new X509Certificate(pki.federation!.certPem)
    expect(fed.subject).toBe('CN=Fedgate-Test')
    expect(fed.subjectAltName).toBe('DNS:tak.example.org')
    expect(fed.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']))
    expect(fed.checkIssued(new X509Certificate(pki.caCertPem))).toBe(true)
    expect(keyUsageText(pki.federation!.certPem)).toMatch(/Digital Signature/)
  })

  it('keeps keys 0600 and certificates 0644 in the directory', () => {
    for (const name of ['ca', 'server', 'federation']) {
      expect(mode(path.join(dir, `${name}.key`))).toBe(0o600)
      expect(mode(path.join(dir, `${name}.crt`))).toBe(0o644)
    }
  })

  it('issues device certificates: UTF-8 CN, clientAuth only, chosen validity, positive distinct serials, CA key id as AKI', async () => {
    const callsign = 'Ålesund_Øst 東京'
    const [a, b] = await Promise.all([
      pki.issueDeviceCertificate({ callsign, validDays: 30 }),
      pki.issueDeviceCertificate({ callsign: 'BRAVO', validDays: 400 })
    ])
    const cert = new X509Certificate(a.certPem)
    const ca = new X509Certificate(pki.caCertPem)
    expect(cert.subject).toBe(`CN=${callsign}`)
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2'])
    expect(cert.checkIssued(ca)).toBe(true)
    expect(cert.verify(ca.publicKey)).toBe(true)
    expect(cert.checkPrivateKey(cryptoKey(a.keyPem))).toBe(true)
    expect(a.fingerprint).toBe(cert.fingerprint256)
    expect(a.serial).toBe(cert.serialNumber.toUpperCase())
    expect(a.serial).not.toBe(b.serial)
    expect(Number.parseInt(a.serial.slice(0, 2), 16)).toBeLessThan(0x80)
    expect(Math.round((Date.parse(a.notAfter) - Date.now()) / 86_400_000)).toBe(30)
    expect(Math.round((Date.parse(b.notAfter) - Date.now()) / 86_400_000)).toBe(400)
    expect(Date.parse(cert.validFrom)).toBeLessThan(Date.now() - 4 * 60_000)
    const text = opensslText(a.certPem)
    // The CN is a UTF8String (not a PrintableString with Latin-1 bytes), and the AKI names the CA's key.
    expect(asn1Parse(a.certPem)).toMatch(/UTF8STRING/)
    expect(text).toMatch(/Digital Signature/)
    const aki = /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1]
    const caSki = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(opensslText(pki.caCertPem))?.[1]
    expect(aki).toBeTruthy()
    expect(aki).toBe(caSki)
  })

  it('reloads the same CA and identities on the next open instead of regenerating', async () => {
    const again = await openPki(dir, { hostname: 'tak.example.org', federateId: 'Fedgate-Test', machineAddresses: () => ['192.0.2.7'] })
    expect(again.caFingerprint).toBe(pki.caFingerprint)
    expect(again.server.fingerprint).toBe(pki.server.fingerprint)
    expect(again.federation!.fingerprint).toBe(pki.federation!.fingerprint)
  })

  it('reissues the server certificate when the hostname changes, keeping the CA and the federation certificate', async () => {
    const moved = await openPki(dir, { hostname: 'new.example.org', federateId: 'Fedgate-Test', machineAddresses: () => ['192.0.2.7'] })
    expect(moved.caFingerprint).toBe(pki.caFingerprint)
    expect(moved.server.fingerprint).not.toBe(pki.server.fingerprint)
    expect(new X509Certificate(moved.server.certPem).checkHost('new.example.org')).toBe('new.example.org')
    // TAK pins the federation certificate's fingerprint and checks no name in it: a new one would stop every federation.
    expect(moved.federation!.fingerprint).toBe(pki.federation!.fingerprint)
    await moved.ensureFederationIdentity('new.example.org', 'Renamed')
    expect(moved.federation!.fingerprint).toBe(pki.federation!.fingerprint)
    expect(moved.federationRenewal).toBeNull()
    await moved.ensureFederationIdentity('', 'Renamed')
    expect(moved.federation).toBeNull()
  })

  it('renews the federation certificate when it nears its end, and says which fingerprint replaced which', async () => {
    const expiring = await pki.issueDeviceCertificate({ callsign: 'Fedgate-Test', validDays: 10 })
    fs.writeFileSync(path.join(dir, 'federation.crt'), expiring.certPem)
    fs.writeFileSync(path.join(dir, 'federation.key'), expiring.keyPem, { mode: 0o600 })
    const renewed = await openPki(dir, { hostname: 'tak.example.org', federateId: 'Fedgate-Test', machineAddresses: () => ['192.0.2.7'] })
    expect(renewed.federation!.fingerprint).not.toBe(expiring.fingerprint)
    expect(renewed.federationRenewal).toEqual({ from: expiring.fingerprint, to: renewed.federation!.fingerprint })
    expect(new X509Certificate(renewed.federation!.certPem).subject).toBe('CN=Fedgate-Test')
  })

  it('stores device keys with mode 0600 and refuses path-like ids', () => {
    pki.saveDeviceKey('dev_abc-1', '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n')
    expect(mode(path.join(dir, 'devices', 'dev_abc-1.key'))).toBe(0o600)
    expect(pki.readDeviceKey('dev_abc-1')).toContain('PRIVATE KEY')
    pki.deleteDeviceKey('dev_abc-1')
    expect(pki.readDeviceKey('dev_abc-1')).toBeNull()
    expect(() => pki.saveDeviceKey('../ca', 'x')).toThrow()
  })
})

describe('a damaged CA', () => {
  it('is never replaced silently: opening fails with a sentence saying what to do', async () => {
    const dir = tempDir()
    await openPki(dir, { machineAddresses: () => [] })
    fs.writeFileSync(path.join(dir, 'ca.key'), 'garbage')
    await expect(openPki(dir, { machineAddresses: () => [] })).rejects.toThrow(/Restore both from a backup/)
    fs.rmSync(path.join(dir, 'ca.key'))
    await expect(openPki(dir, { machineAddresses: () => [] })).rejects.toThrow(/not a matching certificate and key/)
  })

  it('a lost server key is simply issued again under the same CA', async () => {
    const dir = tempDir()
    const first = await openPki(dir, { machineAddresses: () => [] })
    fs.rmSync(path.join(dir, 'server.key'))
    const second = await openPki(dir, { machineAddresses: () => [] })
    expect(second.caFingerprint).toBe(first.caFingerprint)
    expect(second.server.fingerprint).not.toBe(first.server.fingerprint)
    expect(second.issuedByUs(second.server.certPem)).toBe(true)
  })
})

describe('federation identity needs both settings', () => {
  it('is null without a federate id and without a hostname', async () => {
    const pki = await openPki(tempDir(), { hostname: 'tak.example.org', machineAddresses: () => [] })
    expect(pki.federation).toBeNull()
    expect(new X509Certificate(pki.server.certPem).checkHost('tak.example.org')).toBe('tak.example.org')
  })
})

describe('fingerprints', () => {
  let t: TestPki
  beforeAll(async () => {
    t = await testPki()
  })
  afterAll(() => t.cleanup())

  it('fingerprintOf equals X509Certificate.fingerprint256 (upper-case hex with colons)', async () => {
    const device = await t.device('ALPHA')
    expect(fingerprintOf(device.certPem)).toBe(new X509Certificate(device.certPem).fingerprint256)
    expect(fingerprintOf(device.certPem)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  })

  it('normalizeFingerprint accepts common spellings and rejects anything not 32 bytes', () => {
    const canonical = t.pki.caFingerprint
    const bare = canonical.replace(/:/g, '')
    expect(normalizeFingerprint(canonical)).toBe(canonical)
    expect(normalizeFingerprint(canonical.toLowerCase())).toBe(canonical)
    expect(normalizeFingerprint(bare)).toBe(canonical)
    expect(normalizeFingerprint(bare.toLowerCase())).toBe(canonical)
    expect(normalizeFingerprint(` ${canonical.replace(/:/g, ' ')} `)).toBe(canonical)
    expect(normalizeFingerprint(bare.slice(2))).toBeNull()
    expect(normalizeFingerprint(`${bare}00`)).toBeNull()
    expect(normalizeFingerprint(bare.replace(/^./, 'G'))).toBeNull()
    expect(normalizeFingerprint('')).toBeNull()
  })

  it('issuedByUs tells our certificates from another CA', async () => {
    const other = await testPki({ freshCa: true })
    try {
      expect(t.pki.issuedByUs(t.pki.server.certPem)).toBe(true)
      expect(t.pki.issuedByUs(other.pki.server.certPem)).toBe(false)
      expect(t.pki.issuedByUs('not a certificate')).toBe(false)
    } finally {
      other.cleanup()
    }
  })
})

const cryptoKey = (pem: string): ReturnType<typeof createPrivateKey> => createPrivateKey(pem)

function opensslText(pem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem }).toString()
}

function asn1Parse(pem: string): string {
  return execFileSync('openssl', ['asn1parse'], { input: pem }).toString()
}

function keyUsageText(pem: string): string {
  const text = opensslText(pem)
  return /X509v3 Key Usage: critical\s*\n\s*(.*)/.exec(text)?.[1] ?? ''
}
