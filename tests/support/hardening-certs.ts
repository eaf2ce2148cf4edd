// Hardening-test certificates made on the spot with node-forge: a throwaway CA and leaves with any validity window
// (e.g. expired), signed by that CA or by a gateway's own CA files, plus a raw TLS probe that reports what a server did
// with a handshake (bytes it sent before closing, how it ended).

import { generateKeyPairSync, X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import forge from 'node-forge'

export interface HardeningCa {
  certPem: string
  keyPem: string
}

export interface HardeningLeaf {
  certPem: string
  keyPem: string
  /** Leaf fingerprint as TAK and Node write it (upper-case hex, colons). */
  fingerprint: string
  /** Leaf + CA, as a federate presents it. */
  chainPem: string
}

const DAY_MS = 86_400_000

function rsaKeys(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey; keyPem: string } {
  // Node generates RSA keys natively (fast); forge only signs.
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' }
  })
  const forgeKey = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), keyPem: privateKey }
}

function serial(): string {
  return `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`
}

/** A CA nobody trusts, valid now (for 10 days). */
export function throwawayCa(commonName = 'Throwaway Test CA'): HardeningCa {
  const keys = rsaKeys()
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = serial()
  cert.validity.notBefore = new Date(Date.now() - DAY_MS)
  cert.validity.notAfter = new Date(Date.now() + 10 * DAY_MS)
  const name = [{ name: 'commonName', value: commonName }]
  cert.setSubject(name)
  cert.setIssuer(name)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
  ])
  cert.sign(keys.privateKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem }
}

/** The CA a gateway (or testPki) keeps in `<pkiDir>/ca.crt` and `ca.key`. */
export function caFromPkiDir(pkiDir: string): HardeningCa {
  return { certPem: fs.readFileSync(path.join(pkiDir, 'ca.crt'), 'utf8'), keyPem: fs.readFileSync(path.join(pkiDir, 'ca.key'), 'utf8') }
}

/** A leaf (EKU clientAuth + serverAuth) signed by `ca`, valid between the two offsets from now in days (negative = past). */
export function leafCertificate(ca: HardeningCa, commonName: string, validFromDays: number, validToDays: number): HardeningLeaf {
  const keys = rsaKeys()
  const caCert = forge.pki.certificateFromPem(ca.certPem)
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = serial()
  cert.validity.notBefore = new Date(Date.now() + validFromDays * DAY_MS)
  cert.validity.notAfter = new Date(Date.now() + validToDays * DAY_MS)
  cert.setSubject([{ name: 'commonName', value: commonName }])
  cert.setIssuer(caCert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true, serverAuth: true }
  ])
  cert.sign(caKey, forge.md.sha256.create())
  const certPem = forge.pki.certificateToPem(cert)
  const fingerprint = new X509Certificate(certPem).fingerprint256
  return { certPem, keyPem: keys.keyPem, fingerprint, chainPem: `${certPem.trim()}\n${ca.certPem.trim()}\n` }
}

export interface ProbeResult {
  /** The handshake completed from the client's point of view (TLS 1.3 finishes before the server judges the certificate). */
  handshook: boolean
  /** Bytes the server sent after the handshake before closing (an HTTP/2 server sends SETTINGS at once). */
  bytesReceived: number
  /** The server closed the connection within the wait. */
  closed: boolean
  error: string | null
}

/**
 * Connect with a client certificate, optionally write `payload` after the handshake, and watch for `waitMs`:
 * how many bytes came back and whether the server closed. The socket is always destroyed at the end.
 */
export function probeTls(options: {
  port: number
  cert?: string
  key?: string
  ca?: string
  alpn?: string[]
  payload?: Buffer | string
  waitMs?: number
}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const result: ProbeResult = { handshook: false, bytesReceived: 0, closed: false, error: null }
    const socket = tls.connect({
      host: '127.0.0.1',
      port: options.port,
      cert: options.cert,
      key: options.key,
      ca: options.ca,
      rejectUnauthorized: false,
      servername: 'localhost',
      ALPNProtocols: options.alpn
    })
    const finish = (): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(result)
    }
    const timer = setTimeout(finish, options.waitMs ?? 1500)
    socket.on('secureConnect', () => {
      result.handshook = true
      if (options.payload !== undefined) socket.write(options.payload)
    })
    socket.on('data', (chunk: Buffer) => {
      result.bytesReceived += chunk.length
    })
    socket.on('error', (err) => {
      result.error = err.message
    })
    socket.on('close', () => {
      result.closed = true
      finish()
    })
  })
}
