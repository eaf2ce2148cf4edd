// Hardening item 9: a device's data-package upload (POST /Marti/sync/missionupload over mutual TLS, as ATAK sends
// it) cut at ~20 random offsets, in the request head, in the multipart preamble and inside the file. After each cut
// nothing is visible (missionquery, search, listDataPackages), no temp file remains, and a full retry then succeeds
// and downloads byte-identical.

import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import { zipOf } from '../../support/zip.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enrollIdentity, martiGet, type EnrolledIdentity } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

const CUTS = 20
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Deterministic offsets (a fixed-seed LCG): a failure names a cut that the next run repeats. */
function cutPoints(total: number, count: number, seed = 20261126): number[] {
  let state = seed
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state / 2 ** 31
  }
  return Array.from({ length: count }, () => 1 + Math.floor(next() * (total - 1)))
}

function packageOf(bytes: number): Promise<Buffer> {
  return zipOf(
    { 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"></MissionPackageManifest>', 'payload.bin': randomBytes(bytes) },
    { compress: false }
  )
}

describe('interrupted data-package uploads', () => {
  let t: TestGateway
  let admin = ''
  let networkId = ''
  let phone: EnrolledIdentity
  let content: Buffer
  let request: Buffer
  /** Where the file's bytes end inside `request` (the closing boundary follows). */
  let fileEnd = 0

  const tls_ = (): tls.ConnectionOptions => ({
    host: '127.0.0.1',
    port: t.services.ports.marti,
    cert: phone.cert,
    key: phone.key,
    ca: phone.ca,
    servername: 'localhost'
  })

  const get = (pathAndQuery: string): Promise<{ status: number; body: Buffer }> => martiGet(t.services.ports.marti, pathAndQuery, phone)

  /** Write the first `length` bytes of the upload, then drop the connection. */
  function cutUpload(length: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect(tls_(), () => {
        socket.write(request.subarray(0, length), () => {
          // Let the bytes reach the gateway before the connection goes away.
          setTimeout(() => socket.destroy(), 10)
        })
      })
      socket.on('error', reject)
      socket.on('close', () => resolve())
    })
  }

  async function fullUpload(): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      // Written, not ended: the request says Connection: close, so the gateway closes after its answer.
      const socket = tls.connect(tls_(), () => socket.write(request))
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('error', reject)
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('latin1')
        const [head = '', body = ''] = text.split('\r\n\r\n')
        resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), body })
      })
    })
  }

  async function nothingVisible(): Promise<void> {
    const hash = sha(content)
    expect((await get(`/Marti/sync/missionquery?hash=${hash}`)).status).toBe(404)
    const searched = await get('/Marti/sync/search?keywords=missionpackage')
    const search = JSON.parse(searched.body.toString()) as { resultCount: number; results: unknown[] }
    expect(search.results).toEqual([])
    expect(await t.ok('listDataPackages', { networkId }, admin)).toEqual([])
    expect(t.services.store.data.dataPackages).toEqual([])
  }

  const tempDir = (): string => path.join(t.dataDir, 'packages', 'tmp')
  const tempFiles = (): string[] => fs.readdirSync(tempDir())

  beforeAll(async () => {
    t = await startTestGateway()
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Uploads', plan: 'team' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
    phone = await enrollIdentity(t, admin, networkId, 'UPLOADER')
    content = await packageOf(256 * 1024)
    const boundary = `----fedgate${randomBytes(8).toString('hex')}`
    const preamble = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="assetfile"; filename="ops.zip"\r\n` +
        'Content-Type: application/x-zip-compressed\r\n\r\n'
    )
    const closing = Buffer.from(`\r\n--${boundary}--\r\n`)
    const body = Buffer.concat([preamble, content, closing])
    const head = Buffer.from(
      `POST /Marti/sync/missionupload?hash=${sha(content)}&filename=ops.zip&creatorUid=UPLOADER-UID HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${t.services.ports.marti}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`
    )
    request = Buffer.concat([head, body])
    fileEnd = head.length + preamble.length + content.length
  })

  afterAll(async () => {
    await t?.stop()
  })

  it(`leaves nothing behind after ${CUTS} cuts at random offsets, then accepts a full retry byte for byte`, async () => {
    await nothingVisible()
    // Cuts anywhere before the file's last byte: in the head, the part headers and the file itself.
    const cuts = cutPoints(fileEnd, CUTS).sort((x, y) => x - y)
    expect(cuts.some((c) => c > fileEnd / 2)).toBe(true)
    for (const cut of cuts) {
      await cutUpload(cut)
      // The temp file goes as soon as the gateway sees the connection close.
      const deadline = Date.now() + 2000
      while (tempFiles().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect({ cut, temp: tempFiles() }).toEqual({ cut, temp: [] })
      await nothingVisible()
    }
    // Nothing in the packages directory but the (empty) temp dir.
    expect(fs.readdirSync(path.join(t.dataDir, 'packages'))).toEqual(['tmp'])

    const retry = await fullUpload()
    expect(retry.status).toBe(200)
    expect(retry.body).toContain(sha(content))
    const listed = await t.ok('listDataPackages', { networkId }, admin)
    expect(listed).toHaveLength(1)
    expect(listed[0]!.hash).toBe(sha(content))
    const download = await get(`/Marti/sync/content?hash=${sha(content)}`)
    expect(download.status).toBe(200)
    expect(download.body.equals(content)).toBe(true)
    expect(tempFiles()).toEqual([])
  })
})
