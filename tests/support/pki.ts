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
let template: Promise<string> | null = null
const created: string[] = []
process.once('exit', () => {
  for (const dir of created) fs.rmSync(dir, { recursive: true, force: true })
})

const noMachineAddresses = (): string[] => []

function templateDir(): Promise<string> {
  template ??= (async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-pki-template-'))
    created.push(root)
    const dir = path.join(root, 'pki')
    await openPki(dir, { hostname: TEMPLATE_HOSTNAME, federateId: TEMPLATE_FEDERATE_ID, machineAddresses: noMachineAddresses })
    return dir
  })()
  return template
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
  const source = options.freshCa ? '' : await templateDir()
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-pki-'))
  created.push(root)
  const dir = path.join(root, 'pki')
  if (!options.freshCa) fs.cpSync(source, dir, { recursive: true })
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
