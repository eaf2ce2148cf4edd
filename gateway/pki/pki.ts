// Our certificate authority and the identities it issues: the streaming/Marti server certificate, the TAK
// federation certificate and device certificates. Everything lives under <dataDir>/pki (keys 0600), never in db.json.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto'
import {
  altNamesOf,
  buildCertificate,
  canonicalAddress,
  fingerprintOf,
  newRsaKeyPair,
  normalizeFingerprint,
  type IssuedCertificate,
  type KeyPairPem
} from './certificates.ts'
import { toP12 } from './p12.ts'
import { RevocationJournal } from './revocations.ts'
import { federationRotation, type FederationRotation } from './federation-rotation.ts'
import { writeFileDurablySync } from '../store/store.ts'

export { fingerprintOf, normalizeFingerprint, toP12, type IssuedCertificate, type KeyPairPem }

const CA_VALID_DAYS = 3650
/** Apple platforms (iTAK) refuse TLS server certificates valid for more than 825 days, even from a private CA. */
const SERVER_VALID_DAYS = 825
/** Reissue a server or federation certificate this long before it expires. */
const RENEW_BEFORE_MS = 30 * 86_400_000
const KEY_MODE = 0o600
const CERT_MODE = 0o644

export interface Identity {
  certPem: string
  keyPem: string
  fingerprint: string
}

export interface Pki {
  /** The pki directory (<dataDir>/pki). */
  dir: string
  caCertPem: string
  caFingerprint: string
  /** Streaming/Marti server identity (SAN = advertised hostname + machine addresses + localhost/127.0.0.1/::1). */
  server: Identity
  /**
   * Federation identity: CN = OurFederateId, SAN = AdvertisedHostname when first issued, EKU serverAuth+clientAuth;
   * null until both settings exist. Kept as long as it is valid: every TAK federate pins its fingerprint.
   */
  federation: Identity | null
  /** Set when ensureFederationIdentity had to replace one that was expiring: the fingerprints partners must update. */
  federationRenewal: { from: string; to: string } | null
  /** A device certificate (CN = callsign as UTF8String, EKU clientAuth) with a fresh key. */
  issueDeviceCertificate(args: { callsign: string; validDays: number }): Promise<IssuedCertificate>
  /**
   * A device certificate for a key the device made itself (an enrollment CSR, already read and checked by
   * readSigningRequest): same profile as issueDeviceCertificate; `keyPem` of the result is ''.
   */
  signDeviceKey(args: { callsign: string; validDays: number; publicKeyPem: string }): IssuedCertificate
  /**
   * The federation identity (null when the hostname or federate id is empty): the one there is while it is valid for
   * more than 30 days, else a new one (federationRenewal says so). A new hostname or federate id does not replace it:
   * TAK knows a federate by its certificate's fingerprint and checks neither name, and a new fingerprint would stop
   * every federation until each partner's admin registered it again.
   */
  ensureFederationIdentity(hostname: string, federateId: string): Promise<void>
  /** Reissue the server certificate when the hostname or machine addresses are not all in its SAN. */
  ensureServerIdentity(hostname: string): Promise<void>
  /** True when `certPem` was signed by our CA (signature and issuer name). */
  issuedByUs(certPem: string): boolean
  /** Device private keys, kept so a package can be rebuilt later: pki/devices/<deviceId>.key, mode 0600. */
  saveDeviceKey(deviceId: string, keyPem: string): void
  readDeviceKey(deviceId: string): string | null
  deleteDeviceKey(deviceId: string): void
  /** Ids of every device key on disk. */
  deviceKeyIds(): string[]
  /** The next federation certificate, prepared and published before the switch to it (federation-rotation.ts). */
  rotation: FederationRotation
  /** Revoked device certificates and removed peers, kept here because a restore of db.json cannot undo them. */
  revocations: RevocationJournal
}

export interface PkiOptions {
  /** Federation:AdvertisedHostname (also put in the server certificate's SAN). */
  hostname?: string
  /** Federation:OurFederateId. */
  federateId?: string
  /** Key pair source; tests and the benchmark may pass a faster one. Default: RSA 2048 from node:crypto. */
  newKeyPair?: () => Promise<KeyPairPem>
  /** Machine addresses for the server SAN. Default: every non-internal interface address. */
  machineAddresses?: () => string[]
}

