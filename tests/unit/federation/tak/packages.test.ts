// Packages with external TAK Servers over ROL (DP-Out / DP-In, blocked extensions, request/disperse, malformed input)
// and the fileshare CoT helpers the router uses (parse, senderUrl rewrite, TAK-style fileshare events).

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { built, parsed } from '../../../support/rol.ts'
import { zipOf } from '../../../support/zip.ts'
import { Store } from '../../../../gateway/store/store.ts'
import type { ExternalPeerRecord } from '../../../../gateway/store/schema.ts'
import type { CotEvent } from '../../../../gateway/cot/event.ts'
import { PackageStore } from '../../../../gateway/packages/store.ts'
import { PackageFederation } from '../../../../gateway/federation/tak/packages.ts'
import { buildFileshareEvent, parseFileshare, rewriteSenderUrl } from '../../../../gateway/packages/fileshare.ts'
import { createResourceRol, requestPackageRol, type RolMessage } from '../../../../gateway/federation/tak/rol.ts'
import { listEntries } from '../../../../gateway/packages/zip.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const device = { kind: 'device' as const, label: 'ALPHA-1', id: 'dev_1' }

let dir: string
let store: Store
let packages: PackageStore
let federation: PackageFederation
let delivered: { networkId: string; event: CotEvent }[]
let peer: ExternalPeerRecord

