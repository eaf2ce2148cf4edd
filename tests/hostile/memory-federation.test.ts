// Issue 22, memory on the federation port. (1) A registered TAK federate announced contacts with uids and callsigns of
// hundreds of KiB: the session kept 50,000 of them whatever their size. They are now charged to the gateway-wide byte
// budget (Memory:CacheBytes, small here), oldest first out, and direct messages still reach the newest. (2) Anyone
// who reaches the port can show a fresh certificate on every connection, with a subject of tens of KiB: the list of
// refused certificates keeps the newest few (an option here, 200 by default) with their text cut short. (3) A federate
// announced packages it never sent, each with destinations of hundreds of KiB: the last 1,000 were kept, whatever their
// size, until their bytes came; they are now charged to the same budget. (4) A device's fileshares to a federate that
// does not read its data-package stream each waited with the whole event, 10,000 per link whatever their size; what
// waits is now bounded by bytes too (MAX_ROL_WAITING_BYTES), holding only the announcement's own fields.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTakFederation, takFederationArea, type TakFederation } from '../../gateway/federation/tak/index.ts'
import { MAX_REJECTED_TEXT } from '../../gateway/federation/tak/rejected.ts'
import { MAX_ROL_WAITING_BYTES } from '../../gateway/federation/tak/rol-flow.ts'
import { packagesArea } from '../../gateway/packages/index.ts'
import { announcePackageRol } from '../../gateway/federation/tak/rol.ts'
import { DeviceClient } from '../support/device-client.ts'
import { directMessage, enrollIdentity, pli, until } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { leafCertificate, probeTls, throwawayCa } from '../support/hardening-certs.ts'
import { zipOf } from '../support/zip.ts'
import { testPki, type TestPki } from '../support/pki.ts'
import { TakFederate } from '../support/tak-federate.ts'

const CACHE_BYTES = 2 * 1_048_576
/** Per contact ~600 KiB as charged (two bytes a character): 3 fit in the budget, 24 are sent. */
const UID_CHARS = 200 * 1024
const CALLSIGN_CHARS = 100 * 1024
const CONTACTS = 24
/** Per announcement ~400 KiB as charged: two destination uids of 100 KiB each. */
const DEST_UID_CHARS = 100 * 1024
const ANNOUNCEMENTS = 24
/** A fileshare naming one destination of 300 KiB (~600 KiB as held): 40 of them are 24 MiB. */
const DEST_CALLSIGN_CHARS = 300 * 1024
const FILESHARES = 40
const MAX_REJECTED = 4
const STRANGERS = 10

