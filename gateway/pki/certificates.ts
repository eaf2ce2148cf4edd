// Building and signing X.509 certificates with node-forge (keys come from node:crypto), following the recipe
// and pitfalls in spec/stack.md §5: UTF8String names, the CA's key id as AKI, positive serials, digitalSignature.

import { generateKeyPair as generateKeyPairCallback, randomBytes, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { promisify } from 'node:util'
import forge from 'node-forge'

const generateKeyPair = promisify(generateKeyPairCallback)

/** Clock skew absorbed by every certificate we issue. */
const NOT_BEFORE_MARGIN_MS = 5 * 60_000

export interface KeyPairPem {
  privateKeyPem: string
  publicKeyPem: string
}

/** RSA 2048 in native code, off the event loop (forge's pure-JS keygen is ten times slower). */
export async function newRsaKeyPair(): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' }
  })
  return { privateKeyPem: privateKey, publicKeyPem: publicKey }
}

export interface IssuedCertificate {
  certPem: string
  /** '' when the subject's key is not ours (a signed CSR). */
  keyPem: string
  /** SHA-256, TAK format (AA:BB:…). */
  fingerprint: string
  /** Upper-case hex, as X509Certificate.serialNumber shows it. */
  serial: string
  notBefore: string
  notAfter: string
}

/** SHA-256 of the DER, upper-case hex with colons: identical to X509Certificate.fingerprint256 and TAK's format. */
export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256
}

/** Accepts a SHA-256 fingerprint in any common spelling; returns the TAK format or null when it is not 32 bytes of hex. */
export function normalizeFingerprint(input: string): string | null {
  const hex = input.replace(/[\s:-]/g, '').toUpperCase()
  if (!/^[0-9A-F]{64}$/.test(hex)) return null
  return hex.match(/../g)!.join(':')
}

/**
 * 16 random bytes, first byte 0x01–0x7F: the DER INTEGER stays positive and minimally encoded
 * (a leading 0x00 followed by a byte < 0x80 would be invalid DER, and forge writes the bytes as given).
 */
function randomSerialHex(): string {
  const bytes = randomBytes(16)
  bytes[0] = bytes[0]! & 0x7f || 0x01
  return bytes.toString('hex')
}

type SubjectAltName = { type: 2; value: string } | { type: 7; ip: string }

/** DNS names and IP addresses as forge SAN entries (forge encodes the `ip` field itself). */
function subjectAltNames(names: string[]): SubjectAltName[] {
  return [...new Set(names.filter((n) => n.length > 0))].map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name }))
}

function commonName(value: string): forge.pki.CertificateField {
  // forge defaults to PrintableString and writes non-ASCII as Latin-1 bytes; callsigns need UTF8String.
  // forge UTF-8-encodes the value itself when the tag is UTF8String.
  return { name: 'commonName', value, valueTagClass: UTF8_TAG }
}

const UTF8_TAG = forge.asn1.Type.UTF8 as unknown as forge.asn1.Class

/**
 * A parsed certificate's subject as attributes to write again: forge keeps UTF8String values as raw UTF-8 bytes
 * when parsing but encodes them once more when writing, which would garble a non-ASCII issuer name.
 */
function rewritableAttributes(attributes: forge.pki.CertificateField[]): forge.pki.CertificateField[] {
  return attributes.map((attr) =>
    attr.valueTagClass === UTF8_TAG && typeof attr.value === 'string' ? { ...attr, value: forge.util.decodeUtf8(attr.value) } : attr
  )
}

export interface CertificateSpec {
  commonName: string
  /** Extra subject attributes after the CN, e.g. the CA's organization. */
  organization?: string
  validDays: number
  /** The subject's key: a pair we made, or only the public key of a pair someone else holds (a signed CSR). */
  keyPair: KeyPairPem | { publicKeyPem: string; privateKeyPem?: undefined }
  kind: 'ca' | 'server' | 'client'
  /** SAN entries (server certificates). */
  altNames?: string[]
  now?: Date
}

export interface Issuer {
  certPem: string
  keyPem: string
}

