// The next-fingerprint header on HealthCheck (federation/tak/rotation.ts) is input a peer controls. A registered
// peer sends hundreds of health checks, each announcing a different fingerprint, plus junk and a header of KiBs: the
// gateway keeps answering, pins at most one learned fingerprint a minute (each is a db.json write), and never one
// that is not a SHA-256 fingerprint. An unregistered certificate gets no call at all.

import { randomBytes } from 'node:crypto'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTakFederation, takFederationArea, type TakFederation } from '../../gateway/federation/tak/index.ts'
import { loadFigService } from '../../gateway/federation/tak/proto.ts'
import { NEXT_FINGERPRINT_HEADER } from '../../gateway/federation/tak/rotation.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { testPki, type TestPki } from '../support/pki.ts'

const CHECKS = 300
const randomFingerprint = (): string => randomBytes(32).toString('hex').toUpperCase().match(/../g)!.join(':')

describe('hostile next-fingerprint headers on the federation port', () => {
  let t: TestGateway
  let fed: TakFederation
  let tak: TestPki
  let peerId = ''
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-h' } })
    await takFederationArea(t.services)!.stop()
    fed = await startTakFederation(t.services, { router: t.services.router!, pki: t.services.pki, host: '127.0.0.1', port: 0 })
    tak = await testPki({ freshCa: true, hostname: 'tak-h.test', federateId: 'tak-h' })
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
    const networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)).id
    peerId = (await t.ok('addExternalPeer', { networkId, fingerprint: tak.pki.federation!.fingerprint, displayName: 'TAK H' }, admin)).id
    const { Client } = loadFigService()
    const chain = `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`
    client = new Client(
      `127.0.0.1:${fed.port}`,
      grpc.credentials.createSsl(Buffer.from(t.services.pki.caCertPem), Buffer.from(tak.pki.federation!.keyPem), Buffer.from(chain), {
        checkServerIdentity: () => undefined
      })
    ) as typeof client
  })

  afterAll(async () => {
    client?.close()
    await fed?.stop()
    await t?.stop()
    tak?.cleanup()
  })

  const healthCheck = (metadata: grpc.Metadata): Promise<string> =>
    new Promise((resolve, reject) =>
      client.HealthCheck!({ status: 'SERVING' }, metadata, (err: Error | null, answer?: { status?: string }) =>
        err ? reject(err) : resolve(answer?.status ?? '')
      )
    )

  it('keeps answering, and pins at most one well-formed fingerprint', async () => {
    const junk = new grpc.Metadata()
    junk.set(NEXT_FINGERPRINT_HEADER, 'x'.repeat(6 * 1024))
    expect(await healthCheck(junk)).toBe('SERVING')
    const announced = new Set<string>()
    for (let i = 0; i < CHECKS; i++) {
      const metadata = new grpc.Metadata()
      const value = randomFingerprint()
      announced.add(value)
      metadata.set(NEXT_FINGERPRINT_HEADER, value)
      expect(await healthCheck(metadata)).toBe('SERVING')
    }
    await new Promise((r) => setTimeout(r, 200))
    const peer = t.services.store.data.externalPeers.find((p) => p.id === peerId)!
    expect(peer.fingerprint).toBe(tak.pki.federation!.fingerprint)
    // The first one announced is pinned; the 299 after it within the minute are not.
    expect(announced.has(peer.nextFingerprint!)).toBe(true)
    expect(t.logs.filter((line) => line.includes('announced its next certificate')).length).toBe(1)
  })
})
