// Dialing a TAK Server whose certificate comes from an intermediate CA (TAK's makeCert.sh setups often have one) and
// which presents leaf + intermediate without its root: the link comes up when no CA was pasted (the pinned leaf's
// chain is trusted) and when the operator pasted the intermediate. A leaf with another fingerprint is still refused.
// The chain is made with openssl; the remote is a TAK-Server-like grpc-js server over mutual TLS.

import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { until } from '../../../support/devices.ts'
import { startFederatingGateway, type FederatingGateway } from '../../../support/tak-gateway.ts'
import { TakServer } from '../../../support/tak-server.ts'

const REDIAL = { baseDelayMs: 200, maxDelayMs: 1000, afterDropMs: 500 }

/** root → intermediate → leaf (serverAuth + clientAuth), as PEM. */
function chainWithIntermediate(dir: string): { rootPem: string; intermediatePem: string; leafPem: string; leafKey: string } {
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  const ext = (name: string, text: string): string => (fs.writeFileSync(path.join(dir, name), text), name)
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'root.key',
    '-out',
    'root.pem',
    '-days',
    '2',
    '-subj',
    '/CN=TAK Test Root',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign'
  )
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=TAK Test Intermediate')
  run(
    'x509',
    '-req',
    '-in',
    'int.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-CAcreateserial',
    '-out',
    'int.pem',
    '-days',
    '2',
    '-extfile',
    ext('int.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n')
  )
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=takserver')
  run(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'int.pem',
    '-CAkey',
    'int.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '2',
    '-extfile',
    ext(
      'leaf.ext',
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n'
    )
  )
  const read = (name: string): string => fs.readFileSync(path.join(dir, name), 'utf8')
  return { rootPem: read('root.pem'), intermediatePem: read('int.pem'), leafPem: read('leaf.pem'), leafKey: read('leaf.key') }
}

describe('a TAK Server with an intermediate CA', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-intermediate-'))
  let gw: FederatingGateway
  let tak: TakServer
  let chain: ReturnType<typeof chainWithIntermediate>
  let fingerprint = ''

  beforeAll(async () => {
    chain = chainWithIntermediate(dir)
    fingerprint = new X509Certificate(chain.leafPem).fingerprint256
    gw = await startFederatingGateway('fedgate-intermediate', REDIAL)
    tak = await new TakServer({
      key: chain.leafKey,
      certChain: `${chain.leafPem.trim()}\n${chain.intermediatePem.trim()}\n`,
      clientCa: gw.t.services.pki.caCertPem
    }).start()
  }, 30_000)

  afterAll(async () => {
    await gw?.fed.stop()
    await gw?.t.stop()
    tak?.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const connectedWith = async (displayName: string, caPem?: string): Promise<string> => {
    const dial = { address: '127.0.0.1', port: tak.port, ...(caPem ? { caPem } : {}) }
    const peer = await gw.t.ok('addExternalPeer', { networkId: gw.networkId, fingerprint, displayName, dial }, gw.admin)
    return peer.id
  }

  it('comes up without a pasted CA (the chain the pinned leaf came with) and with the intermediate pasted', async () => {
    const first = await connectedWith('TAK HQ')
    await until(() => gw.fed.status(first).connected, 5000, `the link up (last error: ${gw.fed.status(first).lastError})`)
    await gw.t.ok('removeExternalPeer', { id: first }, gw.admin)
    const second = await connectedWith('TAK HQ (intermediate pasted)', chain.intermediatePem)
    await until(
      () => gw.fed.status(second).connected,
      5000,
      `the link up with the intermediate (last error: ${gw.fed.status(second).lastError})`
    )
    await gw.t.ok('removeExternalPeer', { id: second }, gw.admin)
  }, 20_000)

  it('still refuses a server whose leaf is not the pinned one, whatever CA is trusted', async () => {
    const wrong = await gw.t.ok(
      'addExternalPeer',
      {
        networkId: gw.networkId,
        fingerprint: new X509Certificate(chain.rootPem).fingerprint256,
        displayName: 'Not HQ',
        dial: { address: '127.0.0.1', port: tak.port, caPem: chain.rootPem }
      },
      gw.admin
    )
    const said = (): string => gw.fed.status(wrong.id).lastError ?? ''
    await until(() => said() !== '', 5000, 'the refusal as the last error')
    expect(said()).toMatch(
      /^The TAK Server at 127\.0\.0\.1:\d+ presented certificate [0-9A-F:]+, not the registered [0-9A-F:]+\. Check the fingerprint/
    )
    expect(gw.fed.status(wrong.id).connected).toBe(false)
  }, 20_000)
})
