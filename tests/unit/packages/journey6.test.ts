// Journey 6 with real devices end to end: a device on Alpha uploads a mission package through the Marti API (node-tak)
// and sends the fileshare to everyone over its streaming connection. Bravo (same organization, Alpha shares packages,
// Bravo accepts them) gets the fileshare pointing at our Marti API and downloads the same bytes with its own
// certificate; the partner organization's Charlie (federated by code, its end does not accept packages) sees Alpha's
// positions but never the fileshare nor the bytes. The package record tells where it came from and where it went.

import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { TAKAPI, APIAuthCertificate } from '@tak-ps/node-tak'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { enrollIdentity, fileshareEvent, martiGet, pli, type EnrolledIdentity } from '../../support/devices.ts'
import { DeviceClient } from '../../support/device-client.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

let t: TestGateway
let token: string
const net: Record<string, string> = {}
const ids: Record<string, EnrolledIdentity> = {}
const devices: DeviceClient[] = []

const marti = (pathAndQuery: string, who: EnrolledIdentity): Promise<{ status: number; body: Buffer }> =>
  martiGet(t.services.ports.marti, pathAndQuery, who)

async function connect(identity: EnrolledIdentity, servername?: string | null): Promise<DeviceClient> {
  const device = await DeviceClient.connect({
    port: t.services.ports.streaming,
    cert: identity.cert,
    key: identity.key,
    ca: identity.ca,
    servername
  })
  devices.push(device)
  await device.waitFor((e) => e.type === 't-x-takp-v')
  return device
}

beforeAll(async () => {
  t = await startTestGateway({ env: { Marti__BindAddress: '127.0.0.1', Streaming__BindAddress: '127.0.0.1' } })
  token = await t.loginAs('admin', t.adminPassword!)
  const recon = await t.ok('createOrganization', { name: '2-5 Recon', plan: 'team' }, token)
  const partner = await t.ok('createOrganization', { name: 'Partner', plan: 'team' }, token)
  net.alpha = (await t.ok('createNetwork', { organizationId: recon.id, name: 'Alpha' }, token)).id
  net.bravo = (await t.ok('createNetwork', { organizationId: recon.id, name: 'Bravo' }, token)).id
  net.charlie = (await t.ok('createNetwork', { organizationId: partner.id, name: 'Charlie' }, token)).id

  const within = await t.ok('federateWithinOrganization', { networkId: net.alpha, otherNetworkId: net.bravo }, token)
  await t.ok('updateFederationEnd', { federationId: within.id, networkId: net.alpha, sharePackages: true }, token)
  await t.ok('updateFederationEnd', { federationId: within.id, networkId: net.bravo, acceptPackages: true }, token)
  const code = await t.ok('generateFederationCode', { networkId: net.alpha }, token)
  const across = await t.ok('redeemFederationCode', { networkId: net.charlie, code: code.code, acceptPackages: false }, token)
  // Alpha shares with the partner too: only the partner's own end keeps the package out.
  await t.ok('updateFederationEnd', { federationId: across.id, networkId: net.alpha, sharePackages: true }, token)

  ids.alpha = await enrollIdentity(t, token, net.alpha, 'ALPHA-1')
  ids.bravo = await enrollIdentity(t, token, net.bravo, 'BRAVO-1')
  ids.charlie = await enrollIdentity(t, token, net.charlie, 'CHARLIE-1')
}, 60_000)

afterAll(async () => {
  for (const device of devices) device.socket.destroy()
  await t?.stop()
})

it('a mission package from a device on Alpha reaches Bravo, not the partner that does not accept packages', async () => {
  const [alpha, bravo, charlie] = [await connect(ids.alpha!), await connect(ids.bravo!), await connect(ids.charlie!)]
  // A second phone on Bravo that dials the laptop's IP address (no SNI).
  const bravoByAddress = await connect(ids.bravo!, null)
  const bytes = randomBytes(48_000)
  const hash = sha(bytes)
  const api = await TAKAPI.init(
    new URL(`https://127.0.0.1:${t.services.ports.marti}`),
    new APIAuthCertificate(ids.alpha!.cert, ids.alpha!.key)
  )
  await api.Files.uploadPackage({ name: 'ridge-route.zip', creatorUid: 'ANDROID-alpha-1', hash }, bytes)

  alpha.send(fileshareEvent(hash, bytes.length, { name: 'ridge-route', ackTag: 'ridge-route' }))
  // A position after the fileshare: once Charlie has it, the fileshare would have arrived before it if it were routed.
  alpha.send(pli('ANDROID-alpha-1', 'ALPHA-1'))

  const share = await bravo.waitFor((e) => e.type === 'b-f-t-r')
  const senderUrl = /senderUrl="([^"]+)"/.exec(share.detailXml)?.[1]?.replace(/&amp;/g, '&')
  // The host Bravo's phone dialed (its TLS SNI, 'localhost' here), so its certificate check passes there too.
  expect(senderUrl).toBe(`https://localhost:${t.services.ports.marti}/Marti/sync/content?hash=${hash}`)
  const byAddress = await bravoByAddress.waitFor((e) => e.type === 'b-f-t-r')
  expect(/senderUrl="([^"]+)"/.exec(byAddress.detailXml)?.[1]?.replace(/&amp;/g, '&')).toBe(
    `https://127.0.0.1:${t.services.ports.marti}/Marti/sync/content?hash=${hash}`
  )
  const fetched = await marti(new URL(senderUrl!).pathname + new URL(senderUrl!).search, ids.bravo!)
  expect(fetched.status).toBe(200)
  expect(fetched.body.equals(bytes)).toBe(true)

  await charlie.waitFor((e) => e.uid === 'ANDROID-alpha-1')
  expect(charlie.events.filter((e) => e.type === 'b-f-t-r')).toEqual([])
  expect((await marti(`/Marti/sync/content?hash=${hash}`, ids.charlie!)).status).toBe(404)

  // Where it came from and where it went (the Data Packages tab shows these fields).
  const listed = await t.ok('listDataPackages', { networkId: net.alpha }, token)
  const record = listed.find((p) => p.hash === hash)!
  expect(record.source).toMatchObject({ kind: 'device', label: 'ALPHA-1' })
  expect(record.sharedWith.map((s) => s.label)).toEqual(['Bravo'])
})
