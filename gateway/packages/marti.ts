// The Marti HTTPS API devices use for data packages (TAK "Enterprise Sync"), over mutual TLS with device certificates.
// Routes and answers follow what ATAK / iTAK / WinTAK expect from a TAK Server (spec tak-devices.md §2).

import { createHash } from 'node:crypto'
import https from 'node:https'
import type http from 'node:http'
import type tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import busboy from 'busboy'
import type { Readable } from 'node:stream'
import type { DataPackageRecord } from '../store/schema.ts'
import type { Logger } from '../log.ts'
import { ListenerPolicy } from '../net/listener-guard.ts'
import { PackageUploadError, SHA256_HEX, type PackageStore } from './store.ts'
import { requestedRange } from './ranges.ts'

export interface DeviceIdentity {
  deviceId: string
  networkId: string
  callsign: string
}

export interface MartiServerOptions {
  port: number
  host?: string
  tls: { key: string; cert: string; ca: string | string[] }
  /** Map a verified client certificate to an enrolled, unrevoked device; null refuses the request. */
  authorize(peerCert: tls.PeerCertificate): DeviceIdentity | null
  packages: PackageStore
  /** Networks whose packages a device on `networkId` may see: its own plus those federated to it with DP-Out → DP-In. */
  visibleNetworks?(networkId: string): string[]
  /**
   * A device's `tool` call: make its package private or public. The gateway passes PackageFederation.setPrivate, so
   * the networks it was shared with follow. Default: the store's setPrivate.
   */
  setPrivate?(packageId: string, isPrivate: boolean): Promise<void>
  log?: Logger | null
  /** Caps and deadlines of the port (the gateway's policy). Default: the default limits. */
  listeners?: ListenerPolicy
  /** Text for GET /Marti/api/version. */
  version?: string
}

export interface MartiServer {
  port: number
  close(): Promise<void>
  /** New connections are served with this key and certificate chain (the server certificate was reissued). */
  useIdentity(tls: { key: string; cert: string }): void
}

const API_VERSION = '3'
const MAX_SMALL_BODY = 4096

