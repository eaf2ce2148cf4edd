// Data packages inside a whole gateway: console methods (permissions, audit), devices enrolled through the contract
// using the Marti API, and local federations deciding what a device on the other network sees (DP-Out × DP-In).

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TAKAPI, APIAuthCertificate } from '@tak-ps/node-tak'
import { startGateway, type Gateway } from '../../../gateway/index.ts'
import { dispatch, type DispatchResult } from '../../../gateway/api/dispatch.ts'
import { createLogger } from '../../../gateway/log.ts'
import { packagesArea } from '../../../gateway/packages/index.ts'
import { buildFileshareEvent } from '../../../gateway/packages/fileshare.ts'
import { martiGet } from '../../support/devices.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

let gw: Gateway
let dir: string
let admin: string
let viewer: string
let outsider: string
const ids: Record<string, string> = {}
const devices: Record<string, { certPem: string; keyPem: string }> = {}

const call = (method: string, args: unknown, token: string | null): Promise<DispatchResult> =>
  dispatch(gw.services, method, args, { token, address: '127.0.0.1' })
async function ok<T = any>(method: string, args: unknown, token: string | null = admin): Promise<T> {
  const r = await call(method, args, token)
  if (!r.ok) throw new Error(`${method}: ${r.error.code} ${r.error.message}`)
  return r.result as T
}
async function login(username: string, password: string): Promise<string> {
  return (await ok<{ token: string }>('login', { username, password }, null)).token
}

async function enroll(networkId: string, callsign: string): Promise<{ certPem: string; keyPem: string }> {
  const enrolled = await ok<any>('enrollDevice', { networkId, callsign })
  const id = enrolled.device.id as string
  const record = gw.services.store.data.devices.find((d) => d.id === id)!
  return { certPem: record.certPem, keyPem: gw.services.pki.readDeviceKey(id)! }
}

const get = (pathname: string, device: { certPem: string; keyPem: string }): Promise<{ status: number; body: Buffer }> =>
  martiGet(gw.services.ports.marti, pathname, { cert: device.certPem, key: device.keyPem, ca: gw.services.pki.caCertPem })

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-pkg-gw-'))
  gw = await startGateway({
    dataDir: dir,
    env: {
      FEDGATE_ADMIN_PASSWORD: 'field-admin-pass',
      Streaming__TlsPort: '0',
      Federation__Port: '0',
      Marti__Port: '0',
      Enrollment__Port: '0',
      Marti__BindAddress: '127.0.0.1'
    },
    log: createLogger(() => {}, true)
  })
  admin = await login('admin', 'field-admin-pass')
  const org = await ok('createOrganization', { name: 'Recon', plan: 'team' })
  const other = await ok('createOrganization', { name: 'Elsewhere', plan: 'team' })
  ids.org = org.id
  ids.a = (await ok('createNetwork', { organizationId: org.id, name: 'Alpha' })).id
  ids.b = (await ok('createNetwork', { organizationId: org.id, name: 'Bravo' })).id
  // A member without grants can see the network; a member of another organization cannot.
  await ok('createUser', { username: 'viewer', password: 'viewer-pass-123', organizationId: org.id })
  await ok('createUser', { username: 'outsider', password: 'outsider-pass-123', organizationId: other.id })
  viewer = await login('viewer', 'viewer-pass-123')
  outsider = await login('outsider', 'outsider-pass-123')
  ;[devices.a, devices.b] = await Promise.all([enroll(ids.a!, 'ALPHA-1'), enroll(ids.b!, 'BRAVO-1')])
})