export async function openPki(dir: string, opts: PkiOptions = {}): Promise<Pki> {
  const newKeyPair = opts.newKeyPair ?? newRsaKeyPair
  const machineAddresses = opts.machineAddresses ?? localAddresses
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  fs.mkdirSync(path.join(dir, 'devices'), { recursive: true, mode: 0o700 })
  const file = (name: string): string => path.join(dir, name)

  const caIdentity = await openCa(dir, newKeyPair)
  const { issuedByUs, stillGood } = checksAgainst(caIdentity)

  const serverNames = (hostname: string): string[] =>
    [hostname, 'localhost', '127.0.0.1', '::1', ...machineAddresses()].filter((n) => n.trim() !== '')

  const issueLeaf = async (
    kind: 'server' | 'client',
    commonName: string,
    validDays: number,
    altNames: string[]
  ): Promise<IssuedCertificate> => buildCertificate({ commonName, validDays, keyPair: await newKeyPair(), kind, altNames }, caIdentity)

  const pki: Pki = {
    dir,
    caCertPem: caIdentity.certPem,
    caFingerprint: caIdentity.fingerprint,
    server: null as unknown as Identity,
    federation: null,
    federationRenewal: null,
    revocations: RevocationJournal.open(dir),

    async issueDeviceCertificate({ callsign, validDays }) {
      checkDeviceRequest(callsign, validDays)
      return issueLeaf('client', callsign, validDays, [])
    },

    signDeviceKey({ callsign, validDays, publicKeyPem }) {
      checkDeviceRequest(callsign, validDays)
      return buildCertificate({ commonName: callsign, validDays, keyPair: { publicKeyPem }, kind: 'client', altNames: [] }, caIdentity)
    },

    async ensureServerIdentity(hostname) {
      const wanted = serverNames(hostname.trim())
      const covers = (identity: Identity): boolean => {
        const have = new Set(altNamesOf(identity.certPem))
        return stillGood(identity.certPem) && wanted.every((name) => have.has(canonicalAddress(name)))
      }
      // Checked often while running (server-identity.ts): the identity in memory answers without reading the disk.
      if (pki.server && covers(pki.server)) return
      const current = readIdentity(file('server.crt'), file('server.key'))
      if (current && covers(current)) {
        pki.server = current
        return
      }
      const issued = await issueLeaf('server', hostname.trim() || 'localhost', SERVER_VALID_DAYS, wanted)
      writeIdentity(file('server.crt'), file('server.key'), issued)
      pki.server = identityOf(issued)
    },

    async ensureFederationIdentity(hostname, federateId) {
      hostname = hostname.trim()
      federateId = federateId.trim()
      if (!hostname || !federateId) {
        pki.federation = null
        return
      }
      const current = readIdentity(file('federation.crt'), file('federation.key'))
      if (current && stillGood(current.certPem)) {
        pki.federation = current
        return
      }
      // A prepared next leaf was published to the partners: it replaces an expiring (or half-switched) one.
      if (pki.rotation.federationNext && stillGood(pki.rotation.federationNext.certPem)) {
        pki.federation = current
        const switched = pki.rotation.switchFederationIdentity()
        if (current && switched) pki.federationRenewal = switched
        return
      }
      // TAK federation: both ends dial and accept with this identity, so serverAuth and clientAuth.
      const issued = await issueLeaf('server', federateId, SERVER_VALID_DAYS, [hostname])
      writeIdentity(file('federation.crt'), file('federation.key'), issued)
      pki.federation = identityOf(issued)
      if (current) pki.federationRenewal = { from: current.fingerprint, to: issued.fingerprint }
    },

    issuedByUs,

    ...deviceKeys(dir),
    rotation: rotationOf(dir, () => pki, issueLeaf, opts)
  }

  await pki.ensureServerIdentity(opts.hostname ?? '')
  await pki.ensureFederationIdentity(opts.hostname ?? '', opts.federateId ?? '')
  return pki
}

/** The CA on disk, or a new one when there is none (leaves of an earlier CA are removed to be issued again). */
async function openCa(dir: string, newKeyPair: () => Promise<KeyPairPem>): Promise<Identity> {
  const file = (name: string): string => path.join(dir, name)
  const ca = readIdentity(file('ca.crt'), file('ca.key'))
  if (ca) return ca
  if (fs.existsSync(file('ca.crt')) || fs.existsSync(file('ca.key'))) {
    // Quietly making a new CA would cut off every enrolled device and federation partner: the operator decides.
    throw new Error(
      `${file('ca.crt')} and ${file('ca.key')} are not a matching certificate and key. Restore both from a backup, ` +
        'or delete both to create a new CA (every device must then be enrolled again and partners must trust the new CA).'
    )
  }
  const suffix = randomBytes(4).toString('hex').toUpperCase()
  // A unique CA name: a TAK Server trusting two Fedgate deployments must not see two CAs with one subject.
  const issued = buildCertificate(
    { commonName: `Fedgate CA ${suffix}`, organization: 'Fedgate', validDays: CA_VALID_DAYS, keyPair: await newKeyPair(), kind: 'ca' },
    null
  )
  writeIdentity(file('ca.crt'), file('ca.key'), issued)
  // A new CA invalidates every leaf issued by an old one: drop them so they are issued again by openPki.
  for (const name of ['server', 'federation']) {
    fs.rmSync(file(`${name}.crt`), { force: true })
    fs.rmSync(file(`${name}.key`), { force: true })
  }
  return identityOf(issued)
}