/** Issues a certificate; with no issuer it is self-signed (the CA). */
export function buildCertificate(spec: CertificateSpec, issuer: Issuer | null): IssuedCertificate {
  const now = spec.now ?? new Date()
  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.publicKeyFromPem(spec.keyPair.publicKeyPem)
  cert.serialNumber = randomSerialHex()
  cert.validity.notBefore = new Date(now.getTime() - NOT_BEFORE_MARGIN_MS)
  cert.validity.notAfter = new Date(now.getTime() + spec.validDays * 86_400_000)
  const subject: forge.pki.CertificateField[] = [commonName(spec.commonName)]
  if (spec.organization) subject.push({ name: 'organizationName', value: spec.organization, valueTagClass: UTF8_TAG })
  cert.setSubject(subject)

  const issuerCert = issuer ? forge.pki.certificateFromPem(issuer.certPem) : null
  const signingPem = issuer ? issuer.keyPem : spec.keyPair.privateKeyPem
  if (!signingPem) throw new Error('A self-signed certificate needs its private key')
  const signingKey = forge.pki.privateKeyFromPem(signingPem) as forge.pki.rsa.PrivateKey
  cert.setIssuer(issuerCert ? rewritableAttributes(issuerCert.subject.attributes) : subject)

  const extensions: object[] = []
  if (spec.kind === 'ca') {
    extensions.push(
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: true }
    )
  } else {
    if (!issuerCert) throw new Error('A leaf certificate needs an issuer')
    extensions.push(
      { name: 'basicConstraints', cA: false },
      // BoringSSL (Electron) refuses RSA server certificates without digitalSignature: always set it.
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: spec.kind === 'server', clientAuth: true },
      { name: 'subjectKeyIdentifier' },
      // forge's `keyIdentifier: true` would hash the leaf's own key; a leaf needs its issuer's key id.
      { name: 'authorityKeyIdentifier', keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes() }
    )
    if (spec.altNames && spec.altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames: subjectAltNames(spec.altNames) })
  }
  cert.setExtensions(extensions)
  cert.sign(signingKey, forge.md.sha256.create())

  const certPem = forge.pki.certificateToPem(cert)
  const x509 = new X509Certificate(certPem)
  return {
    certPem,
    keyPem: spec.keyPair.privateKeyPem ?? '',
    fingerprint: x509.fingerprint256,
    serial: x509.serialNumber.toUpperCase(),
    notBefore: cert.validity.notBefore.toISOString(),
    notAfter: cert.validity.notAfter.toISOString()
  }
}

/** SAN entries of a certificate as plain names/addresses (order-free comparison with what we would issue). */
export function altNamesOf(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? ''
  return san
    .split(/,\s*/)
    .map((entry) => entry.replace(/^(DNS|IP Address):/, '').trim())
    .filter((entry) => entry.length > 0)
    .map(canonicalAddress)
}

/** `::1` and `0:0:…:1` name the same address; compare IPv6 in one spelling. */
export function canonicalAddress(name: string): string {
  if (isIP(name) !== 6) return name.toLowerCase()
  try {
    return new URL(`http://[${name}]/`).hostname.slice(1, -1)
  } catch {
    return name.toLowerCase()
  }
}

/** Why a certificate signing request is refused; the message is for the device's user. */
export class CsrError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CsrError'
  }
}

export interface SigningRequest {
  /** Subject attributes in order, short names (CN, O, OU, …), values decoded from UTF-8. */
  subject: { name: string; value: string }[]
  publicKeyPem: string
}

/**
 * Reads a PKCS#10 request as TAK clients send it (PEM, or bare base64 of the DER, line breaks allowed) and checks
 * its self-signature, which proves the sender holds the private key. RSA only: forge reads no other key type, and
 * ATAK, iTAK and WinTAK make RSA keys for enrollment.
 */
const MIN_CSR_KEY_BITS = 2048
const MAX_CSR_KEY_BITS = 4096

export function readSigningRequest(text: string): SigningRequest {
  const base64 = text.replace(/-----(BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/]+=*$/.test(base64)) throw new CsrError('The body is not a certificate signing request (PEM or base64).')
  let csr: forge.pki.CertificateSigningRequest
  try {
    const der = forge.util.decode64(base64)
    csr = forge.pki.certificationRequestFromAsn1(forge.asn1.fromDer(der, true))
  } catch (err) {
    const message = (err as Error).message
    if (/OID is not RSA/i.test(message)) throw new CsrError('Only RSA keys can be enrolled.')
    throw new CsrError('The certificate signing request could not be read.')
  }
  if (!csr.publicKey) throw new CsrError('The certificate signing request has no public key.')
  // Checked before the signature: forge verifies in JavaScript, and a huge modulus or exponent would hold the event
  // loop (and every device's traffic) for seconds. TAK clients make 2048-bit keys with exponent 65537.
  const key = csr.publicKey as forge.pki.rsa.PublicKey
  if (key.n.bitLength() > MAX_CSR_KEY_BITS || key.n.bitLength() < MIN_CSR_KEY_BITS || key.e.toString(16) !== '10001') {
    throw new CsrError(`The key must be RSA with ${MIN_CSR_KEY_BITS} to ${MAX_CSR_KEY_BITS} bits and exponent 65537.`)
  }
  let signed = false
  try {
    signed = csr.verify()
  } catch {
    signed = false
  }
  if (!signed) throw new CsrError('The signature of the certificate signing request is not valid.')
  const subject = csr.subject.attributes.map((attr) => ({
    name: attr.shortName ?? attr.name ?? attr.type ?? '?',
    value: attr.valueTagClass === UTF8_TAG && typeof attr.value === 'string' ? forge.util.decodeUtf8(attr.value) : String(attr.value)
  }))
  return { subject, publicKeyPem: forge.pki.publicKeyToPem(csr.publicKey) }
}
