// The commonest slip in journey 5 (the laptop dials HQ): HQ's admin has not put our CA in the federation truststore,
// so HQ's TLS refuses our certificate with an alert. The peer row says so in plain words, with what to ask HQ's admin,
// instead of OpenSSL's error string. The remote is OpenSSL's s_server asking for a client certificate from another CA
// (it sends the alert, as TAK's Java TLS does; node's TLS server would just close).

import { spawn, type ChildProcess } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { until } from '../../../support/devices.ts'
import { testPki, type TestPki } from '../../../support/pki.ts'
import { closedPort } from '../../../support/ports.ts'
import { startFederatingGateway, type FederatingGateway } from '../../../support/tak-gateway.ts'

const REDIAL = { baseDelayMs: 200, maxDelayMs: 1000, afterDropMs: 500 }

describe('a TAK Server that does not trust our CA', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-untrusted-'))
  let gw: FederatingGateway
  let hq: TestPki
  let stranger: TestPki
  let server: ChildProcess
  let port = 0

  beforeAll(async () => {
    ;[gw, hq, stranger] = await Promise.all([
      startFederatingGateway('fedgate-untrusted', REDIAL),
      testPki({ freshCa: true, hostname: 'hq.test', federateId: 'hq' }),
      testPki({ freshCa: true, hostname: 'other.test', federateId: 'other' })
    ])
    const identity = hq.pki.federation!
    const file = (name: string, text: string): string => (
      fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 }),
      path.join(dir, name)
    )
    port = await closedPort() // free now: s_server takes it
    // Its federation truststore holds some other CA, not ours.
    server = spawn(
      'openssl',
      [
        's_server',
        '-accept',
        `127.0.0.1:${port}`,
        '-cert',
        file('cert.pem', `${identity.certPem.trim()}\n${hq.pki.caCertPem.trim()}\n`),
        '-key',
        file('key.pem', identity.keyPem),
        '-CAfile',
        file('truststore.pem', stranger.pki.caCertPem),
        '-Verify',
        '1',
        '-verify_return_error',
        '-alpn',
        'h2',
        '-quiet'
      ],
      { stdio: ['pipe', 'ignore', 'ignore'] }
    )
    await new Promise((r) => setTimeout(r, 500))
  }, 30_000)

  afterAll(async () => {
    await gw?.fed.stop()
    await gw?.t.stop()
    server?.kill()
    hq?.cleanup()
    stranger?.cleanup()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('the peer row says HQ refused our certificate and what its admin must add', async () => {
    const fingerprint = new X509Certificate(hq.pki.federation!.certPem).fingerprint256
    const peer = await gw.t.ok(
      'addExternalPeer',
      { networkId: gw.networkId, fingerprint, displayName: 'HQ', dial: { address: '127.0.0.1', port, caPem: hq.pki.caCertPem } },
      gw.admin
    )
    const said = (): string => gw.fed.status(peer.id).lastError ?? ''
    await until(() => /refused our certificate/.test(said()), 5000, 'the refusal of our certificate as the last error')
    expect(said()).toMatch(
      /^The TAK Server refused our certificate \(tlsv1 alert unknown ca\): has its admin put our CA \(ca\.pem, External TAK Servers tab\) in its federation truststore\?$/
    )
    expect(gw.fed.status(peer.id).connected).toBe(false)
  }, 15_000)
})
