// The Marti API against a real TAK client (@tak-ps/node-tak TAKAPI) over mutual TLS with certificates from our CA:
// upload, query, search, download byte-identical, iTAK upload, refusals, interrupted uploads, network scoping.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import https from 'node:https'
import tls from 'node:tls'
import { TAKAPI, APIAuthCertificate } from '@tak-ps/node-tak'
import { Store } from '../../../gateway/store/store.ts'
import { PackageStore } from '../../../gateway/packages/store.ts'
import { startMartiServer, type DeviceIdentity, type MartiServer } from '../../../gateway/packages/marti.ts'
import { testPki, type TestPki } from '../../support/pki.ts'
import type { IssuedCertificate } from '../../../gateway/pki/certificates.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

let pki: TestPki
let dir: string
let store: Store
let packages: PackageStore
let server: MartiServer
let maxBytes = 2 * 1024 * 1024
let alpha: IssuedCertificate
let bravo: IssuedCertificate
let charlie: IssuedCertificate
/** net_a ← net_c: packages of net_c are visible on net_a (net_c shares, net_a accepts); net_b is alone. */
const visibility: Record<string, string[]> = { net_a: ['net_c'], net_b: [], net_c: [] }
const identities = new Map<string, DeviceIdentity>()

beforeAll(async () => {
  pki = await testPki()
  ;[alpha, bravo, charlie] = await Promise.all([pki.device('ALPHA-1'), pki.device('BRAVO-1'), pki.device('CHARLIE-1')])
  identities.set(alpha.fingerprint, { deviceId: 'dev_alpha', networkId: 'net_a', callsign: 'ALPHA-1' })
  identities.set(bravo.fingerprint, { deviceId: 'dev_bravo', networkId: 'net_b', callsign: 'BRAVO-1' })
  identities.set(charlie.fingerprint, { deviceId: 'dev_charlie', networkId: 'net_c', callsign: 'CHARLIE-1' })
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-marti-'))
  store = await Store.open({ dir, debounceMs: 1 })
  packages = new PackageStore({ dataDir: dir, store, maxBytes: () => maxBytes })
  server = await startMartiServer({
    port: 0,
    host: '127.0.0.1',
    tls: { key: pki.pki.server.keyPem, cert: pki.pki.server.certPem, ca: pki.pki.caCertPem },
    authorize: (cert) => identities.get(cert.fingerprint256) ?? null,
    packages,
    visibleNetworks: (id) => visibility[id] ?? []
  })
})

afterAll(async () => {
  await server?.close()
  await store?.close()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
  pki?.cleanup()
})

beforeEach(() => {
  maxBytes = 2 * 1024 * 1024
})

const base = (): URL => new URL(`https://127.0.0.1:${server.port}`)
const apiFor = (c: IssuedCertificate): Promise<TAKAPI> => TAKAPI.init(base(), new APIAuthCertificate(c.certPem, c.keyPem))

async function readAll(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(Buffer.from(c))
  return Buffer.concat(chunks)
}

/** A plain HTTPS request with a client certificate (or none), answering status, headers and body. */
function request(
  pathname: string,
  opts: { method?: string; cert?: IssuedCertificate | null; headers?: Record<string, string | number>; body?: Buffer } = {}
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const cert = opts.cert === undefined ? alpha : opts.cert
    const req = https.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: pathname,
        method: opts.method ?? 'GET',
        ca: pki.pki.caCertPem,
        cert: cert?.certPem,
        key: cert?.keyPem,
        servername: 'localhost',
        headers: opts.headers,
        agent: false
      },
      (res) => {
        readAll(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject)
      }
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

