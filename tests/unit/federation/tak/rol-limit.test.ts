// A TAK Server sends a file over ROL in one `create resource` message up to its own limit (256 MiB by default). A
// message over our gRPC limit would end the federate's whole ROL stream, and TAK keeps writing into an ended stream:
// every later package from it would be lost. So a package over Packages:MaxBytes is refused where ROL is handled, and
// the stream carries on. The gateway here takes packages up to 1 MiB, so a 17 MiB one is over what the gRPC limit
// used to be (Packages:MaxBytes + 4 MiB, at least 16 MiB).

import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createResourceRol } from '../../../../gateway/federation/tak/rol.ts'
import { startTestGateway, type TestGateway } from '../../../support/gateway.ts'
import { testPki, type TestPki } from '../../../support/pki.ts'
import { TakFederate } from '../../../support/tak-federate.ts'
import { zipOf } from '../../../support/zip.ts'
import { takFederationArea } from '../../../../gateway/federation/tak/index.ts'

describe('ROL from a TAK Server over our package limit', () => {
  let t: TestGateway
  let tak: TestPki
  let federate: TakFederate
  let admin = ''
  let networkId = ''

  const rolFor = (zip: Buffer, name: string): { program: string; payload: { type: string; data: Buffer }[] } => {
    const rol = createResourceRol(
      {
        hash: createHash('sha256').update(zip).digest('hex'),
        name,
        filename: name,
        mimeType: 'application/zip',
        keywords: ['missionpackage'],
        submissionTime: new Date().toISOString(),
        submitter: 'tak-admin',
        uid: `res-${name}`,
        creatorUid: '',
        size: zip.length,
        tool: 'public'
      },
      zip
    )
    return { program: rol.program, payload: rol.payload.map((p) => ({ type: 'OTHER', data: Buffer.from(p.data) })) }
  }

  const storedFromPeer = async (zip: Buffer): Promise<boolean> => {
    const hash = createHash('sha256').update(zip).digest('hex')
    return (await t.ok('listDataPackages', { networkId }, admin)).some((p) => p.hash === hash && p.source.kind === 'peer')
  }

  beforeAll(async () => {
    t = await startTestGateway({
      env: {
        Federation__AdvertisedHostname: 'localhost',
        Federation__OurFederateId: 'fedgate-limit',
        Packages__MaxBytes: String(1_048_576)
      }
    })
    tak = await testPki({ freshCa: true, hostname: 'tak-big.test', federateId: 'tak-big' })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Limits', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)).id
    const peer = await t.ok('addExternalPeer', { networkId, fingerprint: tak.pki.federation!.fingerprint, displayName: 'TAK Big' }, admin)
    await t.ok('updateExternalPeer', { id: peer.id, acceptPackages: true }, admin)
    const fed = takFederationArea(t.services)!
    federate = new TakFederate({
      port: fed.port,
      ca: t.services.pki.caCertPem,
      key: tak.pki.federation!.keyPem,
      certChain: `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
      name: 'tak-big',
      healthIntervalMs: 200
    }).start()
    await federate.serving()
  })

  afterAll(async () => {
    federate?.close()
    await t?.stop()
    tak?.cleanup()
  })

  it('refuses the big package and keeps the stream: the package behind it is stored', async () => {
    const big = await zipOf(
      { 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'imagery.bin': randomBytes(17 * 1_048_576) },
      { compress: false }
    )
    const small = await zipOf({ 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'notes.txt': 'after the big one' })
    federate.sendRol(rolFor(big, 'imagery.zip'))
    federate.sendRol(rolFor(small, 'notes.zip'))
    let stored = false
    for (let i = 0; i < 150 && !stored; i++) {
      stored = await storedFromPeer(small)
      if (!stored) await new Promise((r) => setTimeout(r, 50))
    }
    expect(stored).toBe(true)
    expect(await storedFromPeer(big)).toBe(false)
    expect(federate.ended.has('ServerROLStream')).toBe(false)
  })
})
