// Issue 22, memory: one device must not be able to make the gateway hold memory without bound. (1) Position reports
// of ~256 KiB under a fresh uid each filled the latest-position cache (10,000 per network, whatever their size) until
// the heap ran out; the cache is now charged to the gateway-wide byte budget, Memory:CacheBytes (small here).
// (2) A zip bomb uploaded through Marti and shared with a TAK federate was expanded in memory to check its entries.

import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import yazl from 'yazl'
import { APIAuthCertificate, TAKAPI } from '@tak-ps/node-tak'
import { startTakFederation, takFederationArea } from '../../gateway/federation/tak/index.ts'
import { packagesArea, startPackages } from '../../gateway/packages/index.ts'
import { serverTls } from '../../gateway/pki/server-identity.ts'
import { DeviceClient } from '../support/device-client.ts'
import { enrollIdentity, pli, until, type EnrolledIdentity } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { federatePair, startFederatingGateway, type FederatingGateway } from '../support/tak-gateway.ts'
import { zipOf } from '../support/zip.ts'

const CACHE_BYTES = 2 * 1_048_576
const REPORT_FILLER = 'x'.repeat(256 * 1024)
const REPORTS = 48

describe('one device and the latest-position cache', () => {
  let t: TestGateway
  let networkId: string
  let sender: EnrolledIdentity
  let late: EnrolledIdentity

  beforeAll(async () => {
    t = await startTestGateway({ env: { Memory__CacheBytes: String(CACHE_BYTES) } })
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Org', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
    sender = await enrollIdentity(t, admin, networkId, 'FLOOD-1')
    late = await enrollIdentity(t, admin, networkId, 'LATE-1')
  }, 60_000)

  afterAll(async () => {
    await t?.stop()
  })

  it('keeps the cached positions within the byte budget and still replays the newest to a device that connects later', async () => {
    const port = t.services.ports.streaming
    const flood = await DeviceClient.connect({ port, cert: sender.cert, key: sender.key, ca: sender.ca })
    for (let i = 0; i < REPORTS; i++) flood.send(pli(`flood-${i}`, `FLOOD-${i}`, { lat: 10, lon: 10 }, REPORT_FILLER))
    const router = t.services.router!
    const lastUid = `flood-${REPORTS - 1}`
    await until(() => router.latestPositions(networkId).some((e) => e.uid === lastUid), 20_000, 'the last report in the cache')

    // What the cache holds, counted from its content (not from the budget's own figure), against the budget.
    const held = router.latestPositions(networkId)
    const heldBytes = held.reduce((sum, e) => sum + e.xml.length, 0)
    expect(heldBytes).toBeLessThanOrEqual(CACHE_BYTES)
    expect(held.length).toBeLessThan(REPORTS)
    expect(router.cacheBudget.bytes).toBeLessThanOrEqual(CACHE_BYTES)
    expect(t.gateway.services.health().dropsByReason['cache.evicted']).toBeGreaterThan(0)

    // A device that connects later gets the newest positions (oldest evicted first), not the first ones.
    const phone = await DeviceClient.connect({ port, cert: late.cert, key: late.key, ca: late.ca })
    await phone.waitFor((e) => e.uid === lastUid, 10_000)
    expect(phone.events.some((e) => e.uid === 'flood-0')).toBe(false)
    await phone.close()
    await flood.close()
  })
})

/**
 * A zip bomb: 390 MiB of zeros at maximum deflate (~400 KiB), just under what the old check allowed (4 x Packages:MaxBytes
 * of declared sizes), plus a blocked `.pref` entry so sharing with a TAK federate has to strip it. Built as a stream:
 * the zeros never exist in memory here.
 */