type IssueLeaf = (kind: 'server' | 'client', commonName: string, validDays: number, altNames: string[]) => Promise<IssuedCertificate>

/** Rotation of the federation leaf; the next one keeps the current one's name and SAN. */
function rotationOf(dir: string, pki: () => Pki, issueLeaf: IssueLeaf, opts: PkiOptions): FederationRotation {
  const issue = (): Promise<IssuedCertificate> => {
    const federation = pki().federation
    const current = federation ? new X509Certificate(federation.certPem) : null
    const cn = /CN=([^\n,]+)/.exec(current?.subject ?? '')?.[1] ?? (opts.federateId ?? '').trim()
    const names = current ? altNamesOf(current.toString()) : [(opts.hostname ?? '').trim()]
    return issueLeaf('server', cn, SERVER_VALID_DAYS, names)
  }
  return federationRotation({
    dir,
    current: () => pki().federation,
    setCurrent: (identity) => (pki().federation = identity),
    issue,
    writeSecret
  })
}

function checksAgainst(ca: Identity): { issuedByUs(certPem: string): boolean; stillGood(certPem: string): boolean } {
  const caX509 = new X509Certificate(ca.certPem)
  const issuedByUs = (certPem: string): boolean => {
    try {
      const cert = new X509Certificate(certPem)
      return cert.checkIssued(caX509) && cert.verify(caX509.publicKey)
    } catch {
      return false
    }
  }
  const stillGood = (certPem: string): boolean =>
    issuedByUs(certPem) && Date.parse(new X509Certificate(certPem).validTo) - Date.now() > RENEW_BEFORE_MS
  return { issuedByUs, stillGood }
}

function deviceKeys(dir: string): Pick<Pki, 'saveDeviceKey' | 'readDeviceKey' | 'deleteDeviceKey' | 'deviceKeyIds'> {
  return {
    saveDeviceKey(deviceId, keyPem) {
      writeSecret(deviceKeyFile(dir, deviceId), keyPem)
    },
    readDeviceKey(deviceId) {
      const keyFile = deviceKeyFile(dir, deviceId)
      return fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8') : null
    },
    deleteDeviceKey(deviceId) {
      fs.rmSync(deviceKeyFile(dir, deviceId), { force: true })
    },
    deviceKeyIds() {
      return fs
        .readdirSync(path.join(dir, 'devices'))
        .filter((name) => /^[A-Za-z0-9_-]{1,100}\.key$/.test(name))
        .map((name) => name.slice(0, -4))
    }
  }
}

function checkDeviceRequest(callsign: string, validDays: number): void {
  if (!callsign.trim()) throw new Error('A device certificate needs a callsign')
  if (!Number.isInteger(validDays) || validDays < 1) throw new Error('validDays must be a positive whole number')
}

function identityOf(issued: IssuedCertificate): Identity {
  return { certPem: issued.certPem, keyPem: issued.keyPem, fingerprint: issued.fingerprint }
}

function deviceKeyFile(dir: string, deviceId: string): string {
  // Device ids come from our own store, but a path must never be steerable.
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(deviceId)) throw new Error('Invalid device id for a key file')
  return path.join(dir, 'devices', `${deviceId}.key`)
}

function readIdentity(certFile: string, keyFile: string): Identity | null {
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) return null
  const certPem = fs.readFileSync(certFile, 'utf8')
  const keyPem = fs.readFileSync(keyFile, 'utf8')
  try {
    const cert = new X509Certificate(certPem)
    // A key that does not belong to the certificate (half-written pair) means: issue again.
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return null
    return { certPem, keyPem, fingerprint: cert.fingerprint256 }
  } catch {
    return null
  }
}

function writeIdentity(certFile: string, keyFile: string, issued: IssuedCertificate): void {
  writeSecret(keyFile, issued.keyPem)
  writeFileDurablySync(certFile, issued.certPem, CERT_MODE)
}

/** Keys and certificates are written durably (flushed, renamed, folder flushed): a flat battery leaves no half key. */
function writeSecret(file: string, text: string): void {
  writeFileDurablySync(file, text, KEY_MODE)
}

/** Non-internal interface addresses (IPv6 link-local needs a zone id, which a SAN cannot carry). */
function localAddresses(): string[] {
  const out: string[] = []
  for (const list of Object.values(os.networkInterfaces())) {
    for (const entry of list ?? []) {
      if (entry.internal) continue
      if (entry.family === 'IPv6' && entry.address.toLowerCase().startsWith('fe80')) continue
      out.push(entry.address)
    }
  }
  return out
}
