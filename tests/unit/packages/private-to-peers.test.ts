// A package an ATAK user sends privately must not end up on a TAK Server peer. ATAK (commo) sends a data package to
// chosen contacts by uploading it (missionupload, no `tool`: stored public), then `PUT …/metadata/<hash>/tool` with
// `private`, then a fileshare CoT to those contacts (tak-devices.md §2.2). A device's upload is therefore offered to
// TAK peers (DP-Out, `create resource`) only after a short grace; a `create resource` is checked again when it is
// built; a package made private after it went is logged (TAK cannot take it back).
//
// Two real gateways over TAK federation v2: A (a device uploads through the Marti API with its certificate, as ATAK
// does) shares packages with B, which plays HQ's TAK Server and takes them. Then PackageFederation on its own for the
// races a link can meet (a package made private while its create waits in line, a fileshare for it meanwhile).

import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { APIAuthCertificate, TAKAPI } from '@tak-ps/node-tak'
import { startTakFederation, takFederationArea, type TakFederation } from '../../../gateway/federation/tak/index.ts'
import { packagesArea, startPackages } from '../../../gateway/packages/index.ts'
import { serverTls } from '../../../gateway/pki/server-identity.ts'
import { Store } from '../../../gateway/store/store.ts'
import type { ExternalPeerRecord } from '../../../gateway/store/schema.ts'
import { PackageStore } from '../../../gateway/packages/store.ts'
import { PackageFederation } from '../../../gateway/federation/tak/packages.ts'
import { buildFileshareEvent } from '../../../gateway/packages/fileshare.ts'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity, fileshareEvent, type EnrolledIdentity } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { federatePair, federatingEnv, startFederatingGateway } from '../../support/tak-gateway.ts'
import { built, parsed } from '../../support/rol.ts'
import { zipOf } from '../../support/zip.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const FAST_REDIAL = { baseDelayMs: 100, maxDelayMs: 400, afterDropMs: 300 }

/**
 * Gateway A's grace for device uploads (the default is 5 s; ATAK's `private` follows within a second or two). Long
 * enough that "an operator upload goes at once" (within two thirds of it) holds on a loaded two-core machine.
 */
const GRACE_MS = 3000