async function zipBomb(): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  const size = 390 * 1_048_576
  const chunk = Buffer.alloc(1_048_576)
  let left = size
  const zeros = new Readable({
    read() {
      if (left === 0) return void this.push(null)
      const n = Math.min(left, chunk.length)
      left -= n
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n))
    }
  })
  zip.addBuffer(Buffer.from('<MissionPackageManifest version="2"/>'), 'MANIFEST/manifest.xml')
  zip.addReadStream(zeros, 'data/zeros.bin', { size, compressionLevel: 9 })
  zip.addBuffer(Buffer.from('secret'), 'settings.pref')
  zip.end()
  const chunks: Buffer[] = []
  for await (const c of zip.outputStream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const FAST_REDIAL = { baseDelayMs: 100, maxDelayMs: 400, afterDropMs: 300 }
/** A device's upload waits this long before it is offered to federates (5 s in the product: ATAK's `private`). */
const GRACE_MS = 300

/** The package area and TAK federation of `side` started again with a short device-upload grace. */
async function withShortGrace(side: FederatingGateway): Promise<FederatingGateway> {
  const { services } = side.t
  const router = services.router!
  await takFederationArea(services)!.stop()
  await packagesArea(services)!.stop()
  await startPackages(services, {
    tls: { ...serverTls(services.pki), ca: services.pki.caCertPem },
    deliverToNetwork: (networkId, event) => router.publish(event, { kind: 'peer', networkId, endpointId: 'packages', peerId: 'packages' }),
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
  return { ...side, fed }
}

describe('a zip bomb uploaded by a device and shared with a TAK federate', () => {
  let a: FederatingGateway
  let b: FederatingGateway
  let device: EnrolledIdentity

  beforeAll(async () => {
    ;[a, b] = await Promise.all([startFederatingGateway('fedgate-a', FAST_REDIAL), startFederatingGateway('fedgate-b', FAST_REDIAL)])
    a = await withShortGrace(a)
    const { acceptingPeerId, dialingPeerId } = await federatePair(a, b, { accepting: 'Fedgate B', dialing: 'Fedgate A' })
    await b.t.ok('updateExternalPeer', { id: dialingPeerId, acceptPackages: true }, b.admin)
    await a.t.ok('updateExternalPeer', { id: acceptingPeerId, sharePackages: true }, a.admin)
    device = await enrollIdentity(a.t, a.admin, a.networkId, 'ALPHA-1')
  }, 60_000)

  afterAll(async () => {
    for (const s of [a, b]) {
      await s?.fed.stop()
      if (s) await packagesArea(s.t.services)?.stop()
      await s?.t.stop()
    }
  })

  it('is stored as uploaded, not expanded in memory, and not federated; the link goes on', async () => {
    const bomb = await zipBomb()
    expect(bomb.length).toBeLessThan(1_048_576)
    // Both gateways run in this process: its heap and buffers are the gateway's. Sampled until the refusal is logged.
    const used = (): number => {
      const m = process.memoryUsage()
      return m.heapUsed + m.arrayBuffers
    }
    const before = used()
    let peak = before
    const sampler = setInterval(() => (peak = Math.max(peak, used())), 5)

    const api = await TAKAPI.init(new URL(`https://127.0.0.1:${a.t.services.ports.marti}`), new APIAuthCertificate(device.cert, device.key))
    await api.Files.uploadPackage({ name: 'bomb.zip', creatorUid: 'ANDROID-alpha-1', hash: sha(bomb) }, bomb)
    const stored = (await a.t.ok('listDataPackages', { networkId: a.networkId }, a.admin)).find((p) => p.hash === sha(bomb))
    expect(stored?.size).toBe(bomb.length)

    // A device upload is offered to federates after its grace (GRACE_MS here); then the zip is checked and refused.
    // (Or, as before the fix, until it was expanded in memory past the limit, or copied and reached the federate.)
    const refused = (): boolean => a.t.logs.some((l) => l.includes("'bomb.zip'") && l.includes('not federated'))
    const reachedB = (): boolean =>
      packagesArea(b.t.services)!
        .store.all()
        .some((r) => r.name === 'bomb.zip')
    const GROWTH_LIMIT = 200 * 1_048_576
    await until(() => refused() || reachedB() || peak - before > GROWTH_LIMIT, 60_000, 'the bomb refused or shared')
    clearInterval(sampler)
    peak = Math.max(peak, used())
    expect(peak - before).toBeLessThan(GROWTH_LIMIT)
    expect(a.t.logs.find((l) => l.includes("'bomb.zip'") && l.includes('not federated'))).toMatch(
      /would expand to 390\.0 MiB.*zip_too_large/
    )
    expect(a.t.services.health().dropsByReason['packages.zipTooLarge']).toBe(1)

    // The gateway and its link still work: an ordinary package shared after it reaches the federate.
    const ordinary = await zipOf({ 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'a.kml': '<kml/>', 'x.pref': 'p' })
    await a.t.ok('uploadDataPackage', { networkId: a.networkId, name: 'after.zip', contentBase64: ordinary.toString('base64') }, a.admin)
    const atB = async (): Promise<boolean> =>
      (await b.t.ok('listDataPackages', { networkId: b.networkId }, b.admin)).some((p) => p.name === 'after.zip')
    const end = Date.now() + 15_000
    while (!(await atB()) && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
    expect(await atB()).toBe(true)
    expect((await b.t.ok('listDataPackages', { networkId: b.networkId }, b.admin)).some((p) => p.name === 'bomb.zip')).toBe(false)
  })
})
