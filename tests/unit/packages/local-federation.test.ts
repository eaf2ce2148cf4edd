// A data package shared over a local federation (Alpha's DP-Out, Bravo's DP-In) is listed on Bravo's Data Packages tab
// too, "from network Alpha", over the same stored file (journey 6: both sides see it). Bravo's operators download and
// delete it without touching Alpha's; toggles decide what passes; what arrived stays when the federation stops; private
// packages stay off Bravo's list unless a device sent one there; Bravo's devices see each package once.

import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TAKAPI, APIAuthCertificate } from '@tak-ps/node-tak'
import type { DataPackageDto, FederationDto, Toggles } from '../../../gateway/api/contract.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { enrollIdentity, fileshareEvent, martiGet, type EnrolledIdentity } from '../../support/devices.ts'
import { DeviceClient } from '../../support/device-client.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

let t: TestGateway
let token: string
let organizationId: string
let pairs = 0
const devices: DeviceClient[] = []

interface Pair {
  alpha: { id: string; name: string }
  bravo: { id: string; name: string }
  federation: FederationDto
}

/** Two fresh networks of one organization federated with each other; Alpha's DP-Out and Bravo's DP-In as given. */
async function federatedPair(packages: { share: boolean; accept: boolean }): Promise<Pair> {
  const n = ++pairs
  const alpha = await t.ok('createNetwork', { organizationId, name: `Alpha ${n}` }, token)
  const bravo = await t.ok('createNetwork', { organizationId, name: `Bravo ${n}` }, token)
  const federation = await t.ok('federateWithinOrganization', { networkId: alpha.id, otherNetworkId: bravo.id }, token)
  const pair = { alpha: { id: alpha.id, name: alpha.name }, bravo: { id: bravo.id, name: bravo.name }, federation }
  await setToggles(pair, 'alpha', { sharePackages: packages.share })
  await setToggles(pair, 'bravo', { acceptPackages: packages.accept })
  return pair
}

async function setToggles(pair: Pair, end: 'alpha' | 'bravo', toggles: Partial<Toggles>): Promise<void> {
  await t.ok('updateFederationEnd', { federationId: pair.federation.id, networkId: pair[end].id, ...toggles }, token)
}

const list = (networkId: string): Promise<DataPackageDto[]> => t.ok('listDataPackages', { networkId }, token)
const upload = (networkId: string, name: string, bytes: Buffer): Promise<DataPackageDto> =>
  t.ok('uploadDataPackage', { networkId, name, contentBase64: bytes.toString('base64') }, token)
const download = async (id: string): Promise<Buffer> =>
  Buffer.from((await t.ok('downloadDataPackage', { id }, token)).contentBase64, 'base64')
const storedFile = (hash: string): string => path.join(t.dataDir, 'packages', hash)

