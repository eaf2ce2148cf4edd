// The web console's HTTP transport (DESIGN.md §3): POST /api/<method> into dispatch(), GET /api/events as
// Server-Sent Events for one session, and the built renderer as static files, all behind strict security headers.

import fsp from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { ApiErrorBody, ApiMethod, ConsoleEvent, ErrorCode } from '../api/contract.ts'
import { dispatch } from '../api/dispatch.ts'
import { HTTP_STATUS } from '../api/errors.ts'
import { openApiDocument } from '../api/openapi.ts'
import { eventForUser } from '../events.ts'
import { BodyBudget, BodyTooLarge, bodyLimit, readBody, tooLargeMessage } from './body.ts'
import type { Logger } from '../log.ts'
import type { Services } from '../services.ts'
import type { UserRecord } from '../store/schema.ts'

export interface ConsoleServerOptions {
  services: Services
  /** Port to listen on; 0 picks a free one. */
  port: number
  /** Bind address. Default '127.0.0.1'. Anything but loopback requires `tls`. */
  host?: string
  /**
   * Our server certificate (PEM chain) and key, asked again whenever the gateway issues a new one (the machine's
   * addresses changed: pki/server-identity.ts); serves HTTPS when given.
   */
  tls?: () => { key: string; cert: string }
  /** The built renderer (dist-web/); null serves the API only. */
  staticDir: string | null
  log: Logger
  /** A ceiling on every request body in bytes, below each method's own limit (console/body.ts). Default none. */
  maxBodyBytes?: number
  /** Bytes all request bodies may hold at once. Default: two of the largest a method accepts, plus 8 MiB. */
  maxBodyBytesInFlight?: number
  /** Interval of SSE heartbeat comments and session re-checks, in ms. Default 15000. */
  heartbeatMs?: number
  /** Most concurrent event streams. Default 64. */
  maxEventStreams?: number
  /** Most concurrent event streams of one user; a new one closes their oldest. Default 8. */
  maxEventStreamsPerUser?: number
}

export interface ConsoleServer {
  /** Base URL of the console, e.g. `http://127.0.0.1:7080/`. */
  url: string
  port: number
  close(): Promise<void>
}

/** The Content-Security-Policy of every response: nothing leaves the machine, no inline script, no framing. */
export const CONSOLE_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; " +
  "object-src 'none'; frame-ancestors 'none'; base-uri 'none'"

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=()'
}

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json'
}

const METHOD_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare)
}

/** Sends an API error in the contract's shape. */
function sendError(res: http.ServerResponse, code: ErrorCode, message: string, status = HTTP_STATUS[code], extra: Record<string, string> = {}): void {
  sendJson(res, status, { ok: false, error: { code, message } satisfies ApiErrorBody }, extra)
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const payload = Buffer.from(JSON.stringify(body))
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(payload.length),
    'Cache-Control': 'no-store',
    ...extra
  })
  res.end(payload)
}

function sendText(res: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  const payload = Buffer.from(text)
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(payload.length), ...extra })
  res.end(payload)
}

function bearerToken(req: http.IncomingMessage): string | null {
  const header = req.headers.authorization
  if (typeof header !== 'string') return null
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match ? match[1]! : null
}

interface EventStream {
  token: string
  userId: string
  close(): void
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const { services, log } = options
  const host = options.host ?? '127.0.0.1'
  const loopback = isLoopbackHost(host)
  if (!loopback && !options.tls) {
    throw new Error(`The console may listen on ${host} only with TLS; without it, bind it to 127.0.0.1 (Console:BindAddress).`)
  }
  const maxBodyBytes = options.maxBodyBytes ?? Number.POSITIVE_INFINITY
  const bodyBudget = options.maxBodyBytesInFlight === undefined ? BodyBudget.forMethods(services) : new BodyBudget(options.maxBodyBytesInFlight)
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const maxEventStreams = options.maxEventStreams ?? 64
  const maxStreamsPerUser = Math.max(1, options.maxEventStreamsPerUser ?? 8)
  const staticRoot = options.staticDir ? await realDir(options.staticDir) : null
  if (options.staticDir && !staticRoot) log.warn(`The console has not been built (${options.staticDir} is missing): run \`npm run build:web\`. The HTTP API works regardless.`)
  const scheme = options.tls ? 'https' : 'http'
  const streams = new Set<EventStream>()

  /**
   * CSRF and DNS-rebinding guard. Browsers send Origin on every cross-origin request and on same-origin POSTs;
   * it must name this very server. On loopback, the Host must be a loopback name too, so a hostile page that
   * rebinds its own name to 127.0.0.1 still cannot talk to us.
   */
  const refusedOrigin = (req: http.IncomingMessage): string | null => {
    const hostHeader = req.headers.host ?? ''
    if (loopback) {
      const hostname = hostHeader.replace(/:\d+$/, '')
      if (!isLoopbackHost(hostname)) return 'The console answers only to 127.0.0.1 or localhost.'
    }
    const origin = req.headers.origin
    if (origin !== undefined && origin !== `${scheme}://${hostHeader}`) return 'Requests from another web site are refused.'
    if (req.headers['sec-fetch-site'] === 'cross-site') return 'Requests from another web site are refused.'
    return null
  }

