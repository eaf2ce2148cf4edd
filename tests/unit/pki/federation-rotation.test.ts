// The next federation certificate on disk: kept across restarts (key 0600, same name and SAN as the current one),
// a switch stopped halfway completed from it at the next start (not a third, unpublished certificate), and the old
// certificate kept only as a record (no key) and forgotten after its overlap.

import fs from 'node:fs'
import path from 'node:path'
import { X509Certificate } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { openPki } from '../../../gateway/pki/pki.ts'
import { PREVIOUS_KEPT_MS } from '../../../gateway/pki/federation-rotation.ts'
import { testPki, type TestPki } from '../../support/pki.ts'

const OPTIONS = { hostname: 'tak.example.org', federateId: 'Fedgate-Test', machineAddresses: () => [] }

describe('federation certificate rotation on disk', () => {
  const made: TestPki[] = []
  afterAll(() => made.forEach((p) => p.cleanup()))

  async function fresh(): Promise<TestPki> {
    const p = await testPki({ hostname: OPTIONS.hostname, federateId: OPTIONS.federateId })
    made.push(p)
    return p
  }

  it('keeps a prepared next certificate across a restart, with the current name and SAN, key 0600', async () => {
    const { dir, pki } = await fresh()
    const current = pki.federation!
    const next = await pki.rotation.prepareNextFederationIdentity()
    expect(next.fingerprint).not.toBe(current.fingerprint)
    expect(await pki.rotation.prepareNextFederationIdentity()).toBe(next)
    expect(fs.statSync(path.join(dir, 'federation-next.key')).mode & 0o777).toBe(0o600)
    const [a, b] = [new X509Certificate(current.certPem), new X509Certificate(next.certPem)]
    expect(b.subject).toBe(a.subject)
    expect(b.subjectAltName).toBe(a.subjectAltName)
    expect(b.checkIssued(new X509Certificate(pki.caCertPem))).toBe(true)
    const reopened = await openPki(dir, OPTIONS)
    expect(reopened.federation!.fingerprint).toBe(current.fingerprint)
    expect(reopened.rotation.federationNext!.fingerprint).toBe(next.fingerprint)
  })

  it('completes a switch stopped between the key and the certificate with the prepared one', async () => {
    const { dir, pki } = await fresh()
    const old = pki.federation!.fingerprint
    const next = await pki.rotation.prepareNextFederationIdentity()
    // The new key was written, the certificate not yet: the pair on disk does not match.
    fs.writeFileSync(path.join(dir, 'federation.key'), next.keyPem, { mode: 0o600 })
    const reopened = await openPki(dir, OPTIONS)
    expect(reopened.federation!.fingerprint).toBe(next.fingerprint)
    expect(reopened.rotation.federationNext).toBeNull()
    expect(fs.existsSync(path.join(dir, 'federation-next.key'))).toBe(false)
    expect(old).not.toBe(next.fingerprint)
  })

  it('keeps the old certificate only as a record, and forgets it after the overlap', async () => {
    const { dir, pki } = await fresh()
    const old = pki.federation!
    await pki.rotation.prepareNextFederationIdentity()
    const at = new Date()
    const switched = pki.rotation.switchFederationIdentity(at)!
    expect(switched.from).toBe(old.fingerprint)
    expect(pki.rotation.federationPrevious).toMatchObject({ fingerprint: old.fingerprint, switchedAt: at.toISOString() })
    const keys = fs.readdirSync(dir).filter((n) => n.endsWith('.key'))
    for (const name of keys) expect(fs.readFileSync(path.join(dir, name), 'utf8')).not.toBe(old.keyPem)
    pki.rotation.forgetPreviousIfOver(new Date(at.getTime() + PREVIOUS_KEPT_MS - 1000))
    expect(pki.rotation.federationPrevious).not.toBeNull()
    pki.rotation.forgetPreviousIfOver(new Date(at.getTime() + PREVIOUS_KEPT_MS))
    expect(pki.rotation.federationPrevious).toBeNull()
    expect((await openPki(dir, OPTIONS)).rotation.federationPrevious).toBeNull()
  })
})
