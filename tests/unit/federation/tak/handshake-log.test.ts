// A TAK Server whose admin has not put our CA in its federation truststore aborts the TLS handshake when it dials us,
// and its link just stays down: the log says so, with what to check, once (then a sum a minute), while a scanner's
// failed handshake is an ordinary info line.

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { until } from '../../../support/devices.ts'
import { testPki, type TestPki } from '../../../support/pki.ts'
import { startFederatingGateway, type FederatingGateway } from '../../../support/tak-gateway.ts'

const REDIAL = { baseDelayMs: 60_000, maxDelayMs: 60_000, afterDropMs: 60_000 }

describe('failed handshakes on the federation port', () => {
  let gw: FederatingGateway
  let other: TestPki

  beforeAll(async () => {
    ;[gw, other] = await Promise.all([
      startFederatingGateway('fedgate-hs', REDIAL),
      testPki({ freshCa: true, hostname: 'tak-hs.test', federateId: 'tak-hs' })
    ])
  })

  afterAll(async () => {
    await gw?.fed.stop()
    await gw?.t.stop()
    other?.cleanup()
  })

  /**
   * Dials the federation port as a TAK Server would, trusting only `ca`. OpenSSL's client (like TAK's Java one) ends a
   * handshake with a certificate it does not trust with an alert; node's closes the connection without one.
   */
  function dial(ca: string): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-hs-'))
    const identity = other.pki.federation!
    const files = { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') }
    fs.writeFileSync(files.ca, ca)
    fs.writeFileSync(files.cert, identity.certPem)
    fs.writeFileSync(files.key, identity.keyPem, { mode: 0o600 })
    const args = [
      's_client',
      '-connect',
      `127.0.0.1:${gw.fed.port}`,
      '-CAfile',
      files.ca,
      '-verify_return_error',
      '-alpn',
      'h2',
      '-cert',
      files.cert,
      '-key',
      files.key
    ]
    return new Promise((resolve) => {
      const client = spawn('openssl', args, { stdio: ['pipe', 'ignore', 'ignore'] })
      client.stdin.end()
      const done = (): void => {
        fs.rmSync(dir, { recursive: true, force: true })
        resolve()
      }
      client.once('exit', done)
      client.once('error', done)
    })
  }

  const lines = (): string[] => gw.t.logs.filter((l) => l.includes('TLS handshake from'))

  it('names the missing truststore entry (one line for three attempts), and keeps a scanner to an info line', async () => {
    for (let i = 0; i < 3; i++) await dial(other.pki.caCertPem)
    await until(() => lines().length > 0, 3000, 'the first failed handshake logged')
    expect(lines()).toHaveLength(1)
    expect(lines()[0]).toMatch(
      /^warn TAK federation: TLS handshake from 127\.0\.0\.1 failed \(.*unknown ca\): the remote does not trust our certificate\. Has its admin put our CA .* in its federation truststore\?$/
    )

    const scanner = net.connect({ host: '127.0.0.1', port: gw.fed.port })
    scanner.on('error', () => {})
    scanner.once('connect', () => scanner.end('GET / HTTP/1.1\r\n\r\n'))
    await until(() => lines().length > 1, 3000, 'the scanner logged')
    expect(lines()[1]).toMatch(/^info TAK federation: TLS handshake from 127\.0\.0\.1 failed \(http request\)$/)

    // A TAK Server that trusts our CA is not logged at all.
    await dial(gw.t.services.pki.caCertPem)
    await new Promise((r) => setTimeout(r, 200))
    expect(lines()).toHaveLength(2)
  })
})