  /**
   * Answers without reading the body. When one was announced, the connection closes after the answer, so a client
   * cannot keep streaming bytes we would only throw away.
   */
  const refuseUnread = (req: http.IncomingMessage, res: http.ServerResponse, code: ErrorCode, message: string, status = HTTP_STATUS[code], extra: Record<string, string> = {}): void => {
    const announced = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined
    sendError(res, code, message, status, announced ? { ...extra, Connection: 'close' } : extra)
    if (announced) res.once('finish', () => req.socket.destroySoon())
  }

  // Who is asking is settled from the headers before a byte of the body is read; the body is then bounded by what
  // that method may need for that caller, and by the bytes all calls are reading at once.
  const handleApiCall = async (req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> => {
    if (!METHOD_NAME.test(method) || !Object.hasOwn(services.methods, method)) {
      refuseUnread(req, res, 'not_found', `There is no method '${method.slice(0, 80)}'.`)
      return
    }
    const token = bearerToken(req)
    const signedIn = services.accounts.peekUser(token) !== null
    if (!signedIn && services.methods[method as ApiMethod].auth !== 'public') {
      refuseUnread(req, res, 'unauthenticated', 'Please sign in again: your session is missing or has expired.', 401, { 'WWW-Authenticate': 'Bearer' })
      return
    }
    const limit = Math.min(bodyLimit(services, method as ApiMethod, signedIn), maxBodyBytes)
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > limit) {
      refuseUnread(req, res, 'invalid', tooLargeMessage(limit), 413)
      return
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined
    if (hasBody && contentType !== 'application/json') {
      refuseUnread(req, res, 'invalid', 'Send the arguments as JSON (Content-Type: application/json).', 415)
      return
    }
    const release = hasBody ? bodyBudget.reserve(declared > 0 ? declared : limit) : () => {}
    if (!release) {
      refuseUnread(req, res, 'unavailable', 'The console is receiving other large requests right now; try again in a minute.', 503, { 'Retry-After': '30' })
      return
    }
    res.once('close', release)
    let body: Buffer
    try {
      body = await readBody(req, limit)
    } catch (err) {
      if (err instanceof BodyTooLarge) refuseUnread(req, res, 'invalid', tooLargeMessage(limit), 413)
      else res.destroy()
      return
    }
    let args: unknown = undefined
    if (body.length > 0) {
      try {
        args = JSON.parse(body.toString('utf8'))
      } catch {
        sendError(res, 'invalid', 'The request body is not valid JSON.')
        return
      }
    }
    const outcome = await dispatch(services, method, args, { token, address: req.socket.remoteAddress ?? 'unknown' })
    if (outcome.ok) {
      if (method === 'logout' && token) closeStreamsOf(token)
      sendJson(res, 200, outcome)
    } else {
      const extra: Record<string, string> = {}
      if (outcome.error.code === 'unauthenticated') extra['WWW-Authenticate'] = 'Bearer'
      sendJson(res, HTTP_STATUS[outcome.error.code] ?? 500, outcome, extra)
    }
  }

  const closeStreamsOf = (token: string): void => {
    for (const stream of streams) if (stream.token === token) stream.close()
  }

  const handleEvents = (req: http.IncomingMessage, res: http.ServerResponse, url: URL): void => {
    // EventSource cannot set headers, so the token may come in the query string.
    const token = bearerToken(req) ?? url.searchParams.get('token')
    const first = services.accounts.userForToken(token)
    if (!token || !first) {
      sendError(res, 'unauthenticated', 'Please sign in again: your session is missing or has expired.', 401, { 'WWW-Authenticate': 'Bearer' })
      return
    }
    // One user's streams are capped (their oldest gives way, so their own new tab still works), so one account cannot
    // take the whole total; the total cap then only turns away many different users.
    const own = [...streams].filter((s) => s.userId === first.id)
    for (const stale of own.slice(0, Math.max(0, own.length - maxStreamsPerUser + 1))) stale.close()
    if (streams.size >= maxEventStreams) {
      sendError(res, 'unavailable', 'Too many consoles are listening for events; close some and try again.')
      return
    }
    const userId = first.id
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no'
    })
    res.write('retry: 3000\n: connected\n\n')
    req.socket.setNoDelay(true)
    req.socket.setKeepAlive(true, heartbeatMs)