afterAll(async () => {
  await gw?.stop()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

describe('package methods', () => {
  it('uploads, lists, downloads and deletes through the contract, with audit lines', async () => {
    const bytes = randomBytes(4000)
    const dto = await ok('uploadDataPackage', { networkId: ids.a, name: 'ops.zip', contentBase64: bytes.toString('base64') })
    expect(dto).toMatchObject({
      networkId: ids.a,
      name: 'ops.zip',
      size: 4000,
      hash: sha(bytes),
      source: { kind: 'operator', label: 'admin' }
    })
    const list = await ok<any[]>('listDataPackages', { networkId: ids.a }, viewer)
    expect(list.map((p) => p.id)).toContain(dto.id)
    const dl = await ok('downloadDataPackage', { id: dto.id }, viewer)
    expect(Buffer.from(dl.contentBase64, 'base64').equals(bytes)).toBe(true)
    expect(dl.filename).toBe('ops.zip')

    // A device on the network sees the operator's upload.
    const api = await TAKAPI.init(
      new URL(`https://127.0.0.1:${gw.services.ports.marti}`),
      new APIAuthCertificate(devices.a!.certPem, devices.a!.keyPem)
    )
    expect((await api.Package.list({})).results.map((r) => r.Hash)).toContain(sha(bytes))

    const denied = await call('deleteDataPackage', { id: dto.id }, viewer)
    expect(denied.ok === false && denied.error.code).toBe('forbidden')
    await ok('deleteDataPackage', { id: dto.id })
    expect(await ok<any[]>('listDataPackages', { networkId: ids.a })).toHaveLength(0)
    const audit = (await gw.services.audit.page({ limit: 20 })).entries.map((e) => e.action)
    expect(audit).toContain('uploadDataPackage')
    expect(audit).toContain('deleteDataPackage')
  })

  it('keeps other organizations out and needs Manage data packages to upload', async () => {
    const list = await call('listDataPackages', { networkId: ids.a }, outsider)
    expect(list.ok === false && list.error.code).toBe('forbidden')
    const up = await call('uploadDataPackage', { networkId: ids.a, name: 'x.zip', contentBase64: 'AAAA' }, viewer)
    expect(up.ok === false && up.error.code).toBe('forbidden')
    const bad = await call('uploadDataPackage', { networkId: ids.a, name: 'x.zip', contentBase64: '!!notbase64' }, admin)
    expect(bad.ok === false && bad.error.code).toBe('invalid')
    const missing = await call('downloadDataPackage', { id: 'pkg_nope' }, admin)
    expect(missing.ok === false && missing.error.code).toBe('not_found')
  })
})

describe('packages across a local federation', () => {
  it('a device on Bravo reaches Alpha packages only with Alpha DP-Out and Bravo DP-In', async () => {
    const bytes = randomBytes(3000)
    const api = await TAKAPI.init(
      new URL(`https://127.0.0.1:${gw.services.ports.marti}`),
      new APIAuthCertificate(devices.a!.certPem, devices.a!.keyPem)
    )
    await api.Files.uploadPackage({ name: 'from-alpha.zip', creatorUid: 'ANDROID-A', hash: sha(bytes) }, bytes)
    const fed = await ok('federateWithinOrganization', { networkId: ids.a, otherNetworkId: ids.b })
    const area = packagesArea(gw.services)!
    for (const [share, accept] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true]
    ] as const) {
      await ok('updateFederationEnd', { federationId: fed.id, networkId: ids.a, sharePackages: share })
      await ok('updateFederationEnd', { federationId: fed.id, networkId: ids.b, acceptPackages: accept })
      const expected = share && accept ? 200 : 404
      expect((await get(`/Marti/sync/content?hash=${sha(bytes)}`, devices.b!)).status, `share=${share} accept=${accept}`).toBe(expected)
      expect(area.visibleNetworks(ids.b!).includes(ids.a!)).toBe(share && accept)
      // Never the other way round: Bravo's DP-Out is off.
      expect(area.visibleNetworks(ids.a!).includes(ids.b!)).toBe(false)
    }
    const last = await get(`/Marti/sync/content?hash=${sha(bytes)}`, devices.b!)
    expect(last.body.equals(bytes)).toBe(true)

    // The router reports the fileshare crossing the link; the console then shows where the package went.
    const share = buildFileshareEvent({
      sha256: sha(bytes),
      filename: 'from-alpha.zip',
      name: 'x',
      sizeInBytes: 3000,
      senderUrl: '',
      senderUid: 'A',
      senderCallsign: 'ALPHA-1'
    })
    area.onFileshareCrossedLink(share, { federationId: fed.id, from: ids.a!, to: ids.b!, cot: true, packages: true })
    await new Promise((r) => setTimeout(r, 50))
    const listed = await ok<any[]>('listDataPackages', { networkId: ids.a })
    expect(listed.find((p) => p.hash === sha(bytes))?.sharedWith).toMatchObject([{ kind: 'federation', id: fed.id, label: 'Bravo' }])
  })
})