/** Lets the hooks that follow a change (package stored, toggles changed) finish their store writes. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100))

async function listedOn(networkId: string, hash: string): Promise<DataPackageDto[]> {
  return (await list(networkId)).filter((p) => p.hash === hash)
}

beforeAll(async () => {
  t = await startTestGateway({ env: { Marti__BindAddress: '127.0.0.1', Streaming__BindAddress: '127.0.0.1' } })
  token = await t.loginAs('admin', t.adminPassword!)
  organizationId = (await t.ok('createOrganization', { name: '2-5 Recon', plan: 'team' }, token)).id
}, 30_000)

afterAll(async () => {
  for (const device of devices) device.socket.destroy()
  await t?.stop()
})

describe('operator uploads over a local federation', () => {
  it('an upload on Alpha is listed on Bravo, from Alpha, over the same file; Bravo downloads it', async () => {
    const pair = await federatedPair({ share: true, accept: true })
    const bytes = randomBytes(5000)
    const original = await upload(pair.alpha.id, 'ridge-route.zip', bytes)

    await settle()
    const received = await listedOn(pair.bravo.id, original.hash)
    expect(received).toHaveLength(1)
    const copy = received[0]!
    expect(copy).toMatchObject({
      networkId: pair.bravo.id,
      name: 'ridge-route.zip',
      size: 5000,
      private: false,
      source: { kind: 'federation', label: pair.alpha.name, id: pair.federation.id },
      sharedWith: []
    })
    // Bravo's own record (its operators delete it without touching Alpha's), over the same stored file.
    expect(copy.id).not.toBe(original.id)
    expect((await download(copy.id)).equals(bytes)).toBe(true)

    // Alpha's record says where it went.
    const [sent] = await listedOn(pair.alpha.id, original.hash)
    expect(sent!.source).toMatchObject({ kind: 'operator', label: 'admin' })
    expect(sent!.sharedWith).toMatchObject([{ kind: 'federation', id: pair.federation.id, label: pair.bravo.name }])
  })

  it('is listed once however often it is shared again (same bytes uploaded again, toggles changed)', async () => {
    const pair = await federatedPair({ share: true, accept: true })
    const bytes = randomBytes(3000)
    await upload(pair.alpha.id, 'plan.zip', bytes)
    await upload(pair.alpha.id, 'plan-again.zip', bytes)
    await setToggles(pair, 'bravo', { incoming: false })
    await setToggles(pair, 'bravo', { incoming: true })
    await setToggles(pair, 'alpha', { sharePackages: false })
    await setToggles(pair, 'alpha', { sharePackages: true })
    await settle()
    expect(await listedOn(pair.bravo.id, sha(bytes))).toHaveLength(1)
    const [sent] = await listedOn(pair.alpha.id, sha(bytes))
    expect(sent!.sharedWith).toHaveLength(1)
  })

  it('nothing is listed on Bravo while Alpha does not share or Bravo does not accept', async () => {
    const pair = await federatedPair({ share: false, accept: true })
    const first = randomBytes(1000)
    await upload(pair.alpha.id, 'first.zip', first)
    await settle()
    expect(await list(pair.bravo.id)).toEqual([])

    await setToggles(pair, 'bravo', { acceptPackages: false })
    await setToggles(pair, 'alpha', { sharePackages: true })
    const second = randomBytes(1000)
    await upload(pair.alpha.id, 'second.zip', second)
    await settle()
    expect(await list(pair.bravo.id)).toEqual([])
    expect((await listedOn(pair.alpha.id, sha(second)))[0]!.sharedWith).toEqual([])

    // Both on: Bravo's devices can fetch Alpha's packages now, and Bravo's list says so.
    await setToggles(pair, 'bravo', { acceptPackages: true })
    await settle()
    expect((await list(pair.bravo.id)).map((p) => p.name).sort()).toEqual(['first.zip', 'second.zip'])
  })

  it("deleting on Bravo keeps Alpha's package and the file; it does not come back when toggles change", async () => {
    const pair = await federatedPair({ share: true, accept: true })
    const bytes = randomBytes(2000)
    const original = await upload(pair.alpha.id, 'keep.zip', bytes)
    await settle()
    const [copy] = await listedOn(pair.bravo.id, original.hash)
    await t.ok('deleteDataPackage', { id: copy!.id }, token)

    expect(await listedOn(pair.bravo.id, original.hash)).toEqual([])
    expect((await listedOn(pair.alpha.id, original.hash)).map((p) => p.id)).toEqual([original.id])
    expect(fs.existsSync(storedFile(original.hash))).toBe(true)
    expect((await download(original.id)).equals(bytes)).toBe(true)

    await setToggles(pair, 'bravo', { acceptPackages: false })
    await setToggles(pair, 'bravo', { acceptPackages: true })
    await settle()
    expect(await listedOn(pair.bravo.id, original.hash)).toEqual([])
  })

  it('deleting on Alpha keeps what Bravo received, and the file until no network lists it', async () => {
    const pair = await federatedPair({ share: true, accept: true })
    const bytes = randomBytes(2000)
    const original = await upload(pair.alpha.id, 'handed-over.zip', bytes)
    await settle()
    await t.ok('deleteDataPackage', { id: original.id }, token)
    const [copy] = await listedOn(pair.bravo.id, original.hash)
    expect(copy).toBeDefined()
    expect((await download(copy!.id)).equals(bytes)).toBe(true)

    await t.ok('deleteDataPackage', { id: copy!.id }, token)
    expect(fs.existsSync(storedFile(original.hash))).toBe(false)
  })

  it('stopping the federation keeps what Bravo received; nothing more arrives', async () => {
    const pair = await federatedPair({ share: true, accept: true })
    const bytes = randomBytes(1500)
    const before = await upload(pair.alpha.id, 'before.zip', bytes)
    await settle()
    await t.ok('stopFederating', { federationId: pair.federation.id, networkId: pair.bravo.id }, token)
    const after = await upload(pair.alpha.id, 'after.zip', randomBytes(1500))
    await settle()
    const listed = await list(pair.bravo.id)
    expect(listed.map((p) => p.hash)).toEqual([before.hash])
    expect(listed[0]!.source).toMatchObject({ kind: 'federation', label: pair.alpha.name })
    expect((await download(listed[0]!.id)).equals(bytes)).toBe(true)
    expect(await listedOn(pair.bravo.id, after.hash)).toEqual([])
  })
})

describe('device uploads and fileshares over a local federation', () => {
  let pair: Pair
  let ids: Record<'alpha' | 'bravo', EnrolledIdentity>
  let alphaDevice: DeviceClient
  let bravoDevice: DeviceClient

  const marti = (pathAndQuery: string, who: EnrolledIdentity): Promise<{ status: number; body: Buffer }> =>
    martiGet(t.services.ports.marti, pathAndQuery, who)

  /** Upload as ATAK does (missionupload), with the device's certificate. */
  async function deviceUpload(bytes: Buffer, name: string): Promise<string> {
    const api = await TAKAPI.init(
      new URL(`https://127.0.0.1:${t.services.ports.marti}`),
      new APIAuthCertificate(ids.alpha.cert, ids.alpha.key)
    )
    await api.Files.uploadPackage({ name, creatorUid: 'ANDROID-alpha-1', hash: sha(bytes) }, bytes)
    return sha(bytes)
  }

  /** ATAK's `PUT /Marti/api/sync/metadata/<hash>/tool`: hide the package from the public list (or show it again). */
  function setTool(hash: string, tool: 'private' | 'public'): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: t.services.ports.marti,
          method: 'PUT',
          path: `/Marti/api/sync/metadata/${hash}/tool`,
          ca: ids.alpha.ca,
          cert: ids.alpha.cert,
          key: ids.alpha.key,
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

  async function connect(identity: EnrolledIdentity): Promise<DeviceClient> {
    const device = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
    devices.push(device)
    await device.waitFor((e) => e.type === 't-x-takp-v')
    return device
  }

  /** Waits for Bravo's device to get the fileshare for `hash`: by then the router has passed it over the link. */
  const fileshareReachedBravo = (hash: string): Promise<unknown> =>
    bravoDevice.waitFor((e) => e.type === 'b-f-t-r' && e.detailXml.includes(hash))

  beforeAll(async () => {
    pair = await federatedPair({ share: true, accept: true })
    ids = {
      alpha: await enrollIdentity(t, token, pair.alpha.id, 'ALPHA-1'),
      bravo: await enrollIdentity(t, token, pair.bravo.id, 'BRAVO-1')
    }
    alphaDevice = await connect(ids.alpha)
    bravoDevice = await connect(ids.bravo)
  }, 60_000)

  it('a mission package a device uploads and sends to everyone is listed on Bravo once, and found once by its devices', async () => {
    const bytes = randomBytes(8000)
    const hash = await deviceUpload(bytes, 'ridge-route.zip')
    alphaDevice.send(fileshareEvent(hash, bytes.length))
    await fileshareReachedBravo(hash)
    // Sent again (ATAK re-sends, a second contact): still one package on Bravo.
    alphaDevice.send(fileshareEvent(hash, bytes.length))
    alphaDevice.send(fileshareEvent(hash, bytes.length))
    await settle()

    const received = await listedOn(pair.bravo.id, hash)
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({
      name: 'ridge-route.zip',
      source: { kind: 'federation', label: pair.alpha.name, id: pair.federation.id }
    })
    expect((await download(received[0]!.id)).equals(bytes)).toBe(true)
    expect((await listedOn(pair.alpha.id, hash))[0]!.sharedWith.map((s) => s.label)).toEqual([pair.bravo.name])

    // Bravo's devices: one search result for the package (not Alpha's and Bravo's record both), and it downloads.
    const search = await marti('/Marti/sync/search?keywords=missionpackage', ids.bravo)
    const results = (JSON.parse(search.body.toString()) as { results: { Hash: string }[] }).results
    expect(results.filter((r) => r.Hash === hash)).toHaveLength(1)
    expect((await marti(`/Marti/sync/missionquery?hash=${hash}`, ids.bravo)).status).toBe(200)
    expect((await marti(`/Marti/sync/content?hash=${hash}`, ids.bravo)).body.equals(bytes)).toBe(true)
  })

  it("a package its device makes private stays off Bravo's list until a fileshare takes it to Bravo", async () => {
    // ATAK's "send to a contact": upload (public), hide it from the public list, then a fileshare to the contacts.
    const bytes = randomBytes(4000)
    const hash = await deviceUpload(bytes, 'for-chosen-contacts.zip')
    await settle()
    expect(await listedOn(pair.bravo.id, hash)).toHaveLength(1)
    expect(await setTool(hash, 'private')).toBe(200)
    await settle()
    expect(await listedOn(pair.bravo.id, hash)).toEqual([])
    expect((await listedOn(pair.alpha.id, hash))[0]).toMatchObject({ private: true, sharedWith: [] })

    // Sent to a contact on Alpha: it crosses the link but reaches nobody on Bravo.
    alphaDevice.send(fileshareEvent(hash, bytes.length, { to: 'ALPHA-2' }))
    await settle()
    expect(await listedOn(pair.bravo.id, hash)).toEqual([])

    // Sent to BRAVO-1: Bravo received it, and lists it as private (kept out of its devices' searches).
    alphaDevice.send(fileshareEvent(hash, bytes.length, { to: 'BRAVO-1' }))
    await fileshareReachedBravo(hash)
    await settle()
    const received = await listedOn(pair.bravo.id, hash)
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({ private: true, source: { kind: 'federation', label: pair.alpha.name } })
    const search = await marti('/Marti/sync/search?keywords=missionpackage', ids.bravo)
    expect((JSON.parse(search.body.toString()) as { results: { Hash: string }[] }).results.map((r) => r.Hash)).not.toContain(hash)
    expect((await marti(`/Marti/sync/content?hash=${hash}`, ids.bravo)).status).toBe(200)
  })

  it('a private package made public is listed on Bravo', async () => {
    const bytes = randomBytes(2500)
    const hash = await deviceUpload(bytes, 'later-public.zip')
    await setTool(hash, 'private')
    await settle()
    expect(await listedOn(pair.bravo.id, hash)).toEqual([])
    expect(await setTool(hash, 'public')).toBe(200)
    await settle()
    expect(await listedOn(pair.bravo.id, hash)).toMatchObject([{ private: false, source: { kind: 'federation', label: pair.alpha.name } }])
  })

  it('single hop: what Alpha received from another network is neither listed on Bravo nor found by its devices', async () => {
    const charlie = await t.ok('createNetwork', { organizationId, name: `Charlie ${++pairs}` }, token)
    const federation = await t.ok('federateWithinOrganization', { networkId: charlie.id, otherNetworkId: pair.alpha.id }, token)
    await t.ok('updateFederationEnd', { federationId: federation.id, networkId: charlie.id, sharePackages: true }, token)
    await t.ok('updateFederationEnd', { federationId: federation.id, networkId: pair.alpha.id, acceptPackages: true }, token)
    const bytes = randomBytes(1200)
    const hash = sha(bytes)
    await upload(charlie.id, 'from-charlie.zip', bytes)
    await settle()

    expect(await listedOn(pair.alpha.id, hash)).toMatchObject([{ source: { kind: 'federation', label: charlie.name } }])
    expect(await listedOn(pair.bravo.id, hash)).toEqual([])
    const search = await marti('/Marti/sync/search?keywords=missionpackage', ids.bravo)
    expect((JSON.parse(search.body.toString()) as { results: { Hash: string }[] }).results.map((r) => r.Hash)).not.toContain(hash)
    expect((await marti(`/Marti/sync/missionquery?hash=${hash}`, ids.bravo)).status).toBe(404)
    expect((await marti(`/Marti/sync/content?hash=${hash}`, ids.bravo)).status).toBe(404)
  })
})