    // Permissions can change while the stream is open: look the user up again for every event.
    const currentUser = (): UserRecord | undefined => services.store.data.users.find((u) => u.id === userId)
    const unsubscribe = services.events.subscribe((event: ConsoleEvent) => {
      const user = currentUser()
      if (!user) {
        stream.close()
        return
      }
      const visible = eventForUser(event, services, user)
      if (!visible) return
      res.write(`data: ${JSON.stringify(visible)}\n\n`)
      // A console that stopped reading must not make the gateway buffer without bound.
      if (res.writableLength > 4 * 1_048_576) stream.close()
    })
    const heartbeat = setInterval(() => {
      if (!services.accounts.peekUser(token)) {
        stream.close()
        return
      }
      res.write(': heartbeat\n\n')
    }, heartbeatMs)
    heartbeat.unref()
    let closed = false
    const stream: EventStream = {
      token,
      userId,
      close() {
        if (closed) return
        closed = true
        clearInterval(heartbeat)
        unsubscribe()
        streams.delete(stream)
        res.end()
      }
    }
    streams.add(stream)
    res.on('close', () => stream.close())
  }

  const handleStatic = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    if (!staticRoot) {
      sendText(res, 503, 'The console has not been built: run `npm run build:web`. The HTTP API under /api/ works.')
      return
    }
    let relative: string
    try {
      relative = decodeURIComponent(url.pathname)
    } catch {
      sendText(res, 400, 'Bad path.')
      return
    }
    if (relative.includes('\0') || relative.includes('\\')) {
      sendText(res, 400, 'Bad path.')
      return
    }
    const segments = relative.split('/').filter((s) => s.length > 0)
    if (segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) {
      sendText(res, 404, 'Not found.')
      return
    }
    let file = path.join(staticRoot, ...segments)
    let found = await readStatic(staticRoot, file)
    if (!found && path.extname(file) === '') {
      // Client-side routes: the page is the single-page app.
      file = path.join(staticRoot, 'index.html')
      found = await readStatic(staticRoot, file)
    }
    if (!found) {
      sendText(res, 404, 'Not found.')
      return
    }
    const type = MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream'
    // Vite puts content-hashed names under assets/; everything else (index.html) must be revalidated.
    const cache = segments[0] === 'assets' ? 'public, max-age=31536000, immutable' : 'no-cache'
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(found.length), 'Cache-Control': cache })
    res.end(req.method === 'HEAD' ? undefined : found)
  }

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (options.tls) res.setHeader('Strict-Transport-Security', 'max-age=31536000')
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://console.invalid')
    } catch {
      sendText(res, 400, 'Bad request.')
      return
    }
    const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/')
    const refusal = refusedOrigin(req)
    if (refusal) {
      req.resume()
      if (isApi) sendError(res, 'forbidden', refusal)
      else sendText(res, 403, refusal)
      return
    }
    if (isApi) {
      const name = url.pathname.slice('/api/'.length)
      if (name === 'openapi.json' && req.method === 'GET') {
        // The automation interface describes itself; the document holds no secret, so no session is needed.
        sendJson(res, 200, openApiDocument((method) => services.methods[method].auth === 'public'))
        return
      }
      if (name === 'events') {
        if (req.method !== 'GET') {
          req.resume()
          sendError(res, 'invalid', 'Open the event stream with GET.', 405, { Allow: 'GET' })
          return
        }
        handleEvents(req, res, url)
        return
      }
      if (req.method !== 'POST') {
        req.resume()
        if (name.includes('/') || !METHOD_NAME.test(name)) sendError(res, 'not_found', 'There is no such API path.')
        else sendError(res, 'invalid', 'Call API methods with POST and a JSON body.', 405, { Allow: 'POST' })
        return
      }
      await handleApiCall(req, res, name)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      req.resume()
      sendText(res, 405, 'Method not allowed.', { Allow: 'GET, HEAD' })
      return
    }
    await handleStatic(req, res, url)
  }

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handler(req, res).catch((err: unknown) => {
      log.error(`console request failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
      if (!res.headersSent) sendError(res, 'internal', 'Something went wrong inside Fedgate; the details are in its log.')
      else res.destroy()
    })
  }

  const identity = options.tls
  const server: http.Server = identity ? https.createServer(identity(), onRequest) : http.createServer(onRequest)
  // A browser on another machine reaches the console by an address the certificate must name: when a new certificate
  // names the machine's new addresses, new connections get it (as on the device ports); open ones keep theirs.
  const followIdentity = (): void => (server as https.Server).setSecureContext(identity!())
  // Uploads of large data packages over slow links take minutes; headers must still come promptly.
  server.requestTimeout = 15 * 60_000
  server.headersTimeout = 30_000
  options.services.listeners.guard(server, 'console', log, 'Console')

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (err) => log.error(`console server: ${err.message}`))
  if (identity) options.services.internal.on('serverIdentityChanged', followIdentity)
  const port = (server.address() as AddressInfo).port
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return {
    url: `${scheme}://${shownHost}:${port}/`,
    port,
    async close() {
      if (identity) options.services.internal.off('serverIdentityChanged', followIdentity)
      for (const stream of [...streams]) stream.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
  }
}

async function realDir(dir: string): Promise<string | null> {
  try {
    const real = await fsp.realpath(dir)
    return (await fsp.stat(real)).isDirectory() ? real : null
  } catch {
    return null
  }
}

/** Reads a regular file inside root (symbolic links resolved), or null. Read before writeHead so a miss is a clean 404. */
async function readStatic(root: string, file: string): Promise<Buffer | null> {
  try {
    const real = await fsp.realpath(file)
    if (real !== root && !real.startsWith(root + path.sep)) return null
    const stat = await fsp.stat(real)
    if (!stat.isFile()) return null
    return await fsp.readFile(real)
  } catch {
    return null
  }
}

