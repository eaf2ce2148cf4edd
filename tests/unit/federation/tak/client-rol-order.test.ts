// Dialing a TAK Server, our data-package ROL goes out on ServerROLStream only once ClientROLStream is open, as a stock
// TAK client does (spec §2.3 step 6): the TAK Server handles a client's `create resource` through that session's
// ClientROLStream and drops it while there is none, and we would still record the package as shared, never to offer it
// again. The remote here is a TAK-Server-like grpc-js server over mutual TLS (tests/support/tak-server.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { interpretPackageRol } from '../../../../gateway/federation/tak/rol.ts'
import { until } from '../../../support/devices.ts'
import { testPki, type TestPki } from '../../../support/pki.ts'
import { startFederatingGateway, type FederatingGateway } from '../../../support/tak-gateway.ts'
import { TakServer, type ReceivedRol } from '../../../support/tak-server.ts'
import { zipOf } from '../../../support/zip.ts'

const REDIAL = { baseDelayMs: 200, maxDelayMs: 1000, afterDropMs: 500 }

const kindOf = (r: ReceivedRol): string => {
  const parsed = interpretPackageRol(r.message)
  return parsed.ok ? parsed.value.kind : 'invalid'
}

describe('the client role sends ROL only after ClientROLStream is open', () => {
  let gw: FederatingGateway
  let takPki: TestPki
  let tak: TakServer
  let peerId = ''
  let packageId = ''

  beforeAll(async () => {
    ;[gw, takPki] = await Promise.all([
      startFederatingGateway('fedgate-rol-order', REDIAL),
      testPki({ freshCa: true, hostname: 'tak-rol.test', federateId: 'tak-rol' })
    ])
    const identity = takPki.pki.federation!
    tak = await new TakServer({
      key: identity.keyPem,
      certChain: `${identity.certPem.trim()}\n${takPki.pki.caCertPem.trim()}\n`,
      clientCa: gw.t.services.pki.caCertPem
    }).start()
    const zip = await zipOf({ 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'route.kml': '<kml/>' })
    packageId = (
      await gw.t.ok('uploadDataPackage', { networkId: gw.networkId, name: 'route.zip', contentBase64: zip.toString('base64') }, gw.admin)
    ).id
    const dial = { address: '127.0.0.1', port: tak.port, caPem: takPki.pki.caCertPem }
    peerId = (
      await gw.t.ok(
        'addExternalPeer',
        { networkId: gw.networkId, fingerprint: identity.fingerprint, displayName: 'TAK HQ', dial, sharePackages: true },
        gw.admin
      )
    ).id
  }, 30_000)

  afterAll(async () => {
    await gw?.fed.stop()
    await gw?.t.stop()
    tak?.close()
    takPki?.cleanup()
  })

  it('the create resource reaches the server after our ClientROLStream, and the package then counts as shared', async () => {
    await until(() => tak.rolReceived.some((r) => kindOf(r) === 'createResource'), 5000, 'a create resource on the server')
    // The session came up at SERVING, before the first health check (after 300 ms) opened ClientROLStream.
    const received = tak.rolReceived.map((r) => ({ kind: kindOf(r), afterRolIn: r.afterRolIn }))
    expect(received.filter((r) => !r.afterRolIn)).toEqual([])
    // All on one connection, with our federation certificate.
    const ours = gw.t.services.pki.federation!.fingerprint
    expect(new Set(tak.calls.map((c) => `${c.connection} ${c.fingerprint}`))).toEqual(new Set([`${tak.calls[0]!.connection} ${ours}`]))
    expect(tak.rolReceived.find((r) => kindOf(r) === 'createResource')!.message.program).toContain('route.zip')

    let shared = false
    for (let i = 0; i < 100 && !shared; i++) {
      const record = (await gw.t.ok('listDataPackages', { networkId: gw.networkId }, gw.admin)).find((p) => p.id === packageId)
      shared = record?.sharedWith.some((s) => s.kind === 'peer' && s.id === peerId) ?? false
      if (!shared) await new Promise((r) => setTimeout(r, 50))
    }
    expect(shared).toBe(true)
  }, 15_000)
})