describe('hostile input on the TAK federation port', () => {
  let t: TestGateway
  let fed: TakFederation
  let tak: TestPki
  let admin = ''
  let networkId = ''
  let peerId = ''
  let federate: TakFederate | null = null
  let phone: DeviceClient | null = null

  beforeAll(async () => {
    t = await startTestGateway({
      env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-a', Memory__CacheBytes: String(CACHE_BYTES) }
    })
    await takFederationArea(t.services)!.stop()
    fed = await startTakFederation(t.services, {
      router: t.services.router!,
      pki: t.services.pki,
      host: '127.0.0.1',
      port: 0,
      maxRejected: MAX_REJECTED
    })
    tak = await testPki({ freshCa: true, hostname: 'tak-alpha.test', federateId: 'tak-alpha' })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)).id
    const fingerprint = tak.pki.federation!.fingerprint.replace(/:/g, '').toLowerCase()
    peerId = (await t.ok('addExternalPeer', { networkId, fingerprint, displayName: 'TAK Alpha' }, admin)).id
  }, 60_000)

  afterAll(async () => {
    federate?.close()
    await phone?.close()
    await fed?.stop()
    await t?.stop()
    tak?.cleanup()
  })

  it("keeps a federate's huge contacts within the byte budget, oldest first out, and direct messages reach the newest", async () => {
    federate = new TakFederate({
      port: fed.port,
      ca: t.services.pki.caCertPem,
      key: tak.pki.federation!.keyPem,
      certChain: `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
      name: 'tak-alpha-out',
      healthIntervalMs: 300
    }).start()
    await federate.serving()
    await until(() => fed.sessionsOf(peerId).length === 1, 5000, 'the session')
    const session = fed.sessionsOf(peerId)[0]!

    const uid = (i: number): string => `${String(i).padStart(3, '0')}-${'u'.repeat(UID_CHARS)}`
    const callsign = (i: number): string => `HQ-${i}-${'c'.repeat(CALLSIGN_CHARS)}`
    for (let i = 0; i < CONTACTS; i++)
      federate.send({ contact: { operation: 'CREATE', uid: uid(i), callsign: callsign(i), phone: '', sip: '', directConnect: '' } })
    await until(() => session.remoteContacts.has(uid(CONTACTS - 1)), 20_000, 'the last contact known')

    // What the session holds, counted from the contacts it still knows (not from the budget's own figure).
    const held = Array.from({ length: CONTACTS }, (_, i) => i).filter((i) => session.remoteContacts.has(uid(i)))
    expect(held.length).toBeLessThan(CONTACTS)
    expect(held.length * 2 * (UID_CHARS + CALLSIGN_CHARS)).toBeLessThanOrEqual(CACHE_BYTES)
    expect(held).toContain(CONTACTS - 1)
    expect(held).not.toContain(0)
    expect(t.services.router!.cacheBudget.bytes).toBeLessThanOrEqual(CACHE_BYTES)
    expect(t.services.health().dropsByReason['cache.evicted']).toBeGreaterThan(0)

    // The newest contact still routes: a device's direct message to its callsign goes to the federate.
    const identity = await enrollIdentity(t, admin, networkId, 'BLUE-1')
    phone = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
    phone.send(pli('BLUE-1-UID', 'BLUE-1'))
    phone.send(directMessage('GeoChat.BLUE-1.to-newest', callsign(CONTACTS - 1), 'to the newest'))
    await federate.waitForEvent((m) => m.event?.uid === 'GeoChat.BLUE-1.to-newest', 10_000)
  })

  it('keeps announcements of packages whose bytes never came within the byte budget, oldest first out', async () => {
    await t.ok('updateExternalPeer', { id: peerId, acceptPackages: true }, admin)
    const area = packagesArea(t.services)!
    const hash = (i: number): string => i.toString(16).padStart(64, 'a')
    const dest = (i: number): string[] => [`${i}-${'d'.repeat(DEST_UID_CHARS)}`, `${i}-${'e'.repeat(DEST_UID_CHARS)}`]
    for (let i = 0; i < ANNOUNCEMENTS; i++) {
      const rol = announcePackageRol({
        sha256: hash(i),
        name: `never-${i}`,
        filename: `never-${i}.zip`,
        senderUrl: '',
        sizeInBytes: 1000,
        senderCallsign: 'HQ',
        dest: { callsigns: [], uids: dest(i) },
        tsStored: null
      })
      federate!.sendRol({ program: rol.program, payload: [] })
    }
    // Each announcement is answered with a request for its bytes (which never come): the last one was handled.
    await federate!.waitUntil(
      () => federate!.rolReceived.some((r) => r.program.includes(hash(ANNOUNCEMENTS - 1))),
      20_000,
      'the last request'
    )

    const perAnnouncement = 2 * 2 * (DEST_UID_CHARS + 4)
    expect(area.federation.awaitingAnnouncements).toBeGreaterThan(0)
    expect(area.federation.awaitingAnnouncements).toBeLessThan(ANNOUNCEMENTS)
    expect(area.federation.awaitingAnnouncements * perAnnouncement).toBeLessThanOrEqual(CACHE_BYTES)
    expect(t.services.router!.cacheBudget.bytes).toBeLessThanOrEqual(CACHE_BYTES)
  })

  it('bounds by bytes the fileshares waiting for a federate that does not read its data-package stream', async () => {
    await t.ok('updateExternalPeer', { id: peerId, sharePackages: true }, admin)
    const zip = await zipOf({ 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'a.kml': '<kml/>' })
    const hash = (await t.ok('uploadDataPackage', { networkId, name: 'shared.zip', contentBase64: zip.toString('base64') }, admin)).hash
    // A TAK Server that sends no HealthCheck never opens the stream our data-package messages go out on.
    federate!.close()
    federate = new TakFederate({
      port: fed.port,
      ca: t.services.pki.caCertPem,
      key: tak.pki.federation!.keyPem,
      certChain: `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
      name: 'tak-alpha-out',
      healthIntervalMs: 0
    }).start()
    await federate.serving()
    await until(() => fed.sessionsOf(peerId).length === 1 && !fed.sessionsOf(peerId)[0]!.isEnded, 5000, 'the new session')
    const session = fed.sessionsOf(peerId)[0]!
    const before = session.rolBacklog().messages

    // A mission destination reaches every federate; the callsign beside it is what makes the event large.
    const big = 'd'.repeat(DEST_CALLSIGN_CHARS)
    for (let i = 0; i < FILESHARES; i++) {
      const now = new Date()
      const stale = new Date(now.getTime() + 100_000)
      phone!.send(
        `<event version="2.0" uid="fs-${i}" type="b-f-t-r" how="h-e" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
          `<point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/><detail>` +
          `<fileshare filename="shared.zip" senderUrl="https://10.9.8.7:8443/Marti/sync/content?hash=${hash}" sizeInBytes="${zip.length}" ` +
          `sha256="${hash}" senderUid="BLUE-1-UID" senderCallsign="BLUE-1" name="shared"/>` +
          `<marti><dest callsign="${i}-${big}" mission="ops"/></marti></detail></event>`
      )
    }
    await until(
      () => session.rolBacklog().messages - before + session.dropped.full >= FILESHARES,
      20_000,
      'every fileshare queued or refused'
    )

    const waiting = session.rolBacklog().messages - before
    expect(waiting * 2 * DEST_CALLSIGN_CHARS).toBeLessThanOrEqual(MAX_ROL_WAITING_BYTES)
    expect(session.dropped.full).toBeGreaterThan(0)
    expect(session.rolBacklog().bytes).toBeLessThanOrEqual(MAX_ROL_WAITING_BYTES)
  })

  it('keeps the newest refused certificates, each with its text cut short, whatever a stranger presents', async () => {
    const ca = throwawayCa('Stranger CA')
    const fingerprints: string[] = []
    for (let i = 0; i < STRANGERS; i++) {
      // A subject of ~30 KiB: an organizational unit no TAK Server has, but nothing forbids.
      const leaf = leafCertificate(ca, `stranger-${i}-${'s'.repeat(30_000)}`, -1, 10)
      fingerprints.push(leaf.fingerprint)
      const probe = await probeTls({ port: fed.port, cert: leaf.chainPem, key: leaf.keyPem, alpn: ['h2'], waitMs: 3000 })
      expect(probe.closed).toBe(true)
    }
    const newest = fingerprints[STRANGERS - 1]!
    await until(() => fed.rejected().some((r) => r.fingerprint === newest), 5000, 'the last stranger listed')

    const rejected = fed.rejected()
    expect(rejected.length).toBe(MAX_REJECTED)
    expect(rejected.map((r) => r.fingerprint)).toEqual(fingerprints.slice(-MAX_REJECTED).reverse())
    for (const r of rejected) expect(r.subject.length).toBeLessThanOrEqual(MAX_REJECTED_TEXT)
    expect(rejected[0]!.subject).toContain(`stranger-${STRANGERS - 1}-`)
    // One warning for the first stranger; the rest are summed up once a minute, not a line each.
    expect(t.logs.filter((l) => l.includes('refused a certificate that no peer is registered with')).length).toBe(1)
  })
})
