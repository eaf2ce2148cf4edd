// The package store on real files: hashing, dedupe per network, limits, failed uploads leaving nothing behind,
// deletion with audit, and zip handling in memory (blocked extensions, zip-slip names).

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { zipOf } from '../../support/zip.ts'
import { Store } from '../../../gateway/store/store.ts'
import { AuditLog } from '../../../gateway/audit/audit.ts'
import { EventBus } from '../../../gateway/events.ts'
import { PackageStore, PackageUploadError, displayName } from '../../../gateway/packages/store.ts'
import { isUnsafeEntryName, listEntries, readManifest, stripBlockedEntries } from '../../../gateway/packages/zip.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const device = { kind: 'device' as const, label: 'ALPHA-1', id: 'dev_1' }

let dir: string
let store: Store
let audit: AuditLog
let packages: PackageStore
let maxBytes = 1024 * 1024

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-pkgstore-'))
  store = await Store.open({ dir, debounceMs: 1 })
  audit = new AuditLog(path.join(dir, 'audit.ndjson'), new EventBus())
  maxBytes = 1024 * 1024
  packages = new PackageStore({ dataDir: dir, store, maxBytes: () => maxBytes, audit })
})

afterEach(async () => {
  audit.close()
  await store.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('PackageStore', () => {
  it('stores bytes under their SHA-256 and indexes them in db.json', async () => {
    const bytes = Buffer.from('a mission package')
    const rec = await packages.ingestBuffer(bytes, {
      networkId: 'net_a',
      name: '../../etc/passwd',
      source: device,
      expectedHash: sha(bytes)
    })
    expect(rec.hash).toBe(sha(bytes))
    expect(rec.size).toBe(bytes.length)
    expect(rec.name).toBe('passwd')
    expect(fs.readFileSync(path.join(dir, 'packages', rec.hash))).toEqual(bytes)
    await store.flush()
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'db.json'), 'utf8')) as { dataPackages: { id: string }[] }
    expect(onDisk.dataPackages.map((p) => p.id)).toEqual([rec.id])
    expect(fs.readdirSync(path.join(dir, 'packages')).sort()).toEqual([rec.hash, 'tmp'].sort())
  })

  it('dedupes by hash per network, not across networks', async () => {
    const bytes = Buffer.from('same bytes')
    const a1 = await packages.ingestBuffer(bytes, { networkId: 'net_a', name: 'x.zip', source: device })
    const a2 = await packages.ingestBuffer(bytes, { networkId: 'net_a', name: 'y.zip', source: device })
    const b1 = await packages.ingestBuffer(bytes, { networkId: 'net_b', name: 'x.zip', source: device })
    expect(a2.id).toBe(a1.id)
    expect(b1.id).not.toBe(a1.id)
    expect(packages.all()).toHaveLength(2)
    expect(await packages.tempFiles()).toEqual([])
  })

  it('refuses a hash mismatch: nothing visible, no file, no temp file', async () => {
    const bytes = Buffer.from('real bytes')
    await expect(
      packages.ingestBuffer(bytes, { networkId: 'net_a', name: 'x.zip', source: device, expectedHash: 'f'.repeat(64) })
    ).rejects.toMatchObject({
      reason: 'hash_mismatch'
    })
    expect(packages.all()).toHaveLength(0)
    expect(fs.existsSync(path.join(dir, 'packages', sha(bytes)))).toBe(false)
    expect(await packages.tempFiles()).toEqual([])
  })

  it('refuses a package over the limit as soon as it passes it', async () => {
    maxBytes = 1000
    const err = await packages
      .ingestBuffer(Buffer.alloc(1001), { networkId: 'net_a', name: 'big.zip', source: device })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PackageUploadError)
    expect((err as PackageUploadError).status).toBe(413)
    expect(packages.all()).toHaveLength(0)
    expect(await packages.tempFiles()).toEqual([])
    const ok = await packages.ingestBuffer(Buffer.alloc(1000), { networkId: 'net_a', name: 'fits.zip', source: device })
    expect(ok.size).toBe(1000)
  })

  it('leaves nothing when the input stream breaks half way', async () => {
    const input = new PassThrough()
    const pending = packages.ingest(input, { networkId: 'net_a', name: 'x.zip', source: device })
    input.write(Buffer.alloc(5000, 1))
    await new Promise((r) => setTimeout(r, 20))
    expect(await packages.tempFiles()).toHaveLength(1)
    input.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))
    await expect(pending).rejects.toMatchObject({ reason: 'aborted' })
    expect(packages.all()).toHaveLength(0)
    expect(await packages.tempFiles()).toEqual([])
  })

  it('refuses an empty upload and a malformed announced hash', async () => {
    await expect(packages.ingest(Readable.from([]), { networkId: 'n', name: 'e', source: device })).rejects.toMatchObject({
      reason: 'empty'
    })
    await expect(
      packages.ingestBuffer(Buffer.from('x'), { networkId: 'n', name: 'e', source: device, expectedHash: '../x' })
    ).rejects.toMatchObject({
      reason: 'invalid'
    })
  })

  it('deletes with an audit line and removes the file only when no network refers to it', async () => {
    const bytes = Buffer.from('shared')
    const a = await packages.ingestBuffer(bytes, { networkId: 'net_a', name: 'x.zip', source: device })
    const b = await packages.ingestBuffer(bytes, { networkId: 'net_b', name: 'x.zip', source: device })
    await packages.remove(a.id, { name: 'alice', organizationId: 'org_1' })
    expect(fs.existsSync(packages.filePath(a.hash))).toBe(true)
    await packages.remove(b.id, { name: 'alice' })
    expect(fs.existsSync(packages.filePath(a.hash))).toBe(false)
    const lines = fs
      .readFileSync(path.join(dir, 'audit.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ actor: 'alice', action: 'deleteDataPackage', target: 'x.zip', organizationId: 'org_1' })
    expect(await packages.remove('pkg_missing', { name: 'alice' })).toBe(null)
  })

  it('records shares once per target and toggles privacy', async () => {
    const rec = await packages.ingestBuffer(Buffer.from('p'), { networkId: 'net_a', name: 'x.zip', source: device })
    await packages.recordShare(rec.id, { kind: 'peer', id: 'peer_1', label: 'TAK HQ' })
    await packages.recordShare(rec.id, { kind: 'peer', id: 'peer_1', label: 'TAK HQ' })
    await packages.setPrivate(rec.id, true)
    expect(packages.byId(rec.id)).toMatchObject({ private: true, sharedWith: [{ kind: 'peer', id: 'peer_1', label: 'TAK HQ' }] })
  })

  it('cleans temp files a crash left behind', async () => {
    fs.writeFileSync(path.join(dir, 'packages', 'tmp', 'stale.part'), 'x')
    expect(await packages.cleanTemp()).toBe(1)
    expect(await packages.tempFiles()).toEqual([])
  })

  it('never builds a path from anything but a hash', () => {
    expect(() => packages.filePath('../../db.json')).toThrow()
    expect(displayName('C:\\Users\\x\\evil".zip')).toBe('evil.zip')
    expect(displayName('..')).toBe('package.zip')
  })

  it('keeps out of a shown name what hides or reorders text, keeping every script', () => {
    expect(displayName('Invoice\u202Efdp.exe.zip')).toBe('Invoicefdp.exe.zip')
    expect(displayName('route\u2028plan.zip')).toBe('routeplan.zip')
    expect(displayName('a\u0085b\u200Bc\u2066.zip')).toBe('abc.zip')
    expect(displayName('\u202E')).toBe('package.zip')
    expect(displayName('خطة المسار.zip')).toBe('خطة المسار.zip')
  })
})