/** Polls an async check until it holds; throws after `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await settle(25)
  }
}

const zip = (): Promise<Buffer> =>
  zipOf({ 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'note.txt': randomBytes(3000).toString('hex') })

describe('device uploads and TAK Server peers (two gateways over federation v2)', () => {
  let a: { t: TestGateway; fed: TakFederation; admin: string; networkId: string; peerId: string }
  let b: { t: TestGateway; fed: TakFederation; admin: string; networkId: string; peerId: string }
  let alpha: EnrolledIdentity
  let phone: DeviceClient

  /** Gateway A as startFederatingGateway makes it, its package area started again with a short device grace. */
  async function startGatewayA(): Promise<typeof a> {
    const t = await startTestGateway({ env: federatingEnv('fedgate-a') })
    const { services } = t
    const router = services.router!
    await takFederationArea(services)!.stop()
    await packagesArea(services)!.stop()
    await startPackages(services, {
      tls: { ...serverTls(services.pki), ca: services.pki.caCertPem },
      deliverToNetwork: (networkId, event) =>
        router.publish(event, { kind: 'peer', networkId, endpointId: 'packages', peerId: 'packages' }),
      deviceUploadGraceMs: GRACE_MS
    })
    const fed = await startTakFederation(services, {
      router,
      pki: services.pki,
      host: '127.0.0.1',
      port: 0,
      redial: FAST_REDIAL,
      healthIntervalMs: 300,
      statusIntervalMs: 100
    })
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Org A', plan: 'team' }, admin)
    const network = await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)
    return { t, fed, admin, networkId: network.id, peerId: '' }
  }

  /** ATAK's upload: `POST /Marti/sync/missionupload` with the device's certificate (no tool: stored public). */
  async function deviceUpload(bytes: Buffer, name: string): Promise<string> {
    const api = await TAKAPI.init(new URL(`https://127.0.0.1:${a.t.services.ports.marti}`), new APIAuthCertificate(alpha.cert, alpha.key))
    await api.Files.uploadPackage({ name, creatorUid: 'ANDROID-alpha-1', hash: sha(bytes) }, bytes)
    return sha(bytes)
  }

  /** ATAK's `PUT /Marti/api/sync/metadata/<hash>/tool`. */
  function setTool(hash: string, tool: 'private' | 'public'): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: a.t.services.ports.marti,
          method: 'PUT',
          path: `/Marti/api/sync/metadata/${hash}/tool`,
          ca: alpha.ca,
          cert: alpha.cert,
          key: alpha.key,
          servername: 'localhost',
          agent: false
        },
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        }
      )
      req.on('error', reject)
      req.end(tool)
    })
  }

  const operatorUpload = async (name: string): Promise<string> =>
    (await a.t.ok('uploadDataPackage', { networkId: a.networkId, name, contentBase64: (await zip()).toString('base64') }, a.admin)).hash
  /** Whether B (HQ's TAK Server here) holds the package, received from A. */
  const atB = async (hash: string): Promise<boolean> =>
    (await b.t.ok('listDataPackages', { networkId: b.networkId }, b.admin)).some((p) => p.hash === hash && p.source.kind === 'peer')
  const onA = async (hash: string) => (await a.t.ok('listDataPackages', { networkId: a.networkId }, a.admin)).find((p) => p.hash === hash)!
  const setShare = (on: boolean): Promise<unknown> => a.t.ok('updateExternalPeer', { id: a.peerId, sharePackages: on }, a.admin)

  beforeAll(async () => {
    ;[a, b] = await Promise.all([startGatewayA(), startFederatingGateway('fedgate-b', FAST_REDIAL).then((s) => ({ ...s, peerId: '' }))])
    ;({ acceptingPeerId: a.peerId, dialingPeerId: b.peerId } = await federatePair(a, b, { accepting: 'Fedgate B', dialing: 'Fedgate A' }))
    await b.t.ok('updateExternalPeer', { id: b.peerId, acceptPackages: true }, b.admin)
    await setShare(true)
    alpha = await enrollIdentity(a.t, a.admin, a.networkId, 'ALPHA-1')
    phone = await DeviceClient.connect({ port: a.t.services.ports.streaming, cert: alpha.cert, key: alpha.key, ca: alpha.ca })
    await phone.waitFor((e) => e.type === 't-x-takp-v')
  }, 60_000)

  afterAll(async () => {
    await phone?.close()
    for (const s of [a, b]) {
      await s?.fed.stop()
      if (s) await packagesArea(s.t.services)?.stop()
      await s?.t.stop()
    }
  })

  it('(a) a device upload made private within the grace never reaches the peer and is not recorded as shared with it', async () => {
    // ATAK's "send to chosen contacts": upload, make it private, fileshare to a contact here (none of B's).
    const bytes = await zip()
    const hash = await deviceUpload(bytes, 'for-alpha-2.zip')
    expect(await setTool(hash, 'private')).toBe(200)
    phone.send(fileshareEvent(hash, bytes.length, { name: 'for-alpha-2', to: 'ALPHA-2' }))

    // Past the grace, and past an operator upload made after it (which goes at once): the link has sent what it had.
    await settle(GRACE_MS + 300)
    const later = await operatorUpload('after-the-grace.zip')
    await eventually(() => atB(later), 5000, 'the later operator upload at B')
    expect(await atB(hash)).toBe(false)
    expect(await onA(hash)).toMatchObject({ private: true, sharedWith: [] })
  })

  it('(a) turning DP-Out on during the grace does not send it early either', async () => {
    await setShare(false)
    const hash = await deviceUpload(await zip(), 'while-off.zip')
    await setShare(true)
    await settle(100)
    expect(await setTool(hash, 'private')).toBe(200)
    await settle(GRACE_MS + 300)
    const later = await operatorUpload('after-toggle.zip')
    await eventually(() => atB(later), 5000, 'the later operator upload at B')
    expect(await atB(hash)).toBe(false)
    expect(await onA(hash)).toMatchObject({ private: true, sharedWith: [] })
  })

  it('(b) a device upload that stays public reaches the peer once the grace has passed', async () => {
    const started = Date.now()
    const hash = await deviceUpload(await zip(), 'for-everyone.zip')
    await settle(GRACE_MS / 3)
    expect(await atB(hash)).toBe(false)
    await eventually(() => atB(hash), GRACE_MS + 5000, 'the public device upload at B')
    expect(Date.now() - started).toBeGreaterThanOrEqual(GRACE_MS)
    await eventually(async () => (await onA(hash)).sharedWith.length > 0, 2000, 'the share noted on A')
    expect((await onA(hash)).sharedWith).toMatchObject([{ kind: 'peer', id: a.peerId, label: 'Fedgate B' }])
  })

  it('(c) an operator upload goes at once', async () => {
    const started = Date.now()
    const hash = await operatorUpload('from-the-console.zip')
    await eventually(() => atB(hash), (GRACE_MS * 2) / 3, 'the operator upload at B, well within the grace')
    expect(Date.now() - started).toBeLessThan(GRACE_MS)
  })

  it('a package made private after it went to the peer is logged, not taken back', async () => {
    const hash = await deviceUpload(await zip(), 'shared-then-hidden.zip')
    await eventually(() => atB(hash), GRACE_MS + 5000, 'the device upload at B')
    await eventually(async () => (await onA(hash)).sharedWith.length > 0, 2000, 'the share noted on A')
    expect(await setTool(hash, 'private')).toBe(200)
    const lines = a.t.logs.filter((l) => l.startsWith('info ') && l.includes('shared-then-hidden.zip') && l.includes('made private'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("'Fedgate B'")
    expect(await atB(hash)).toBe(true)
    expect((await onA(hash)).sharedWith).toMatchObject([{ kind: 'peer', id: a.peerId }])
  })
})

