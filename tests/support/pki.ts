// A ready CA + server certificate in a temp dir for tests. The expensive part (CA and server keys) is made once
// per test process and copied into each new directory, so a test file pays for key generation only once.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { newRsaKeyPair, type IssuedCertificate, type KeyPairPem } from '../../gateway/pki/certificates.ts'
import { openPki, type Pki } from '../../gateway/pki/pki.ts'

export interface TestPki {
  /** The pki directory (a fresh temp dir per call). */
  dir: string
  pki: Pki
  /** A device certificate from this CA (CN = callsign, EKU clientAuth, 365 days unless told). */
  device(callsign: string, validDays?: number): Promise<IssuedCertificate>
  /** Remove the temp dir. */
  cleanup(): void
}

export interface TestPkiOptions {
  hostname?: string
  federateId?: string
  /**
   * Reuse a small per-process pool of device key pairs instead of a fresh key per device (many devices fast,
   * e.g. for the benchmark). Certificates and fingerprints stay distinct; only the keys repeat.
   */
  reuseDeviceKeys?: boolean
  /**
   * Every testPki() in one process shares one CA (copied from a template). Pass true for a CA of its own,
   * e.g. two deployments federating with each other, or "a certificate from another CA" (costs two key pairs).
   */
  freshCa?: boolean
}

const TEMPLATE_HOSTNAME = 'fedgate.test'
const TEMPLATE_FEDERATE_ID = 'fedgate-test'
/** The template PKI's files (relative path → bytes), kept in memory: vitest may kill a worker before 'exit' cleanup runs. */
let template: Promise<Map<string, Buffer>> | null = null
const created: string[] = []
process.once('exit', () => {
  for (const dir of created) fs.rmSync(dir, { recursive: true, force: true })
})

const noMachineAddresses = (): string[] => []

function templateFiles(): Promise<Map<string, Buffer>> {
  template ??= (async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-pki-template-'))
    try {
      const dir = path.join(root, 'pki')
      await openPki(dir, { hostname: TEMPLATE_HOSTNAME, federateId: TEMPLATE_FEDERATE_ID, machineAddresses: noMachineAddresses })
      const files = new Map<string, Buffer>()
      for (const name of fs.readdirSync(dir)) {
        const file = path.join(dir, name)
        if (fs.statSync(file).isFile()) files.set(name, fs.readFileSync(file))
      }
      return files
    } finally {
      fs.rmSync(root, { recursive: true, force: true })
    }
  })()
  return template
}

/** Writes the template into `dir` with the modes openPki uses (keys 0600, certificates 0644). */
async function copyTemplate(dir: string): Promise<void> {
  const files = await templateFiles()
  fs.mkdirSync(path.join(dir, 'devices'), { recursive: true, mode: 0o700 })
  for (const [name, data] of files) fs.writeFileSync(path.join(dir, name), data, { mode: name.endsWith('.key') ? 0o600 : 0o644 })
}

const POOL_SIZE = 4
let keyPool: Promise<KeyPairPem[]> | null = null
let nextPooledKey = 0

async function pooledKeyPair(): Promise<KeyPairPem> {
  keyPool ??= Promise.all(Array.from({ length: POOL_SIZE }, () => newRsaKeyPair()))
  const pool = await keyPool
  return pool[nextPooledKey++ % POOL_SIZE]!
}

/**
 * A PKI in a new temp dir: CA, server certificate (SAN localhost/127.0.0.1/::1 + hostname, default 'fedgate.test')
 * and federation identity (CN 'fedgate-test' unless told).
 */
export async function testPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-pki-'))
  created.push(root)
  const dir = path.join(root, 'pki')
  if (!options.freshCa) await copyTemplate(dir)
  const pki = await openPki(dir, {
    hostname: options.hostname ?? TEMPLATE_HOSTNAME,
    federateId: options.federateId ?? TEMPLATE_FEDERATE_ID,
    machineAddresses: noMachineAddresses,
    newKeyPair: options.reuseDeviceKeys ? pooledKeyPair : undefined
  })
  return {
    dir,
    pki,
    device: (callsign, validDays = 365) => pki.issueDeviceCertificate({ callsign, validDays }),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true })
  }
}

/** Every entry of a zip (e.g. a connection package) by name. */
export async function unzipEntries(zip: Buffer): Promise<Map<string, Buffer>> {
  const { default: yauzl } = await import('yauzl')
  const zipFile = await new Promise<import('yauzl').ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, file) => (err ? reject(err) : resolve(file)))
  )
  const entries = new Map<string, Buffer>()
  await new Promise<void>((resolve, reject) => {
    zipFile.on('error', reject)
    zipFile.on('end', () => resolve())
    zipFile.on('entry', (entry: import('yauzl').Entry) => {
      zipFile.openReadStream(entry, (err, stream) => {
        if (err) return reject(err)
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('error', reject)
        stream.on('end', () => {
          entries.set(entry.fileName, Buffer.concat(chunks))
          zipFile.readEntry()
        })
      })
    })
    zipFile.readEntry()
  })
  return entries
}

/** The key (if any) and certificates inside a .p12, as PEM: what a TAK client library wants from a package. */
export async function pemFromP12(p12: Buffer, password: string): Promise<{ keyPem: string | null; certPems: string[] }> {
  const { default: forge } = await import('node-forge')
  const parsed = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(p12.toString('binary')), password)
  const keyBags = parsed.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []
  const certBags = parsed.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? []
  const key = keyBags[0]?.key
  return {
    keyPem: key ? forge.pki.privateKeyToPem(key) : null,
    certPems: certBags.flatMap((bag) => (bag.cert ? [forge.pki.certificateToPem(bag.cert)] : []))
  }
}

/**
 * Puts a copy of the per-process template PKI at `<dataDir>/pki` before startGateway(), so the gateway reloads
 * it instead of generating a CA and server key (saves ~0.3–1 s per gateway). All seeded gateways share one CA.
 */
export async function seedPkiDir(dataDir: string): Promise<void> {
  const target = path.join(dataDir, 'pki')
  if (fs.existsSync(target)) return
  await copyTemplate(target)
}