describe('zip handling (in memory)', () => {
  it('strips blocked extensions and keeps the rest byte-identical', async () => {
    const zip = await zipOf({
      'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>',
      'a/settings.pref': 'secret',
      'a/map.kml': '<kml/>'
    })
    const { bytes, removed } = await stripBlockedEntries(zip, ['pref'], 1_000_000)
    expect(removed).toEqual(['a/settings.pref'])
    expect((await listEntries(bytes)).map((e) => e.name)).toEqual(['MANIFEST/manifest.xml', 'a/map.kml'])
    expect(await readManifest(bytes)).toBe('<MissionPackageManifest version="2"/>')
  })

  it('returns the original bytes when nothing is blocked or the file is not a zip', async () => {
    const zip = await zipOf({ 'a.kml': 'k' })
    expect((await stripBlockedEntries(zip, ['pref'], 1_000_000)).bytes).toBe(zip)
    const plain = Buffer.from('not a zip')
    expect((await stripBlockedEntries(plain, ['pref'], 1_000_000)).bytes).toBe(plain)
    expect(await readManifest(plain)).toBe(null)
  })

  it('refuses to expand a zip beyond the limit (zip bomb)', async () => {
    const zip = await zipOf({ 'big.kml': 'a'.repeat(200_000), 'x.pref': 'p' })
    await expect(stripBlockedEntries(zip, ['pref'], 100_000)).rejects.toThrow(/would expand to/)
  })

  it('recognises zip-slip entry names', () => {
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', '\\x', 'C:/x', 'a\\..\\x']) expect(isUnsafeEntryName(bad)).toBe(true)
    for (const good of ['a/b.kml', 'MANIFEST/manifest.xml', 'a..b/c']) expect(isUnsafeEntryName(good)).toBe(false)
  })
})