describe('PackageFederation: a create resource is checked again when it is built', () => {
  let dir: string
  let store: Store
  let packages: PackageStore
  let federation: PackageFederation
  let peer: ExternalPeerRecord
  const operator = { kind: 'operator' as const, label: 'Ops', id: 'user_1' }
  const device = { kind: 'device' as const, label: 'ALPHA-1', id: 'dev_1' }

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-private-'))
    store = await Store.open({ dir, debounceMs: 1 })
    packages = new PackageStore({ dataDir: dir, store, maxBytes: () => 1_000_000 })
    federation = new PackageFederation({
      packages,
      store,
      blockedExtensions: () => [],
      maxRolBytes: () => 1_000_000,
      martiPort: () => 8443,
      defaultHost: () => 'gw',
      deliverToNetwork: () => {},
      deviceUploadGraceMs: 300
    })
    peer = {
      id: 'peer_1',
      networkId: 'net_a',
      fingerprint: 'AA',
      displayName: 'TAK HQ',
      incoming: true,
      outgoing: true,
      acceptPackages: false,
      sharePackages: true,
      relay: false,
      maxHops: 2,
      dial: null,
      takGroups: { inbound: ['__ANON__'], outbound: ['__ANON__'] },
      createdAt: new Date().toISOString()
    }
    await store.update((doc) => {
      doc.externalPeers.push(structuredClone(peer))
    })
  })

  afterEach(async () => {
    await store.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('builds nothing for a package made private (or removed) while its create waited', async () => {
    const hidden = await packages.ingestBuffer(randomBytes(500), { networkId: 'net_a', name: 'hidden.zip', source: operator })
    const removed = await packages.ingestBuffer(randomBytes(500), { networkId: 'net_a', name: 'removed.zip', source: operator })
    const waiting = federation.packagesToFederate(peer)
    expect(waiting.map((p) => p.sharesPackage).sort()).toEqual([hidden.id, removed.id].sort())
    await federation.setPrivate(hidden.id, true)
    await packages.remove(removed.id, { name: 'op' })
    expect(await built(waiting)).toEqual([])
    expect(packages.byId(hidden.id)?.sharedWith).toEqual([])
  })

  it('still creates a private package on the peer when a fileshare sends it there, even through the create an offer queued', async () => {
    const rec = await packages.ingestBuffer(randomBytes(500), { networkId: 'net_a', name: 'to-hq.zip', source: operator })
    const [offered] = federation.packagesToFederate(peer)
    await federation.setPrivate(rec.id, true)
    const fileshare = buildFileshareEvent({
      sha256: rec.hash,
      filename: 'to-hq.zip',
      name: 'to-hq',
      sizeInBytes: 500,
      senderUrl: '',
      senderUid: 'ANDROID-A',
      senderCallsign: 'ALPHA-1',
      dest: { callsigns: ['HQ-OPS'], uids: [] }
    })
    const items = federation.fileshareToPeer(fileshare, peer)
    // The link drops the fileshare's create (same key as the offer's, still waiting): the offer's carries it.
    expect(items[0]!.key).toBe(offered!.key)
    const [created] = (await built([offered!])).map(parsed)
    expect(created).toMatchObject({ kind: 'createResource', meta: { hash: rec.hash, tool: 'private' } })
    await federation.markSharedWithPeer(rec.id, peer)
    // Recorded as shared once it went: not offered again, and a later fileshare only announces it.
    expect(federation.packagesToFederate(peer)).toEqual([])
    expect(federation.fileshareToPeer(fileshare, peer).map((i) => i.sharesPackage)).toEqual([null])
  })

  it('leaves a device upload out of offers until its grace has passed; an operator upload is offered at once', async () => {
    const fromDevice = await packages.ingestBuffer(randomBytes(400), { networkId: 'net_a', name: 'phone.zip', source: device })
    const fromOperator = await packages.ingestBuffer(randomBytes(400), { networkId: 'net_a', name: 'console.zip', source: operator })
    expect(federation.packagesToFederate(peer).map((p) => p.sharesPackage)).toEqual([fromOperator.id])
    expect(federation.offerDelayMs(fromOperator.id)).toBe(0)
    const wait = federation.offerDelayMs(fromDevice.id)
    expect(wait).toBeGreaterThan(0)
    expect(wait).toBeLessThanOrEqual(300)
    // What a TAK federation starting now (a restart) must offer when the grace ends.
    expect(federation.packagesInGrace()).toEqual([fromDevice.id])
    await settle(wait + 20)
    expect(federation.offerDelayMs(fromDevice.id)).toBe(0)
    expect(federation.packagesInGrace()).toEqual([])
    expect(
      federation
        .packagesToFederate(peer)
        .map((p) => p.sharesPackage)
        .sort()
    ).toEqual([fromDevice.id, fromOperator.id].sort())
  })
})