async function setPeer(toggles: Partial<ExternalPeerRecord>): Promise<void> {
  await store.update((doc) => {
    const p = doc.externalPeers.find((x) => x.id === peer.id)!
    Object.assign(p, toggles)
  })
  peer = store.data.externalPeers.find((x) => x.id === peer.id)!
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-pkgfed-'))
  store = await Store.open({ dir, debounceMs: 1 })
  packages = new PackageStore({ dataDir: dir, store, maxBytes: () => 1_000_000 })
  delivered = []
  federation = new PackageFederation({
    packages,
    store,
    blockedExtensions: () => ['pref'],
    maxRolBytes: () => 1_000_000,
    martiPort: () => 8443,
    defaultHost: () => 'gw.example',
    deliverToNetwork: (networkId, event) => delivered.push({ networkId, event })
  })
  peer = {
    id: 'peer_1',
    networkId: 'net_a',
    fingerprint: 'AA',
    displayName: 'TAK HQ',
    incoming: true,
    outgoing: true,
    acceptPackages: false,
    sharePackages: false,
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

describe('fileshares to our devices', () => {
  it("point at our Marti API only for a package we hold; another keeps the sender's URL", async () => {
    const bytes = randomBytes(500)
    const rec = await packages.ingestBuffer(bytes, { networkId: 'net_a', name: 'held.zip', source: device })
    const share = (sha256: string): CotEvent =>
      buildFileshareEvent({
        sha256,
        filename: 'f.zip',
        name: 'f',
        sizeInBytes: 500,
        senderUrl: 'http://192.0.2.44:8080/getfile?hash=x',
        senderUid: 'A',
        senderCallsign: 'ALPHA-1'
      })
    const held = federation.fileshareForReceiver(share(rec.hash), '10.9.8.7')
    expect(parseFileshare(held)?.senderUrl).toBe(`https://10.9.8.7:8443/Marti/sync/content?hash=${rec.hash}`)
    const elsewhere = share('e'.repeat(64))
    expect(federation.fileshareForReceiver(elsewhere, '10.9.8.7')).toBe(elsewhere)
  })
})

describe('DP-Out to a TAK Server', () => {
  it('creates device uploads on the peer with their bytes only when DP-Out is on, once', async () => {
    const bytes = randomBytes(2000)
    const rec = await packages.ingestBuffer(bytes, { networkId: 'net_a', name: 'a.zip', source: device, creatorUid: 'ANDROID-A' })
    await packages.ingestBuffer(randomBytes(100), { networkId: 'net_b', name: 'other-net.zip', source: device })
    await packages.ingestBuffer(randomBytes(100), {
      networkId: 'net_a',
      name: 'from-peer.zip',
      source: { kind: 'peer', label: 'X', id: 'peer_2' }
    })

    expect(federation.packagesToFederate(peer)).toEqual([])
    await setPeer({ sharePackages: true })
    const out = federation.packagesToFederate(peer)
    expect(out.map((o) => o.sharesPackage)).toEqual([rec.id])
    const msg = parsed((await built(out))[0]!)
    expect(msg.kind).toBe('createResource')
    if (msg.kind !== 'createResource') return
    expect(msg.meta).toMatchObject({
      hash: rec.hash,
      name: 'a.zip',
      size: 2000,
      tool: 'public',
      submitter: 'ALPHA-1',
      creatorUid: 'ANDROID-A'
    })
    expect(msg.bytes?.equals(bytes)).toBe(true)

    await federation.markSharedWithPeer(rec.id, peer)
    expect(federation.packagesToFederate(peer)).toEqual([])
    expect(packages.byId(rec.id)?.sharedWith).toMatchObject([{ kind: 'peer', id: 'peer_1', label: 'TAK HQ' }])
  })

  it('strips blocked extensions from the zip and never sends a blocked file itself', async () => {
    await setPeer({ sharePackages: true })
    const zip = await zipOf({ 'MANIFEST/manifest.xml': '<m/>', 'prefs/device.pref': 'secret', 'map.kml': '<kml/>' })
    await packages.ingestBuffer(zip, { networkId: 'net_a', name: 'mission.zip', source: device })
    await packages.ingestBuffer(Buffer.from('x'), { networkId: 'net_a', name: 'settings.PREF', source: device })
    const out = await built(federation.packagesToFederate(peer))
    expect(out).toHaveLength(1)
    const msg = parsed(out[0]!)
    if (msg.kind !== 'createResource') throw new Error('expected create resource')
    expect((await listEntries(msg.bytes!)).map((e) => e.name)).toEqual(['MANIFEST/manifest.xml', 'map.kml'])
    expect(msg.meta.hash).toBe(sha(msg.bytes!))
    expect(msg.meta.hash).not.toBe(sha(zip))
  })

  it('after a restart still announces and serves a stripped package under the hash the peer knows', async () => {
    await setPeer({ sharePackages: true })
    const zip = await zipOf({ 'MANIFEST/manifest.xml': '<m/>', 'prefs/device.pref': 'secret', 'map.kml': '<kml/>' })
    const rec = await packages.ingestBuffer(zip, { networkId: 'net_a', name: 'mission.zip', source: device })
    const created = parsed((await built(federation.packagesToFederate(peer)))[0]!)
    if (created.kind !== 'createResource') throw new Error('expected create resource')
    await federation.markSharedWithPeer(rec.id, peer)
    const strippedHash = created.meta.hash
    // A new process: nothing cached, the package already shared with the peer.
    const restarted = new PackageFederation({
      packages,
      store,
      blockedExtensions: () => ['pref'],
      maxRolBytes: () => 1_000_000,
      martiPort: () => 8443,
      defaultHost: () => 'gw',
      deliverToNetwork: () => {}
    })
    const [reply] = await built(await restarted.onPeerRol(peer.id, 'net_a', requestPackageRol(strippedHash)))
    const dispersed = parsed(reply!)
    expect(dispersed.kind === 'dispersePackage' && dispersed.details.sha256).toBe(strippedHash)
    expect(dispersed.kind === 'dispersePackage' && sha(dispersed.bytes!)).toBe(strippedHash)
    const again = new PackageFederation({
      packages,
      store,
      blockedExtensions: () => ['pref'],
      maxRolBytes: () => 1_000_000,
      martiPort: () => 8443,
      defaultHost: () => 'gw',
      deliverToNetwork: () => {}
    })
    const fileshare = buildFileshareEvent({
      sha256: rec.hash,
      filename: 'mission.zip',
      name: 'mission',
      sizeInBytes: zip.length,
      senderUrl: '',
      senderUid: 'ANDROID-A',
      senderCallsign: 'ALPHA-1',
      dest: { callsigns: [], uids: [] }
    })
    const announced = (await built(again.fileshareToPeer(fileshare, peer))).map(parsed)
    expect(announced.map((m) => m.kind)).toEqual(['announcePackage'])
    expect(announced[0]).toMatchObject({ details: { sha256: strippedHash } })
  })

  it('attaches no bytes above the size limit', async () => {
    await setPeer({ sharePackages: true })
    const small = new PackageFederation({
      packages,
      store,
      blockedExtensions: () => [],
      maxRolBytes: () => 500,
      martiPort: () => 8443,
      defaultHost: () => 'gw',
      deliverToNetwork: () => {}
    })
    await packages.ingestBuffer(randomBytes(600), { networkId: 'net_a', name: 'big.zip', source: device })
    const msg = parsed((await built(small.packagesToFederate(peer)))[0]!)
    expect(msg.kind === 'createResource' && msg.bytes).toBe(null)
  })

  it('turns a fileshare CoT into create resource + announce package (with its destinations), nothing with DP-Out off', async () => {
    const bytes = randomBytes(1500)
    const rec = await packages.ingestBuffer(bytes, { networkId: 'net_a', name: 'send.zip', source: device })
    await packages.setPrivate(rec.id, true)
    const fileshare = buildFileshareEvent({
      sha256: rec.hash,
      filename: 'send.zip',
      name: 'send',
      sizeInBytes: 1500,
      senderUrl: 'https://10.0.0.5:8443/Marti/sync/content?hash=' + rec.hash,
      senderUid: 'ANDROID-A',
      senderCallsign: 'ALPHA-1',
      dest: { callsigns: ['HQ-OPS'], uids: [] }
    })
    expect(federation.fileshareToPeer(fileshare, peer)).toEqual([])
    await setPeer({ sharePackages: true })
    const items = federation.fileshareToPeer(fileshare, peer)
    // Only the create resource records the package as shared, and only once it has gone (the link calls this).
    expect(items.map((i) => i.sharesPackage)).toEqual([rec.id, null])
    const first = (await built(items)).map(parsed)
    expect(first.map((m) => m.kind)).toEqual(['createResource', 'announcePackage'])
    expect(first[0]!.kind === 'createResource' && first[0]!.meta.tool).toBe('private')
    expect(first[1]).toMatchObject({ details: { sha256: rec.hash, senderCallsign: 'ALPHA-1', dest: { callsigns: ['HQ-OPS'], uids: [] } } })
    // Not yet marked shared (the create has not gone): a second fileshare would create it again.
    expect(federation.fileshareToPeer(fileshare, peer).map((i) => i.sharesPackage)).toEqual([rec.id, null])
    await federation.markSharedWithPeer(rec.id, peer)
    // The bytes went once; a second fileshare of the same package only announces.
    expect((await built(federation.fileshareToPeer(fileshare, peer))).map((m) => parsed(m).kind)).toEqual(['announcePackage'])
  })

  it('answers request package with disperse package and the bytes, only with DP-Out', async () => {
    const bytes = randomBytes(800)
    await packages.ingestBuffer(bytes, { networkId: 'net_a', name: 'r.zip', source: device })
    expect(await federation.onPeerRol(peer.id, 'net_a', requestPackageRol(sha(bytes)))).toEqual([])
    await setPeer({ sharePackages: true })
    const [pending] = await federation.onPeerRol(peer.id, 'net_a', requestPackageRol(sha(bytes)))
    const msg = parsed((await built([pending!]))[0]!)
    expect(msg.kind === 'dispersePackage' && msg.bytes?.equals(bytes)).toBe(true)
    // Asked again: the same key, so a link with the answer still waiting does not read the package a second time.
    const [again] = await federation.onPeerRol(peer.id, 'net_a', requestPackageRol(sha(bytes)))
    expect(again!.key).toBe(pending!.key)
  })

  it('reads nothing until a message is built, and builds nothing for a package removed meanwhile', async () => {
    await setPeer({ sharePackages: true })
    const rec = await packages.ingestBuffer(randomBytes(700), { networkId: 'net_a', name: 'gone.zip', source: device })
    const reads: string[] = []
    const readBytes = packages.readBytes.bind(packages)
    packages.readBytes = async (record) => {
      reads.push(record.id)
      return readBytes(record)
    }
    const pending = federation.packagesToFederate(peer)
    expect(pending).toHaveLength(1)
    expect(reads).toEqual([])
    await packages.remove(rec.id, { name: 'op' })
    expect(await pending[0]!.build()).toBe(null)
    expect(reads).toEqual([])
  })
})

describe('DP-In from a TAK Server', () => {
  const incoming = (bytes: Buffer, tool = 'public'): RolMessage =>
    createResourceRol(
      {
        hash: sha(bytes),
        name: 'hq.zip',
        filename: 'hq.zip',
        mimeType: 'application/zip',
        keywords: ['missionpackage'],
        submissionTime: '',
        submitter: 'hq-user',
        uid: 'u1',
        creatorUid: 'c1',
        size: bytes.length,
        tool
      },
      bytes
    )

  it('stores a package the peer creates only with DP-In, attributed to the peer; announces it only when the peer does', async () => {
    const bytes = randomBytes(1200)
    expect(await federation.onPeerRol(peer.id, 'net_a', incoming(bytes))).toEqual([])
    expect(packages.all()).toHaveLength(0)
    expect(delivered).toHaveLength(0)

    await setPeer({ acceptPackages: true })
    await federation.onPeerRol(peer.id, 'net_a', incoming(bytes))
    const rec = packages.byHash('net_a', sha(bytes))!
    expect(rec).toMatchObject({
      name: 'hq.zip',
      size: 1200,
      mimeType: 'application/zip',
      source: { kind: 'peer', label: 'TAK HQ', id: 'peer_1' },
      creatorUid: 'c1'
    })
    expect(fs.readFileSync(packages.filePath(rec.hash)).equals(bytes)).toBe(true)
    // TAK federates every Enterprise Sync upload as `create resource`; its clients hear of one only through the
    // `announce package` a fileshare becomes (spec §5.3), once.
    expect(delivered).toHaveLength(0)
    const { announcePackageRol } = await import('../../../../gateway/federation/tak/rol.ts')
    const details = {
      sha256: rec.hash,
      name: 'hq',
      filename: 'hq.zip',
      senderUrl: '',
      sizeInBytes: 1200,
      senderCallsign: 'HQ-1',
      dest: { callsigns: [], uids: [] },
      tsStored: 1
    }
    expect(await federation.onPeerRol(peer.id, 'net_a', announcePackageRol(details))).toEqual([])
    expect(delivered).toHaveLength(1)
    const share = parseFileshare(delivered[0]!.event)
    expect(delivered[0]!.networkId).toBe('net_a')
    expect(share).toMatchObject({
      sha256: rec.hash,
      senderUrl: `https://gw.example:8443/Marti/sync/content?hash=${rec.hash}`,
      sizeInBytes: 1200
    })
    // Never sent back out: single hop.
    await setPeer({ sharePackages: true })
    expect(federation.packagesToFederate(peer)).toEqual([])
  })

  it('refuses bytes that do not match the announced hash', async () => {
    await setPeer({ acceptPackages: true })
    const msg = incoming(randomBytes(100))
    msg.payload = [{ data: randomBytes(100) }]
    await federation.onPeerRol(peer.id, 'net_a', msg)
    expect(packages.all()).toHaveLength(0)
    expect(await packages.tempFiles()).toEqual([])
  })

  it('announce without bytes asks for them, then announces to the named recipients when they arrive', async () => {
    await setPeer({ acceptPackages: true })
    const bytes = randomBytes(300)
    const details = {
      sha256: sha(bytes),
      name: 'p',
      filename: 'p.zip',
      senderUrl: '',
      sizeInBytes: 300,
      senderCallsign: 'HQ',
      dest: { callsigns: ['ALPHA-1'], uids: [] },
      tsStored: 1
    }
    const { announcePackageRol, dispersePackageRol } = await import('../../../../gateway/federation/tak/rol.ts')
    const replies = await built(await federation.onPeerRol(peer.id, 'net_a', announcePackageRol(details)))
    expect(replies.map((r) => parsed(r))).toEqual([{ kind: 'requestPackage', sha256: sha(bytes) }])
    expect(delivered).toHaveLength(0)
    await federation.onPeerRol(peer.id, 'net_a', dispersePackageRol(details, bytes))
    expect(delivered).toHaveLength(1)
    expect(delivered[0]!.event.dest).toEqual({ callsigns: ['ALPHA-1'], uids: [] })
    expect(delivered[0]!.event.xml.toString()).not.toContain('<marti>')
  })

  it('an announced package whose bytes never come is logged once, naming the peer and the file', async () => {
    await setPeer({ acceptPackages: true })
    const warnings: string[] = []
    const log = { info() {}, warn: (m: string) => warnings.push(m), error() {} }
    const patient = new PackageFederation({
      packages,
      store,
      blockedExtensions: () => [],
      maxRolBytes: () => 1_000_000,
      martiPort: () => 8443,
      defaultHost: () => 'gw.example',
      deliverToNetwork: () => {},
      awaitBytesWarnMs: 50,
      log
    })
    const { announcePackageRol, dispersePackageRol } = await import('../../../../gateway/federation/tak/rol.ts')
    const details = (bytes: Buffer, filename: string) => ({
      sha256: sha(bytes),
      name: 'p',
      filename,
      senderUrl: '',
      sizeInBytes: bytes.length,
      senderCallsign: 'HQ',
      dest: { callsigns: [], uids: [] },
      tsStored: 1
    })
    const never = randomBytes(100)
    const later = randomBytes(100)
    await patient.onPeerRol(peer.id, 'net_a', announcePackageRol(details(never, 'never.zip')))
    await patient.onPeerRol(peer.id, 'net_a', announcePackageRol(details(later, 'later.zip')))
    await patient.onPeerRol(peer.id, 'net_a', dispersePackageRol(details(later, 'later.zip'), later))
    await new Promise((r) => setTimeout(r, 150))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`announced data package "never.zip" (${sha(never).slice(0, 12)}`)
    expect(warnings[0]).toContain("peer '")
  })

  it('counts malformed ROL and never throws', async () => {
    await setPeer({ acceptPackages: true })
    for (const program of ['garbage', 'create resource\n{"hash":"nothex","name":"x"};', 'create resource\n{;', 42]) {
      await expect(federation.onPeerRol(peer.id, 'net_a', { program, payload: 'not a list' })).resolves.toEqual([])
    }
    expect(federation.malformedRol.get('peer_1')).toBe(4)
    expect(await federation.onPeerRol('peer_unknown', 'net_a', { program: 'garbage' })).toEqual([])
    expect(await federation.onPeerRol(peer.id, 'net_a', { program: 'create mission\n{"name":"m"};' })).toEqual([])
  })
})

describe('fileshare CoT', () => {
  const atakFileshare = (hash: string): CotEvent => {
    const detailXml =
      `<detail><fileshare filename="plan &amp; route.zip" senderUrl="https://192.168.1.20:8443/Marti/sync/content?hash=${hash}" ` +
      `sizeInBytes="1234" sha256="${hash.toUpperCase()}" senderUid="ANDROID-A" senderCallsign="ALPHA-1" name="plan"/>` +
      `<ackrequest uid="x" ackrequested="true" tag="plan"/></detail>`
    const xml = `<event version="2.0" uid="u1" type="b-f-t-r" how="h-e" time="t" start="t" stale="t"><point lat="0" lon="0" hae="0" ce="0" le="0"/>${detailXml}</event>`
    return {
      uid: 'u1',
      type: 'b-f-t-r',
      how: 'h-e',
      time: 't',
      start: 't',
      stale: 't',
      point: { lat: 0, lon: 0, hae: 0, ce: 0, le: 0 },
      detailXml,
      callsign: null,
      dest: { callsigns: [], uids: [] },
      xml: Buffer.from(xml)
    }
  }

  it('reads the fileshare attributes (entities decoded, hash lower-cased)', () => {
    const hash = 'c'.repeat(64)
    expect(parseFileshare(atakFileshare(hash))).toEqual({
      sha256: hash,
      filename: 'plan & route.zip',
      name: 'plan',
      senderUrl: `https://192.168.1.20:8443/Marti/sync/content?hash=${hash}`,
      sizeInBytes: 1234,
      senderUid: 'ANDROID-A',
      senderCallsign: 'ALPHA-1'
    })
    expect(parseFileshare({ ...atakFileshare(hash), type: 'a-f-G' })).toBe(null)
  })

  it('points senderUrl at our Marti API on the receiving device address, in detail and bytes alike', () => {
    const hash = 'd'.repeat(64)
    const rewritten = rewriteSenderUrl(atakFileshare(hash), '10.9.8.7', 18443)
    const url = `https://10.9.8.7:18443/Marti/sync/content?hash=${hash}`
    expect(parseFileshare(rewritten)?.senderUrl).toBe(url)
    expect(rewritten.xml.toString()).toContain(`senderUrl="${url}"`)
    expect(rewritten.xml.toString()).toContain('<ackrequest uid="x"')
    expect(rewriteSenderUrl(rewritten, '10.9.8.7', 18443)).toBe(rewritten)
    expect(parseFileshare(rewriteSenderUrl(atakFileshare(hash), '::1', 8443))?.senderUrl).toBe(
      `https://[::1]:8443/Marti/sync/content?hash=${hash}`
    )
  })

  it('builds a TAK-style fileshare event', () => {
    const hash = 'e'.repeat(64)
    const event = buildFileshareEvent({
      sha256: hash,
      filename: 'a"b.zip',
      name: 'a',
      sizeInBytes: 5,
      senderUrl: 'https://h:1/x',
      senderUid: 's',
      senderCallsign: 'S',
      now: new Date(0)
    })
    expect(event).toMatchObject({ uid: hash, type: 'b-f-t-r', how: 'h-e', stale: new Date(100_000).toISOString() })
    expect(event.xml.toString()).toContain('filename="a&quot;b.zip"')
    expect(parseFileshare(event)?.filename).toBe('a"b.zip')
  })
})