export async function startMartiServer(options: MartiServerOptions): Promise<MartiServer> {
  const server = https.createServer({
    key: options.tls.key,
    cert: options.tls.cert,
    ca: options.tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2'
  })
  ;(options.listeners ?? new ListenerPolicy()).guard(server, 'marti', options.log ?? { info() {}, warn() {}, error() {} }, 'Marti API')
  // Large uploads over field links can take long; a stalled connection is dropped after two idle minutes instead,
  // which also discards its partial upload.
  server.requestTimeout = 60 * 60_000
  server.headersTimeout = 30_000
  server.setTimeout(120_000, (socket) => socket.destroy())
  const app = new MartiApi(options)
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    app.handle(req, res).catch((err: unknown) => {
      options.log?.error(`Marti API: ${req.method} ${pathOf(req)} failed: ${(err as Error).stack ?? String(err)}`)
      if (!res.headersSent) sendText(res, 500, 'Internal error')
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  app.port = port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
    useIdentity: ({ key, cert }) => server.setSecureContext({ key, cert, ca: options.tls.ca, minVersion: 'TLSv1.2' })
  }
}

class MartiApi {
  port = 0

  constructor(private readonly options: MartiServerOptions) {}

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const socket = req.socket as tls.TLSSocket
    const cert = socket.authorized ? socket.getPeerCertificate() : null
    const device = cert && Object.keys(cert).length > 0 ? this.options.authorize(cert) : null
    if (!device) {
      req.resume()
      sendText(res, 403, 'This certificate is not enrolled on this gateway.')
      return
    }
    const url = new URL(req.url ?? '/', 'https://gateway.invalid')
    const route = url.pathname.replace(/\/+$/, '')
    const method = req.method ?? 'GET'
    const q = url.searchParams

    if (method === 'GET' && route === '/Marti/api/version') return sendText(res, 200, this.options.version ?? 'Fedgate (TAK Server API 3)')
    if (method === 'GET' && route === '/Marti/api/version/config') return this.versionConfig(req, res)
    // Device profiles: ATAK asks on connect (deviceProfileEnableOnConnect) and for tools; we push none. 204 = none.
    if (method === 'GET' && (route === '/Marti/api/device/profile/connection' || route.startsWith('/Marti/api/device/profile/tool/'))) {
      res.writeHead(204).end()
      return
    }
    if (method === 'GET' && route === '/Marti/sync/missionquery') return this.missionQuery(req, res, device, q)
    if (method === 'POST' && route === '/Marti/sync/missionupload') return this.upload(req, res, device, q, 'missionupload')
    if (method === 'POST' && route === '/Marti/sync/upload') return this.upload(req, res, device, q, 'upload')
    if ((method === 'GET' || method === 'HEAD') && route === '/Marti/sync/content') return this.content(req, res, device, q)
    if (method === 'GET' && route === '/Marti/sync/search') return this.search(res, device, q)
    const metadata = /^\/Marti\/api\/sync\/metadata\/([^/]+)\/tool$/.exec(route)
    if (metadata && method === 'PUT') return this.setTool(req, res, device, decodeURIComponent(metadata[1] ?? ''))
    req.resume()
    sendText(res, 404, 'Not found')
  }

  /**
   * Which packages a device sees: its own network's, and those uploaded on networks federated to it (visibleNetworks).
   * Single hop: not what such a network itself received over a federation or from a peer. Whatever reached the
   * device's network is listed on it (PackageFederation).
   */
  private visibleTo(device: DeviceIdentity): (record: DataPackageRecord) => boolean {
    const networks = new Set(this.options.visibleNetworks?.(device.networkId) ?? [])
    return (p) => p.networkId === device.networkId || (networks.has(p.networkId) && (p.source.kind === 'device' || p.source.kind === 'operator'))
  }

  /** A package this device may fetch by hash: own network first, then networks federated to it. Private ones included. */
  private findByHash(device: DeviceIdentity, hash: string): DataPackageRecord | undefined {
    const own = this.options.packages.byHash(device.networkId, hash)
    if (own) return own
    const visible = this.visibleTo(device)
    return this.options.packages.all().find((p) => p.hash === hash && visible(p))
  }

  private contentUrl(req: http.IncomingMessage, hash: string): string {
    return `https://${hostFor(req)}:${this.port}/Marti/sync/content?hash=${hash}`
  }

  private versionConfig(req: http.IncomingMessage, res: http.ServerResponse): void {
    sendJson(res, 200, {
      version: API_VERSION,
      type: 'ServerConfig',
      data: { version: this.options.version ?? 'Fedgate', api: API_VERSION, hostname: hostFor(req) },
      messages: [],
      nodeId: 'fedgate'
    })
  }

  private missionQuery(req: http.IncomingMessage, res: http.ServerResponse, device: DeviceIdentity, q: URLSearchParams): void {
    const hash = (q.get('hash') ?? '').toLowerCase()
    if (!SHA256_HEX.test(hash)) return sendText(res, 400, 'The hash parameter must be a SHA-256 in hexadecimal.')
    const record = this.findByHash(device, hash)
    if (!record) return sendText(res, 404, 'No such package')
    sendText(res, 200, this.contentUrl(req, hash))
  }

  private async upload(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    device: DeviceIdentity,
    q: URLSearchParams,
    kind: 'missionupload' | 'upload'
  ): Promise<void> {
    const maxBytes = this.options.packages.maxBytes
    const declared = Number(req.headers['content-length'] ?? NaN)
    // Multipart framing adds a little; anything beyond that slack is certainly too large.
    if (Number.isFinite(declared) && declared > maxBytes + 64 * 1024) {
      return refuseBody(req, res, 413, `The data package is larger than the limit of ${maxBytes} bytes.`)
    }
    const hashParam = q.get('hash')
    const expectedHash = hashParam ? hashParam.toLowerCase() : null
    if (expectedHash !== null && !SHA256_HEX.test(expectedHash)) return refuseBody(req, res, 400, 'The hash parameter must be a SHA-256 in hexadecimal.')
    const contentType = String(req.headers['content-type'] ?? '')
    const multipart = /^multipart\/form-data/i.test(contentType)
    if (kind === 'missionupload' && !multipart) return refuseBody(req, res, 400, 'Expected a multipart/form-data upload.')

    const name = q.get('filename') ?? q.get('name') ?? q.get('Name') ?? 'package.zip'
    const tool = (q.get('tool') ?? q.get('Tool') ?? 'public').toLowerCase()
    // The device's CoT uid, as ATAK (missionupload) and iTAK (sync/upload) name it; kept only when it looks like one.
    const creatorUid = q.get('creatorUid') ?? q.get('CreatorUid')
    const meta = {
      networkId: device.networkId,
      name,
      expectedHash,
      source: { kind: 'device' as const, label: device.callsign, id: device.deviceId },
      creatorUid: creatorUid && /^[\x21-\x7e]{1,200}$/.test(creatorUid) ? creatorUid : null,
      private: tool === 'private'
    }
    const abort = new AbortController()
    req.on('close', () => {
      if (!req.complete) abort.abort()
    })

    let record: DataPackageRecord
    try {
      if (multipart) {
        record = await this.ingestMultipart(req, abort.signal, (file, mime) =>
          this.options.packages.ingest(file, { ...meta, mimeType: q.get('mimetype') ?? q.get('MIME') ?? mime })
        )
      } else {
        const mime = q.get('MIME') ?? q.get('mimetype') ?? contentType.split(';')[0]
        record = await this.ingestAbortable(req, abort.signal, (body) => this.options.packages.ingest(body, { ...meta, mimeType: mime }))
      }
    } catch (err) {
      if (err instanceof PackageUploadError) {
        if (err.reason === 'aborted' || abort.signal.aborted) return
        this.options.log?.info(`Marti API: upload from ${device.callsign} refused: ${err.message}`)
        return refuseBody(req, res, err.status, err.message)
      }
      throw err
    }
    if (kind === 'missionupload') return sendText(res, 200, this.contentUrl(req, record.hash))
    sendJson(res, 200, searchItem(record), 'text/json')
  }

  /** Feed the first `assetfile` (or browser `resource`) part to `ingest`; other parts are skipped. */
  private ingestMultipart(
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

  private ingestAbortable(
    req: http.IncomingMessage,
    signal: AbortSignal,
    ingest: (body: Readable) => Promise<DataPackageRecord>
  ): Promise<DataPackageRecord> {
    signal.addEventListener('abort', () => req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })))
    return ingest(req)
  }

  private async setTool(req: http.IncomingMessage, res: http.ServerResponse, device: DeviceIdentity, rawHash: string): Promise<void> {
    const body = await readSmallBody(req)
    const hash = rawHash.toLowerCase()
    if (body === null) return sendText(res, 413, 'Body too large')
    const tool = body.trim().toLowerCase()
    if (!SHA256_HEX.test(hash)) return sendText(res, 400, 'Not a SHA-256 hash')
    if (tool !== 'private' && tool !== 'public') return sendText(res, 400, "The tool must be 'private' or 'public'.")
    // Only the device's own network may change a package's visibility.
    const record = this.options.packages.byHash(device.networkId, hash)
    if (!record) return sendText(res, 404, 'No such package')
    if (this.options.setPrivate) await this.options.setPrivate(record.id, tool === 'private')
    else await this.options.packages.setPrivate(record.id, tool === 'private')
    sendText(res, 200, 'Okay')
  }

  private content(req: http.IncomingMessage, res: http.ServerResponse, device: DeviceIdentity, q: URLSearchParams): void {
    const hash = (q.get('hash') ?? '').toLowerCase()
    const uid = q.get('uid')
    let record: DataPackageRecord | undefined
    if (SHA256_HEX.test(hash)) record = this.findByHash(device, hash)
    else if (uid) {
      const byId = this.options.packages.byId(uid)
      record = byId && !byId.private && this.visibleTo(device)(byId) ? byId : undefined
      // Older TAK Server URLs name a mission package by its hash in `uid`.
      if (!record && SHA256_HEX.test(uid.toLowerCase())) record = this.findByHash(device, uid.toLowerCase())
    } else return sendText(res, 400, 'Give a hash or uid parameter.')
    if (!record) return sendText(res, 404, 'No such package')

    const range = requestedRange(req, q, record.size)
    if (range === 'malformed') return sendText(res, 400, 'offset and length must be whole numbers of bytes.')
    if (range === 'unsatisfiable' || range === 'empty') {
      // An empty part has no first-last form, so it carries the size the way a 416 does.
      res.writeHead(range === 'empty' ? 206 : 416, { 'Content-Range': `bytes */${record.size}`, 'Content-Length': 0 })
      res.end()
      return
    }
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': record.mimeType,
      'Content-Disposition': contentDisposition(record.name),
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'no-store'
    }
    const status = range ? 206 : 200
    const start = range?.start ?? 0
    const end = range?.end ?? record.size - 1
    headers['Content-Length'] = record.size === 0 ? 0 : end - start + 1
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${record.size}`
    res.writeHead(status, headers)
    if (req.method === 'HEAD' || record.size === 0) {
      res.end()
      return
    }
    const stream = this.options.packages.openRead(record, { start, end })
    stream.on('error', (err) => {
      this.options.log?.error(`Marti API: reading package ${record.id} failed: ${err.message}`)
      res.destroy()
    })
    res.on('close', () => stream.destroy())
    stream.pipe(res)
  }

  private search(res: http.ServerResponse, device: DeviceIdentity, q: URLSearchParams): void {
    const visible = this.visibleTo(device)
    const get = (...names: string[]): string | null => {
      for (const n of names) {
        const value = q.get(n)
        if (value) return value
      }
      return null
    }
    const tool = get('tool', 'Tool')
    const name = get('name', 'Name', 'filename', 'Filename')
    const uid = get('uid', 'UID')
    const mime = get('mimetype', 'MIMEType')
    const keywords = get('keywords', 'Keywords')
    // Private packages never appear in a listing, whatever the query asks for.
    const results = this.options.packages
      .all()
      .filter((p) => visible(p) && !p.private)
      .filter((p) => !tool || tool.toLowerCase() === 'public')
      .filter((p) => !name || p.name.toLowerCase().includes(name.toLowerCase()))
      .filter((p) => !uid || p.id === uid)
      .filter((p) => !mime || p.mimeType === mime.toLowerCase())
      .filter((p) => !keywords || keywords.toLowerCase().split(',').some((k) => k.trim() === 'missionpackage' || p.name.toLowerCase().includes(k.trim())))
    const seen = new Set<string>()
    const unique = results.filter((p) => (seen.has(p.hash) ? false : (seen.add(p.hash), true)))
    sendJson(res, 200, { resultCount: unique.length, results: unique.map(searchItem) })
  }
}

/**
 * TAK's PrimaryKey is its database row number, sent as a string of digits: ATAK reads it with getInt (a string like
 * our ids fails the whole list of server packages), node-tak as a string. Ours is a number derived from the id, so a
 * package keeps it and two packages practically never share one.
 */
export function primaryKeyOf(id: string): string {
  return String(Number.parseInt(createHash('sha256').update(id).digest('hex').slice(0, 7), 16))
}

/** One package in TAK's Enterprise Sync metadata shape (`Metadata.Field` names). */
export function searchItem(p: DataPackageRecord): Record<string, unknown> {
  return {
    UID: p.id,
    Name: p.name,
    Hash: p.hash,
    PrimaryKey: primaryKeyOf(p.id),
    SubmissionDateTime: p.createdAt,
    SubmissionUser: p.source.label,
    CreatorUid: p.creatorUid ?? '',
    Keywords: ['missionpackage'],
    MIMEType: p.mimeType,
    Size: String(p.size),
    Tool: p.private ? 'private' : 'public',
    EXPIRATION: '-1',
    Groups: ['__ANON__']
  }
}

function pathOf(req: http.IncomingMessage): string {
  return (req.url ?? '').split('?')[0]?.slice(0, 200) ?? ''
}

/** The host name the device used to reach us (from Host, without its port), else our local address. */
export function hostFor(req: http.IncomingMessage): string {
  const header = String(req.headers.host ?? '')
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::\d+)?$/.exec(header)
  if (bracketed) return `[${bracketed[1]}]`
  const plain = /^([A-Za-z0-9.-]{1,253})(?::\d+)?$/.exec(header)
  if (plain) return plain[1] as string
  const local = req.socket.localAddress ?? '127.0.0.1'
  const addr = local.startsWith('::ffff:') ? local.slice(7) : local
  return addr.includes(':') ? `[${addr}]` : addr
}

function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  return `inline; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text, 'utf8')
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length })
  res.end(body)
}

function sendJson(res: http.ServerResponse, status: number, value: unknown, type = 'application/json'): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8')
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length })
  res.end(body)
}

/**
 * Answer an upload we will not store. The client may still be sending; keep reading (and discarding) briefly
 * so it can see the answer instead of a reset, then close the connection.
 */
function refuseBody(req: http.IncomingMessage, res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = Buffer.from(message, 'utf8')
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, Connection: 'close' })
  res.end(body)
  req.resume()
  const timer = setTimeout(() => req.socket.destroy(), 2000)
  timer.unref()
  req.on('end', () => clearTimeout(timer))
}

async function readSmallBody(req: http.IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length
    if (total > MAX_SMALL_BODY) {
      req.destroy()
      return null
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