async function waitFor(check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('Marti API with TAKAPI (a real TAK client)', () => {
  it('uploads, queries, searches and downloads byte-identical bytes', async () => {
    const api = await apiFor(alpha)
    const bytes = randomBytes(300_000)
    const hash = sha(bytes)
    const url = (await api.Files.uploadPackage({ name: 'route plan.zip', creatorUid: 'ANDROID-alpha', hash }, bytes)) as unknown as string
    expect(url).toBe(`https://127.0.0.1:${server.port}/Marti/sync/content?hash=${hash}`)

    const query = await request(`/Marti/sync/missionquery?hash=${hash}`)
    expect(query.status).toBe(200)
    expect(query.body.toString()).toBe(url)

    const list = await api.Package.list({})
    expect(list.resultCount).toBe(1)
    expect(list.results[0]).toMatchObject({
      Name: 'route plan.zip',
      Hash: hash,
      Size: String(bytes.length),
      Tool: 'public',
      SubmissionUser: 'ALPHA-1'
    })
    // The uploader's CoT uid, as its upload named it (not our internal device id).
    expect(list.results[0]).toMatchObject({ CreatorUid: 'ANDROID-alpha' })
    // ATAK reads PrimaryKey with getInt: digits only, within an int.
    const primaryKey = (list.results[0] as { PrimaryKey: string }).PrimaryKey
    expect(primaryKey).toMatch(/^\d+$/)
    expect(Number(primaryKey)).toBeLessThanOrEqual(2 ** 31 - 1)

    const downloaded = await readAll(await api.Files.download(hash))
    expect(downloaded.equals(bytes)).toBe(true)
    expect(packages.byHash('net_a', hash)?.source).toEqual({ kind: 'device', label: 'ALPHA-1', id: 'dev_alpha' })
  })

  it('accepts the iTAK upload path (raw body on /Marti/sync/upload) and answers JSON metadata', async () => {
    const api = await apiFor(alpha)
    const bytes = randomBytes(10_000)
    const meta = (await api.Files.upload(
      {
        name: 'itak.zip',
        keywords: ['missionpackage'],
        creatorUid: 'IOS-alpha',
        contentLength: bytes.length,
        contentType: 'application/zip'
      },
      bytes
    )) as Record<string, unknown>
    expect(meta).toMatchObject({ Name: 'itak.zip', Hash: sha(bytes), MIMEType: 'application/zip', Size: String(bytes.length) })
    expect((await readAll(await api.Files.download(sha(bytes)))).equals(bytes)).toBe(true)
  })

  it('answers a hash mismatch with 4xx and stores nothing', async () => {
    const api = await apiFor(alpha)
    const bytes = randomBytes(5000)
    const err = (await api.Files.uploadPackage({ name: 'bad.zip', creatorUid: 'x', hash: 'e'.repeat(64) }, bytes).catch(
      (e: unknown) => e
    )) as {
      status?: number
    }
    expect(err.status).toBeGreaterThanOrEqual(400)
    expect(err.status).toBeLessThan(500)
    expect(packages.all().some((p) => p.hash === sha(bytes) || p.hash === 'e'.repeat(64))).toBe(false)
    expect((await request(`/Marti/sync/missionquery?hash=${sha(bytes)}`)).status).toBe(404)
    await waitFor(async () => (await packages.tempFiles()).length === 0)
  })

  it('answers an oversized upload with 413 and stores nothing', async () => {
    maxBytes = 50_000
    const bytes = randomBytes(120_000)
    const api = await apiFor(alpha)
    const err = (await api.Files.uploadPackage({ name: 'big.zip', creatorUid: 'x', hash: sha(bytes) }, bytes).catch((e: unknown) => e)) as {
      status?: number
    }
    expect(err.status).toBe(413)
    // Declared length over the limit is refused before any byte is read.
    const raw = await request('/Marti/sync/upload?name=big.zip', {
      method: 'POST',
      body: bytes,
      headers: { 'content-type': 'application/zip' }
    })
    expect(raw.status).toBe(413)
    expect(packages.all().some((p) => p.hash === sha(bytes))).toBe(false)
    await waitFor(async () => (await packages.tempFiles()).length === 0)
  })

  it('leaves nothing visible when the device drops the connection half way through an upload', async () => {
    const bytes = randomBytes(400_000)
    const hash = sha(bytes)
    const boundary = '----fedgate-test-boundary'
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="assetfile"; filename="half.zip"\r\nContent-Type: application/zip\r\n\r\n`
    )
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
    const socket = tls.connect({
      host: '127.0.0.1',
      port: server.port,
      cert: alpha.certPem,
      key: alpha.keyPem,
      ca: pki.pki.caCertPem,
      servername: 'localhost'
    })
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject))
    socket.on('error', () => {})
    socket.write(
      `POST /Marti/sync/missionupload?hash=${hash}&filename=half.zip HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + bytes.length + tail.length}\r\n\r\n`
    )
    socket.write(head)
    socket.write(bytes.subarray(0, 200_000))
    await waitFor(async () => (await packages.tempFiles()).length === 1)
    socket.destroy()
    await waitFor(async () => (await packages.tempFiles()).length === 0)
    expect(packages.all().some((p) => p.hash === hash)).toBe(false)
    expect((await request(`/Marti/sync/missionquery?hash=${hash}`)).status).toBe(404)
  })

  it('leaves nothing when an iTAK raw-body upload is cut off', async () => {
    const bytes = randomBytes(300_000)
    const socket = tls.connect({
      host: '127.0.0.1',
      port: server.port,
      cert: alpha.certPem,
      key: alpha.keyPem,
      ca: pki.pki.caCertPem,
      servername: 'localhost'
    })
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject))
    socket.on('error', () => {})
    socket.write(
      `POST /Marti/sync/upload?name=cut.zip&keywords=missionpackage&CreatorUid=IOS-1 HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Content-Type: application/zip\r\nContent-Length: ${bytes.length}\r\n\r\n`
    )
    socket.write(bytes.subarray(0, 150_000))
    await waitFor(async () => (await packages.tempFiles()).length === 1)
    socket.destroy()
    await waitFor(async () => (await packages.tempFiles()).length === 0)
    expect(packages.all().some((p) => p.name === 'cut.zip')).toBe(false)
  })

  it('refuses a request without a client certificate and one from an unenrolled certificate', async () => {
    const noCert = await request('/Marti/api/version', { cert: null }).then(
      (r) => r.status,
      () => 'refused'
    )
    expect(noCert).toBe('refused')
    const stranger = await pki.device('STRANGER')
    expect((await request('/Marti/api/version', { cert: stranger })).status).toBe(403)
  })

  it('serves version, version/config, HEAD and ranges', async () => {
    expect((await request('/Marti/api/version')).status).toBe(200)
    const config = JSON.parse((await request('/Marti/api/version/config')).body.toString()) as Record<string, unknown>
    expect(config).toMatchObject({ version: '3', type: 'ServerConfig', data: { api: '3', hostname: '127.0.0.1' } })
    // Device profiles ATAK asks for on connect and per tool: none to push, which is 204 (an error would be logged on the phone).
    const profile = await request('/Marti/api/device/profile/connection?syncSecago=-1&clientUid=ANDROID-1')
    expect(profile.status).toBe(204)
    expect(profile.body.length).toBe(0)
    expect((await request('/Marti/api/device/profile/tool/vns?clientUid=ANDROID-1')).status).toBe(204)
    expect((await request('/Marti/api/device/profile/other')).status).toBe(404)

    const bytes = randomBytes(1000)
    const rec = await packages.ingestBuffer(bytes, {
      networkId: 'net_a',
      name: 'r.zip',
      source: { kind: 'operator', label: 'op', id: null }
    })
    const head = await request(`/Marti/sync/content?hash=${rec.hash}`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe('1000')
    expect(head.body.length).toBe(0)
    const part = await request(`/Marti/sync/content?hash=${rec.hash}`, { headers: { Range: 'bytes=100-199' } })
    expect(part.status).toBe(206)
    expect(part.headers['content-range']).toBe('bytes 100-199/1000')
    expect(part.body.equals(bytes.subarray(100, 200))).toBe(true)
    const suffix = await request(`/Marti/sync/content?hash=${rec.hash}`, { headers: { Range: 'bytes=-10' } })
    expect(suffix.body.equals(bytes.subarray(990))).toBe(true)
    const offset = await request(`/Marti/sync/content?hash=${rec.hash}&offset=995&length=100`)
    expect(offset.body.equals(bytes.subarray(995))).toBe(true)
    expect((await request(`/Marti/sync/content?hash=${rec.hash}`, { headers: { Range: 'bytes=5000-' } })).status).toBe(416)
    // Older TAK Server URLs name the package by its hash in `uid`; our own UID (the search result's) works too.
    expect((await request(`/Marti/sync/content?uid=${rec.hash.toUpperCase()}`)).body.equals(bytes)).toBe(true)
    expect((await request(`/Marti/sync/content?uid=${rec.id}`)).body.equals(bytes)).toBe(true)
    expect((await request(`/Marti/sync/content?uid=${'f'.repeat(64)}`)).status).toBe(404)
  })

  it('scopes by network: own packages, plus those federated to it; private ones only by hash', async () => {
    const cBytes = randomBytes(2000)
    const cRec = await packages.ingestBuffer(cBytes, {
      networkId: 'net_c',
      name: 'from-c.zip',
      source: { kind: 'device', label: 'CHARLIE-1', id: 'dev_charlie' }
    })
    const names = async (c: IssuedCertificate): Promise<string[]> => (await (await apiFor(c)).Package.list({})).results.map((r) => r.Name)
    expect(await names(alpha)).toContain('from-c.zip')
    expect(await names(bravo)).not.toContain('from-c.zip')
    expect((await request(`/Marti/sync/content?hash=${cRec.hash}`, { cert: bravo })).status).toBe(404)
    expect((await request(`/Marti/sync/missionquery?hash=${cRec.hash}`, { cert: bravo })).status).toBe(404)
    expect((await request(`/Marti/sync/content?hash=${cRec.hash}`, { cert: alpha })).body.equals(cBytes)).toBe(true)

    // "Send via server": upload, then mark private; it leaves every listing but stays reachable by hash.
    const put = await request(`/Marti/api/sync/metadata/${cRec.hash}/tool`, { method: 'PUT', cert: charlie, body: Buffer.from('private') })
    expect(put.status).toBe(200)
    expect(await names(charlie)).not.toContain('from-c.zip')
    expect(await names(alpha)).not.toContain('from-c.zip')
    expect((await request(`/Marti/sync/content?hash=${cRec.hash}`, { cert: alpha })).status).toBe(200)
    // Another network cannot change its visibility.
    expect(
      (await request(`/Marti/api/sync/metadata/${cRec.hash}/tool`, { method: 'PUT', cert: alpha, body: Buffer.from('public') })).status
    ).toBe(404)
  })

  it('refuses a non-multipart missionupload and a multipart without assetfile', async () => {
    expect((await request('/Marti/sync/missionupload?filename=x', { method: 'POST', body: Buffer.from('x') })).status).toBe(400)
    const boundary = 'b0undary'
    const body = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="other"\r\n\r\nvalue\r\n--${boundary}--\r\n`)
    const r = await request('/Marti/sync/missionupload?filename=x', {
      method: 'POST',
      body,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }
    })
    expect(r.status).toBe(400)
    expect(r.body.toString()).toMatch(/assetfile/)
  })
})
