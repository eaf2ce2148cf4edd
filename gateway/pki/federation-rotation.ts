// Federation certificate rotation with overlap: a next leaf from the same CA is made and published before it is used,
// then switched to (by the operator, or 7 days before the current one ends). Files in pki/: federation-next.crt/.key
// (key 0600) until the switch; afterwards federation-previous.json records the old leaf (no key: it is never served).

import fs from 'node:fs'
import path from 'node:path'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import type { IssuedCertificate } from './certificates.ts'
import { writeFileDurablySync } from '../store/store.ts'

/** The current leaf is replaced by the next one this long before it ends, when nobody switched earlier. */
export const AUTO_SWITCH_BEFORE_MS = 7 * 86_400_000
/** How long the old leaf's record is kept after a switch (a record only: its key is gone). */
export const PREVIOUS_KEPT_MS = 14 * 86_400_000

export interface RotatingIdentity {
  certPem: string
  keyPem: string
  fingerprint: string
}

export interface PreviousFederationLeaf {
  fingerprint: string
  notAfter: string
  switchedAt: string
}

export interface FederationRotation {
  /** The prepared next leaf (published, not yet used), or null. */
  federationNext: RotatingIdentity | null
  /** The leaf used before the last switch, kept for a short while as a record. */
  federationPrevious: PreviousFederationLeaf | null
  /** Makes the next leaf (or returns the one already prepared). */
  prepareNextFederationIdentity(): Promise<RotatingIdentity>
  /** The next leaf becomes the current one; the old one is kept only as a record. Null when nothing is prepared. */
  switchFederationIdentity(now?: Date): { from: string; to: string } | null
  /** Forgets the previous leaf's record once its overlap is over. */
  forgetPreviousIfOver(now: Date): void
}

interface RotationHost {
  dir: string
  current(): RotatingIdentity | null
  setCurrent(identity: RotatingIdentity): void
  /** A new federation leaf from our CA with the current one's name and SAN. */
  issue(): Promise<IssuedCertificate>
  writeSecret(file: string, text: string): void
}

const CERT_MODE = 0o644

export function federationRotation(host: RotationHost): FederationRotation {
  const file = (name: string): string => path.join(host.dir, name)
  const rotation: FederationRotation = {
    federationNext: readPair(file('federation-next.crt'), file('federation-next.key')),
    federationPrevious: readPrevious(file('federation-previous.json')),

    async prepareNextFederationIdentity() {
      if (rotation.federationNext) return rotation.federationNext
      const issued = await host.issue()
      host.writeSecret(file('federation-next.key'), issued.keyPem)
      writeFileDurablySync(file('federation-next.crt'), issued.certPem, CERT_MODE)
      rotation.federationNext = { certPem: issued.certPem, keyPem: issued.keyPem, fingerprint: issued.fingerprint }
      return rotation.federationNext
    },

    switchFederationIdentity(now = new Date()) {
      const next = rotation.federationNext
      if (!next) return null
      const old = host.current()
      if (old) {
        const previous = { fingerprint: old.fingerprint, notAfter: isoEnd(old.certPem), switchedAt: now.toISOString() }
        writeFileDurablySync(file('federation-previous.json'), JSON.stringify(previous) + '\n', CERT_MODE)
        rotation.federationPrevious = previous
      }
      // Key before certificate; a stop between the two leaves a mismatched pair, which openPki settles with the next
      // pair still on disk (recoverInterruptedSwitch), so no half switch issues a third, unpublished leaf.
      host.writeSecret(file('federation.key'), next.keyPem)
      writeFileDurablySync(file('federation.crt'), next.certPem, CERT_MODE)
      fs.rmSync(file('federation-next.key'), { force: true })
      fs.rmSync(file('federation-next.crt'), { force: true })
      rotation.federationNext = null
      host.setCurrent(next)
      return { from: old?.fingerprint ?? '', to: next.fingerprint }
    },

    forgetPreviousIfOver(now) {
      const previous = rotation.federationPrevious
      if (!previous || now.getTime() - Date.parse(previous.switchedAt) < PREVIOUS_KEPT_MS) return
      fs.rmSync(file('federation-previous.json'), { force: true })
      rotation.federationPrevious = null
    }
  }
  return rotation
}

/** True when the current leaf ends within AUTO_SWITCH_BEFORE_MS of `now`. */
export function switchDue(certPem: string, now: Date): boolean {
  return Date.parse(new X509Certificate(certPem).validTo) - now.getTime() <= AUTO_SWITCH_BEFORE_MS
}

export function isoEnd(certPem: string): string {
  return new Date(new X509Certificate(certPem).validTo).toISOString()
}

function readPair(certFile: string, keyFile: string): RotatingIdentity | null {
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) return null
  try {
    const certPem = fs.readFileSync(certFile, 'utf8')
    const keyPem = fs.readFileSync(keyFile, 'utf8')
    const cert = new X509Certificate(certPem)
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return null
    return { certPem, keyPem, fingerprint: cert.fingerprint256 }
  } catch {
    return null
  }
}

function readPrevious(jsonFile: string): PreviousFederationLeaf | null {
  try {
    const value = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as PreviousFederationLeaf
    return typeof value.fingerprint === 'string' && typeof value.switchedAt === 'string' ? value : null
  } catch {
    return null
  }
}
