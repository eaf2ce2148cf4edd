// The Marti HTTPS API devices use for data packages (TAK "Enterprise Sync"), over mutual TLS with device certificates.
// Routes and answers follow what ATAK / iTAK / WinTAK expect from a TAK Server (spec tak-devices.md §2).

import https from 'node:https'
import type http from 'node:http'
import type tls from 'node:tls'
import type { DataPackageRecord } from '../store/schema.ts'
import * as web from '../net/http.ts'
import { ListenerPolicy } from '../net/listener-guard.ts'
import { SHA256_HEX } from './store.ts'
import { contentDisposition, hostFor, searchItem } from './marti-answers.ts'
import { receiveUpload, refuseBody } from './marti-upload.ts'
import { requestedRange } from './ranges.ts'
import type { DeviceIdentity, MartiServerOptions } from './marti-options.ts'

export type { DeviceIdentity, MartiServerOptions }

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
  web.serveRequests(
    server,
    (req, res) => app.handle(req, res),
    (req, res, err) => {
      options.log?.error(`Marti API: ${req.method} ${web.pathForLog(req)} failed: ${web.errorText(err)}`)
      web.sendText(res, 500, 'Internal error')
    }
  )
  const port = await web.listen(server, options.port, options.host ?? '0.0.0.0')
  app.port = port
  return {
    port,
    close: () => web.closeServer(server),
    useIdentity: ({ key, cert }) => server.setSecureContext({ key, cert, ca: options.tls.ca, minVersion: 'TLSv1.2' })
  }
}

class MartiApi {
  port = 0

  constructor(readonly options: MartiServerOptions) {}

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const socket = req.socket as tls.TLSSocket
    const cert = socket.authorized ? socket.getPeerCertificate() : null
    const device = cert && Object.keys(cert).length > 0 ? this.options.authorize(cert) : null
    if (!device) {
      req.resume()
      web.sendText(res, 403, 'This certificate is not enrolled on this gateway.')
      return
    }
    const url = web.requestUrl(req)
    if (!url) return refuseBody(req, res, 400, 'Bad request')
    const route = web.routeOf(url)
    const method = req.method ?? 'GET'
    const q = url.searchParams

