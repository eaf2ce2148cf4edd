// What a peer may make us pin over its link (rotation.ts): one well-formed SHA-256 fingerprint in one header, never
// one another peer holds, at most one change a minute per peer (each is a db.json write), and a promotion only of
// the peer's own next fingerprint. Run on a real gateway's store and PKI.

import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprintExchange, NEXT_FINGERPRINT_HEADER, type FingerprintExchange } from '../../../../gateway/federation/tak/rotation.ts'
import { until } from '../../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../../support/gateway.ts'

const FP = (byte: string): string => Array.from({ length: 32 }, () => byte).join(':')

describe('next fingerprints learned over a link', () => {
  let t: TestGateway
  let exchange: FingerprintExchange
  let peerId = ''
  let otherId = ''
  const pin = (id: string): { fingerprint: string; nextFingerprint?: string | null } =>
    t.services.store.data.externalPeers.find((p) => p.id === id)!
  const header = (...values: string[]): grpc.Metadata => {
    const metadata = new grpc.Metadata()
    for (const v of values) metadata.add(NEXT_FINGERPRINT_HEADER, v)
    return metadata
  }
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100))

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-learn' } })
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
    const networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)).id
    peerId = (await t.ok('addExternalPeer', { networkId, fingerprint: FP('11'), displayName: 'Peer' }, admin)).id
    otherId = (await t.ok('addExternalPeer', { networkId, fingerprint: FP('22'), displayName: 'Other' }, admin)).id
    exchange = fingerprintExchange({ store: t.services.store, pki: t.services.pki, log: t.services.log, changed: () => {} })
  })

  afterAll(async () => {
    await t?.stop()
  })

  it('ignores malformed headers and a fingerprint another peer holds', async () => {
    for (const bad of [header('not a fingerprint'), header(FP('33'), FP('44')), header(FP('33') + ':55'), header(FP('22'))]) {
      exchange.received(peerId, bad)
    }
    await settle()
    expect(pin(peerId).nextFingerprint ?? null).toBeNull()
  })

  it('pins one announced fingerprint, and takes no other change from that peer within a minute', async () => {
    exchange.received(peerId, header(FP('aa')))
    await until(() => pin(peerId).nextFingerprint === FP('AA'), 2000, 'the learned pin')
    exchange.received(peerId, header(FP('BB')))
    await settle()
    expect(pin(peerId).nextFingerprint).toBe(FP('AA'))
  })

  it('promotes only the peer’s own next fingerprint when presented', async () => {
    exchange.presented(otherId, FP('AA'))
    exchange.presented(peerId, FP('22'))
    await settle()
    expect(pin(otherId)).toMatchObject({ fingerprint: FP('22') })
    expect(pin(peerId)).toMatchObject({ fingerprint: FP('11'), nextFingerprint: FP('AA') })
    exchange.presented(peerId, FP('AA'))
    await until(() => pin(peerId).fingerprint === FP('AA'), 2000, 'the promotion')
    expect(pin(peerId).nextFingerprint).toBeNull()
  })
})
