// "Why nothing flows", each diagnosis produced by the real condition over real gRPC and mutual TLS: a TAK-like server
// whose truststore lacks our CA (TLS alert), a Fedgate that does not know our certificate yet, a TAK-like server that
// accepts us and routes nothing (a federate with no groups gets nothing), a Fedgate whose operator turns its Out off
// (one way), a TAK-like federate whose clock is 2 minutes behind (stale on arrival), and both switches off (paused).
// The 10-minute window is 1.5 s here.

import { spawn, type ChildProcess } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExternalPeerDto } from '../../../../gateway/api/contract.ts'
import { DeviceClient } from '../../../support/device-client.ts'
import { enrollIdentity, pli, until } from '../../../support/devices.ts'
import { testPki, type TestPki } from '../../../support/pki.ts'
import { closedPort } from '../../../support/ports.ts'
import { TakFederate, geoEvent } from '../../../support/tak-federate.ts'
import { startFederatingGateway, type FederatingGateway } from '../../../support/tak-gateway.ts'
import { TakServer } from '../../../support/tak-server.ts'

const REDIAL = { baseDelayMs: 200, maxDelayMs: 800, afterDropMs: 300 }
const WINDOW_MS = 1500

describe('the diagnosis of each TAK peer, from what really happens on the link', () => {
  let us: FederatingGateway
  let other: FederatingGateway
  let stranger: TestPki
  const pkis: TestPki[] = []
  /** A TAK Server's own identity (its federation certificate and CA), one per test: a fingerprint is one peer. */
  const takIdentity = async (name: string): Promise<TestPki> => {
    const pki = await testPki({ freshCa: true, hostname: `${name}.test`, federateId: name })
    pkis.push(pki)
    return pki
  }
  let device: DeviceClient
  let otherDevice: DeviceClient
  const servers: TakServer[] = []
  const federates: TakFederate[] = []
  const timers: NodeJS.Timeout[] = []
  const children: ChildProcess[] = []
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-diagnosis-'))

  const peerDto = async (id: string): Promise<ExternalPeerDto> =>
    (await us.t.ok('listExternalPeers', { networkId: us.networkId }, us.admin)).find((p) => p.id === id)!
  const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256

  async function diagnosisOf(id: string, code: string, timeoutMs = 8000): Promise<ExternalPeerDto> {
    let last: ExternalPeerDto | null = null
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      last = await peerDto(id)
      if (last.diagnosis?.code === code) return last
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`no '${code}' diagnosis; last: ${JSON.stringify(last?.diagnosis)} (${last?.status.lastError})`)
  }

  /** A TAK-like server with `hq`'s identity whose federation truststore holds `clientCa`. */
  async function takServer(hq: TestPki, clientCa: string): Promise<TakServer> {
    const identity = hq.pki.federation!
    const server = await new TakServer({
      key: identity.keyPem,
      certChain: `${identity.certPem.trim()}\n${hq.pki.caCertPem.trim()}\n`,
      clientCa
    }).start()
    servers.push(server)
    return server
  }

  async function dialPeer(name: string, port: number, fingerprint: string, caPem: string): Promise<string> {
    const dial = { address: '127.0.0.1', port, caPem }
    return (await us.t.ok('addExternalPeer', { networkId: us.networkId, fingerprint, displayName: name, dial }, us.admin)).id
  }

  beforeAll(async () => {
    ;[us, other, stranger] = await Promise.all([
      startFederatingGateway('fedgate-diag', REDIAL, undefined, { nothingArrivesMs: WINDOW_MS }),
      startFederatingGateway('fedgate-other', REDIAL, undefined, { nothingArrivesMs: WINDOW_MS }),
      testPki({ freshCa: true, hostname: 'stranger.test', federateId: 'stranger' })
    ])
    const connect = async (side: FederatingGateway, callsign: string): Promise<DeviceClient> => {
      const id = await enrollIdentity(side.t, side.admin, side.networkId, callsign)
      const client = await DeviceClient.connect({ port: side.t.services.ports.streaming, cert: id.cert, key: id.key, ca: id.ca })
      // A device reporting its position every 200 ms: what "we send" means on every link of its network.
      timers.push(setInterval(() => client.send(pli(`${callsign}-UID`, callsign)), 200))
      return client
    }
    ;[device, otherDevice] = await Promise.all([connect(us, 'ALPHA'), connect(other, 'BRAVO')])
  }, 30_000)

  afterAll(async () => {
    for (const timer of timers) clearInterval(timer)
    for (const f of federates) f.close()
    for (const s of servers) s.close()
    for (const child of children) child.kill()
    fs.rmSync(dir, { recursive: true, force: true })
    await device?.close()
    await otherDevice?.close()
    for (const side of [us, other]) {
      await side?.fed.stop()
      await side?.t.stop()
    }
    for (const pki of pkis) pki.cleanup()
    stranger?.cleanup()
  })

  it('a TAK Server whose federation truststore lacks our CA: untrusted-ca, with what its admin must add', async () => {
    // Its TLS answers our certificate with an alert, as TAK's Java TLS does (Node's TLS server would only close, so
    // the remote here is OpenSSL's s_server asking for a client certificate from another CA).
    const hq = await takIdentity('hq-untrusting')
    const identity = hq.pki.federation!
    const file = (name: string, text: string): string => (
      fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 }),
      path.join(dir, name)
    )
    const port = await closedPort()
    const args = [
      's_server',
      '-accept',
      `127.0.0.1:${port}`,
      '-cert',
      file('cert.pem', `${identity.certPem.trim()}\n${hq.pki.caCertPem.trim()}\n`)
    ]
    args.push('-key', file('key.pem', identity.keyPem), '-CAfile', file('trust.pem', stranger.pki.caCertPem))
    args.push('-Verify', '1', '-verify_return_error', '-alpn', 'h2', '-quiet')
    children.push(spawn('openssl', args, { stdio: ['pipe', 'ignore', 'ignore'] }))
    await new Promise((r) => setTimeout(r, 500))
    const id = await dialPeer('HQ untrusting', port, fingerprintOf(identity.certPem), hq.pki.caCertPem)
    const peer = await diagnosisOf(id, 'untrusted-ca')
    expect(peer.diagnosis!.message).toMatch(/does not trust our CA: ask its admin to add our CA \(ca\.pem/)
    expect(peer.diagnosis!.message).toMatch(/federation truststore/)
    await us.t.ok('removeExternalPeer', { id }, us.admin)
  }, 15_000)

  it('a Fedgate that does not know our certificate: refused-by-peer on our (dialing) side, with our fingerprint to send', async () => {
    const id = await dialPeer('Other', other.fed.port, other.t.services.pki.federation!.fingerprint, other.t.services.pki.caCertPem)
    const peer = await diagnosisOf(id, 'refused-by-peer')
    expect(peer.diagnosis!.message).toContain(us.t.services.pki.federation!.fingerprint)
    expect(peer.diagnosis!.message).toMatch(/our CA \(ca\.pem\)/)
    // Once they register us, the link comes up and the diagnosis goes.
    const theirs = await other.t.ok(
      'addExternalPeer',
      { networkId: other.networkId, fingerprint: us.t.services.pki.federation!.fingerprint, displayName: 'Diag' },
      other.admin
    )
    await until(() => us.fed.status(id).connected, 10_000, 'the link up once registered')
    expect((await peerDto(id)).diagnosis).toBeNull()

    // Both sides send; then their operator turns Out off for us: only our direction flows.
    await until(
      () => us.t.services.router !== null && (us.fed.sessionsOf(id)[0]?.remoteContacts.has('BRAVO-UID') ?? false),
      5000,
      'their device announced'
    )
    await new Promise((r) => setTimeout(r, 500))
    expect((await peerDto(id)).diagnosis).toBeNull()
    await other.t.ok('updateExternalPeer', { id: theirs.id, outgoing: false }, other.admin)
    const oneWay = await diagnosisOf(id, 'one-way')
    expect(oneWay.diagnosis!.message).toMatch(/Only our traffic flows: Other sent events earlier/)
    await us.t.ok('removeExternalPeer', { id }, us.admin)
    await other.t.ok('removeExternalPeer', { id: theirs.id }, other.admin)
  }, 30_000)

  it('a TAK Server that accepts us and routes nothing: nothing-arrives after the window, naming the groups to set', async () => {
    const hq = await takIdentity('hq-silent')
    const server = await takServer(hq, us.t.services.pki.caCertPem)
    const id = await dialPeer('HQ silent', server.port, fingerprintOf(hq.pki.federation!.certPem), hq.pki.caCertPem)
    await until(() => us.fed.status(id).connected, 10_000, 'the link up')
    await new Promise((r) => setTimeout(r, 500)) // we have sent by now (every 200 ms), and nothing came back
    expect((await peerDto(id)).diagnosis).toBeNull() // but the window (1.5 s) has not passed yet
    const peer = await diagnosisOf(id, 'nothing-arrives')
    expect(peer.diagnosis!.message).toMatch(/<federate> entry .*<inboundGroup> and <outboundGroup>.*<federateCA>/)

    // Both switches off: paused, whatever else is seen.
    await us.t.ok('updateExternalPeer', { id, incoming: false, outgoing: false }, us.admin)
    expect((await diagnosisOf(id, 'paused')).diagnosis!.message).toMatch(/In and Out are both off/)
    await us.t.ok('removeExternalPeer', { id }, us.admin)
  }, 20_000)

  it('a TAK federate whose clock is 2 minutes behind: its skew, stale-on-arrival, and the count in Health', async () => {
    const hq = await takIdentity('hq-late')
    const identity = hq.pki.federation!
    const id = (
      await us.t.ok(
        'addExternalPeer',
        { networkId: us.networkId, fingerprint: fingerprintOf(identity.certPem), displayName: 'HQ late' },
        us.admin
      )
    ).id
    const federate = new TakFederate({
      port: us.fed.port,
      key: identity.keyPem,
      certChain: `${identity.certPem.trim()}\n${hq.pki.caCertPem.trim()}\n`,
      ca: us.t.services.pki.caCertPem,
      healthIntervalMs: 300
    }).start()
    federates.push(federate)
    await federate.serving()
    const before = (await us.t.ok('getHealth', undefined, us.admin)).staleOnArrival
    for (let i = 0; i < 5; i++) {
      const late = Date.now() - 120_000
      federate.send({ event: geoEvent(`HQ-${i}`, { sendTime: late, startTime: late, staleTime: late + 60_000 }) })
    }
    const peer = await diagnosisOf(id, 'stale-on-arrival')
    expect(peer.diagnosis!.message).toMatch(/already out of date when they arrive \(about 12\d s behind\).*clock of one side is wrong/)
    expect(peer.clockSkewSeconds).toBeGreaterThanOrEqual(-125)
    expect(peer.clockSkewSeconds).toBeLessThanOrEqual(-119)
    expect((await us.t.ok('getHealth', undefined, us.admin)).staleOnArrival).toBe(before + 5)
  }, 20_000)
})