    if (method === 'GET' && route === '/Marti/api/version')
      return web.sendText(res, 200, this.options.version ?? 'Fedgate (TAK Server API 3)')
    if (method === 'GET' && route === '/Marti/api/version/config') return this.versionConfig(req, res)
    // Device profiles: ATAK asks on connect (deviceProfileEnableOnConnect) and for tools; we push none. 204 = none.
    if (method === 'GET' && (route === '/Marti/api/device/profile/connection' || route.startsWith('/Marti/api/device/profile/tool/'))) {
      res.writeHead(204).end()
      return
    }
    if (method === 'GET' && route === '/Marti/sync/missionquery') return this.missionQuery(req, res, device, q)
    if (method === 'POST' && route === '/Marti/sync/missionupload') return receiveUpload(this, req, res, device, q, 'missionupload')
    if (method === 'POST' && route === '/Marti/sync/upload') return receiveUpload(this, req, res, device, q, 'upload')
    if ((method === 'GET' || method === 'HEAD') && route === '/Marti/sync/content') return this.content(req, res, device, q)
    if (method === 'GET' && route === '/Marti/sync/search') return this.search(res, device, q)
    const metadata = /^\/Marti\/api\/sync\/metadata\/([^/]+)\/tool$/.exec(route)
    if (metadata && method === 'PUT') return this.setTool(req, res, device, decodeURIComponent(metadata[1] ?? ''))
    req.resume()
    web.sendText(res, 404, 'Not found')
  }

  /**
   * Which packages a device sees: its own network's, and those uploaded on networks federated to it (visibleNetworks).
   * Single hop: not what such a network itself received over a federation or from a peer. Whatever reached the
   * device's network is listed on it (PackageFederation).
   */
  private visibleTo(device: DeviceIdentity): (record: DataPackageRecord) => boolean {
    const networks = new Set(this.options.visibleNetworks?.(device.networkId) ?? [])
    return (p) =>
      p.networkId === device.networkId || (networks.has(p.networkId) && (p.source.kind === 'device' || p.source.kind === 'operator'))
  }

  /** A package this device may fetch by hash: own network first, then networks federated to it. Private ones included. */
  private findByHash(device: DeviceIdentity, hash: string): DataPackageRecord | undefined {
    const own = this.options.packages.byHash(device.networkId, hash)
    if (own) return own
    const visible = this.visibleTo(device)
    return this.options.packages.all().find((p) => p.hash === hash && visible(p))
  }

  /** Where a device fetches a package: the host it used to reach us, and this port. */
  contentUrl(req: http.IncomingMessage, hash: string): string {
    return `https://${hostFor(req)}:${this.port}/Marti/sync/content?hash=${hash}`
  }

  private versionConfig(req: http.IncomingMessage, res: http.ServerResponse): void {
    web.sendJson(res, 200, {
      version: API_VERSION,
      type: 'ServerConfig',
      data: { version: this.options.version ?? 'Fedgate', api: API_VERSION, hostname: hostFor(req) },
      messages: [],
      nodeId: 'fedgate'
    })
  }

  private missionQuery(req: http.IncomingMessage, res: http.ServerResponse, device: DeviceIdentity, q: URLSearchParams): void {
    const hash = (q.get('hash') ?? '').toLowerCase()
    if (!SHA256_HEX.test(hash)) return web.sendText(res, 400, 'The hash parameter must be a SHA-256 in hexadecimal.')
    const record = this.findByHash(device, hash)
    if (!record) return web.sendText(res, 404, 'No such package')
    web.sendText(res, 200, this.contentUrl(req, hash))
  }

  private async setTool(req: http.IncomingMessage, res: http.ServerResponse, device: DeviceIdentity, rawHash: string): Promise<void> {
    const body = await readSmallBody(req, res)
    if (body === null) return
    const hash = rawHash.toLowerCase()
    const tool = body.trim().toLowerCase()
    if (!SHA256_HEX.test(hash)) return web.sendText(res, 400, 'Not a SHA-256 hash')
    if (tool !== 'private' && tool !== 'public') return web.sendText(res, 400, "The tool must be 'private' or 'public'.")
    // Only the device's own network may change a package's visibility.
    const record = this.options.packages.byHash(device.networkId, hash)
    if (!record) return web.sendText(res, 404, 'No such package')
    if (this.options.setPrivate) await this.options.setPrivate(record.id, tool === 'private')
    else await this.options.packages.setPrivate(record.id, tool === 'private')
    web.sendText(res, 200, 'Okay')
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
    } else return web.sendText(res, 400, 'Give a hash or uid parameter.')
    if (!record) return web.sendText(res, 404, 'No such package')

    const range = requestedRange(req, q, record.size)
    if (range === 'malformed') return web.sendText(res, 400, 'offset and length must be whole numbers of bytes.')
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
      .filter(() => !tool || tool.toLowerCase() === 'public')
      .filter((p) => !name || p.name.toLowerCase().includes(name.toLowerCase()))
      .filter((p) => !uid || p.id === uid)
      .filter((p) => !mime || p.mimeType === mime.toLowerCase())
      .filter(
        (p) =>
          !keywords ||
          keywords
            .toLowerCase()
            .split(',')
            .some((k) => k.trim() === 'missionpackage' || p.name.toLowerCase().includes(k.trim()))
      )
    const seen = new Set<string>()
    const unique = results.filter((p) => (seen.has(p.hash) ? false : (seen.add(p.hash), true)))
    web.sendJson(res, 200, { resultCount: unique.length, results: unique.map(searchItem) })
  }
}

/** A `tool` body (the word private or public): past a few KiB it is not one, and the upload is refused. */
async function readSmallBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<string | null> {
  try {
    return (await web.readBody(req, MAX_SMALL_BODY)).toString('utf8')
  } catch (err) {
    if (err instanceof web.BodyTooLarge) refuseBody(req, res, 413, 'Body too large')
    else res.destroy()
    return null
  }
}
