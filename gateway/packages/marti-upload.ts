// Data packages a device uploads to the Marti API (sync/missionupload from ATAK, sync/upload from iTAK): streamed into
// the store as they arrive, multipart or raw, refused early when certainly too large, abandoned when the device drops.

import type http from 'node:http'
import type { Readable } from 'node:stream'
import busboy from 'busboy'
import type { DataPackageRecord } from '../store/schema.ts'
import * as web from '../net/http.ts'
import type { DeviceIdentity, MartiServerOptions } from './marti-options.ts'
import { searchItem } from './marti-answers.ts'
import { PackageUploadError, SHA256_HEX } from './store.ts'

/** Multipart framing adds a little; anything beyond this slack over the package limit is certainly too large. */
const MULTIPART_SLACK_BYTES = 64 * 1024
/** How long a refused upload is still read and discarded, so the device sees the answer instead of a reset. */
export const DRAIN_MS = 2000

export interface UploadContext {
  options: MartiServerOptions
  contentUrl(req: http.IncomingMessage, hash: string): string
}

export async function receiveUpload(
  ctx: UploadContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  device: DeviceIdentity,
  q: URLSearchParams,
  kind: 'missionupload' | 'upload'
): Promise<void> {
  const { options } = ctx
  const maxBytes = options.packages.maxBytes
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (Number.isFinite(declared) && declared > maxBytes + MULTIPART_SLACK_BYTES) {
    return refuseBody(req, res, 413, `The data package is larger than the limit of ${maxBytes} bytes.`)
  }
  const hashParam = q.get('hash')
  const expectedHash = hashParam ? hashParam.toLowerCase() : null
  if (expectedHash !== null && !SHA256_HEX.test(expectedHash))
    return refuseBody(req, res, 400, 'The hash parameter must be a SHA-256 in hexadecimal.')
  const contentType = String(req.headers['content-type'] ?? '')
  const multipart = /^multipart\/form-data/i.test(contentType)
  if (kind === 'missionupload' && !multipart) return refuseBody(req, res, 400, 'Expected a multipart/form-data upload.')

  const meta = uploadMeta(device, q, expectedHash)
  const abort = new AbortController()
  req.on('close', () => {
    if (!req.complete) abort.abort()
  })

  let record: DataPackageRecord
  try {
    if (multipart) {
      record = await ingestMultipart(req, abort.signal, (file, mime) =>
        options.packages.ingest(file, { ...meta, mimeType: q.get('mimetype') ?? q.get('MIME') ?? mime })
      )
    } else {
      const mime = q.get('MIME') ?? q.get('mimetype') ?? contentType.split(';')[0]
      record = await ingestAbortable(req, abort.signal, (body) => options.packages.ingest(body, { ...meta, mimeType: mime }))
    }
  } catch (err) {
    if (err instanceof PackageUploadError) {
      if (err.reason === 'aborted' || abort.signal.aborted) return
      options.log?.info(`Marti API: upload from ${device.callsign} refused: ${err.message}`)
      return refuseBody(req, res, err.status, err.message)
    }
    throw err
  }
  if (kind === 'missionupload') return web.sendText(res, 200, ctx.contentUrl(req, record.hash))
  web.sendJson(res, 200, searchItem(record), {}, 'text/json')
}

/** What the store records about an upload, from the device and the query its client sends. */
function uploadMeta(device: DeviceIdentity, q: URLSearchParams, expectedHash: string | null) {
  const name = q.get('filename') ?? q.get('name') ?? q.get('Name') ?? 'package.zip'
  const tool = (q.get('tool') ?? q.get('Tool') ?? 'public').toLowerCase()
  // The device's CoT uid, as ATAK (missionupload) and iTAK (sync/upload) name it; kept only when it looks like one.
  const creatorUid = q.get('creatorUid') ?? q.get('CreatorUid')
  return {
    networkId: device.networkId,
    name,
    expectedHash,
    source: { kind: 'device' as const, label: device.callsign, id: device.deviceId },
    creatorUid: creatorUid && /^[\x21-\x7e]{1,200}$/.test(creatorUid) ? creatorUid : null,
    private: tool === 'private'
  }
}

/** Feed the first `assetfile` (or browser `resource`) part to `ingest`; other parts are skipped. */
function ingestMultipart(
  req: http.IncomingMessage,
  signal: AbortSignal,
  ingest: (file: Readable, mime: string) => Promise<DataPackageRecord>
): Promise<DataPackageRecord> {
  return new Promise<DataPackageRecord>((resolve, reject) => {
    let started = false
    let settled = false
    const finish = (err: unknown, value?: DataPackageRecord): void => {
      if (settled) return
      settled = true
      if (err) reject(err)
      else resolve(value as DataPackageRecord)
    }
    let parser: busboy.Busboy
    try {
      parser = busboy({ headers: req.headers, limits: { files: 4, fields: 50, parts: 60 } })
    } catch {
      finish(new PackageUploadError('invalid', 'The multipart upload has no boundary.'))
      return
    }
    let current: Readable | null = null
    signal.addEventListener('abort', () => {
      current?.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))
      finish(new PackageUploadError('aborted', 'The upload was interrupted before it completed.'))
    })
    parser.on('file', (field, file, info) => {
      if (started || (field !== 'assetfile' && field !== 'resource')) {
        file.resume()
        return
      }
      started = true
      current = file
      ingest(file, info.mimeType).then(
        (record) => finish(null, record),
        (err) => {
          req.unpipe(parser)
          finish(err)
        }
      )
    })
    parser.on('error', (err: Error) => finish(new PackageUploadError('invalid', `The multipart upload is malformed (${err.message}).`)))
    parser.on('close', () => {
      if (!started) finish(new PackageUploadError('invalid', "The upload has no file part named 'assetfile'."))
    })
    req.pipe(parser)
  })
}

function ingestAbortable(
  req: http.IncomingMessage,
  signal: AbortSignal,
  ingest: (body: Readable) => Promise<DataPackageRecord>
): Promise<DataPackageRecord> {
  signal.addEventListener('abort', () => req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })))
  return ingest(req)
}

/**
 * Answer an upload we will not store. The client may still be sending; keep reading (and discarding) briefly
 * so it can see the answer instead of a reset, then close the connection.
 */
export function refuseBody(req: http.IncomingMessage, res: http.ServerResponse, status: number, message: string): void {
  web.answerUnread(req, res, (close) => web.sendText(res, status, message, close), DRAIN_MS)
}
