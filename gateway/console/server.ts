// The web console's HTTP transport (docs/ARCHITECTURE.md §4): POST /api/<method> into dispatch(), GET /api/events as
// Server-Sent Events for one session, and the built renderer as static files, all behind strict security headers.
// This file routes and runs the listener; the answers, API calls, event streams and static files have their own.

import http from 'node:http'
import https from 'node:https'
import * as web from '../net/http.ts'
import type { Logger } from '../log.ts'
import type { Services } from '../services.ts'
import { openApiDocument } from '../api/openapi.ts'
import { isLoopbackHost, refusedOrigin, sendError, sendJson, sendText } from './answers.ts'
import { type ApiCallContext, METHOD_NAME, handleApiCall } from './api-call.ts'
import { BodyBudget } from './body.ts'
import { EventStreams } from './event-streams.ts'
import { realDir, serveStatic } from './static-files.ts'

export { CONSOLE_CSP, isLoopbackHost } from './answers.ts'

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

interface ConsoleRoutes {
  api: ApiCallContext
  streams: EventStreams
  staticRoot: string | null
  loopback: boolean
  scheme: 'http' | 'https'
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const { services, log } = options
  const host = options.host ?? '127.0.0.1'
  const loopback = isLoopbackHost(host)
  if (!loopback && !options.tls) {
    throw new Error(`The console may listen on ${host} only with TLS; without it, bind it to 127.0.0.1 (Console:BindAddress).`)
  }
  const staticRoot = options.staticDir ? await realDir(options.staticDir) : null
  if (options.staticDir && !staticRoot)
    log.warn(`The console has not been built (${options.staticDir} is missing): run \`npm run build:web\`. The HTTP API works regardless.`)
  const scheme = options.tls ? 'https' : 'http'
  const streams = new EventStreams(services, {
    heartbeatMs: options.heartbeatMs ?? 15_000,
    maxStreams: options.maxEventStreams ?? 64,
    maxStreamsPerUser: Math.max(1, options.maxEventStreamsPerUser ?? 8)
  })
  const api: ApiCallContext = {
    services,
    maxBodyBytes: options.maxBodyBytes ?? Number.POSITIVE_INFINITY,
    bodyBudget: options.maxBodyBytesInFlight === undefined ? BodyBudget.forMethods(services) : new BodyBudget(options.maxBodyBytesInFlight),
    signedOut: (token) => streams.closeSession(token)
  }
  const routes: ConsoleRoutes = { api, streams, staticRoot, loopback, scheme }

  const identity = options.tls
  const server: http.Server = identity ? https.createServer(identity()) : http.createServer()
  web.serveRequests(
    server,
    (req, res) => route(routes, req, res),
    (_req, res, err) => {
      log.error(`console request failed: ${web.errorText(err)}`)
      sendError(res, 'internal', 'Something went wrong inside Fedgate; the details are in its log.')
    }
  )
  // A browser on another machine reaches the console by an address the certificate must name: when a new certificate
  // names the machine's new addresses, new connections get it (as on the device ports); open ones keep theirs.
  const followIdentity = (): void => (server as https.Server).setSecureContext(identity!())
  // Uploads of large data packages over slow links take minutes; headers must still come promptly.
  server.requestTimeout = 15 * 60_000
  server.headersTimeout = 30_000
  services.listeners.guard(server, 'console', log, 'Console')

  const port = await web.listen(server, options.port, host)
  server.on('error', (err) => log.error(`console server: ${err.message}`))
  if (identity) services.internal.on('serverIdentityChanged', followIdentity)
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return {
    url: `${scheme}://${shownHost}:${port}/`,
    port,
    async close() {
      if (identity) services.internal.off('serverIdentityChanged', followIdentity)
      streams.closeAll()
      await web.closeServer(server)
    }
  }
}

async function route(routes: ConsoleRoutes, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (routes.scheme === 'https') res.setHeader('Strict-Transport-Security', 'max-age=31536000')
  const url = web.requestUrl(req)
  if (!url) {
    sendText(res, 400, 'Bad request.')
    return
  }
  const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/')
  const refusal = refusedOrigin(req, routes.loopback, routes.scheme)
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
      sendJson(
        res,
        200,
        openApiDocument((method) => routes.api.services.methods[method].auth === 'public')
      )
      return
    }
    if (name === 'events') {
      if (req.method !== 'GET') {
        req.resume()
        sendError(res, 'invalid', 'Open the event stream with GET.', 405, { Allow: 'GET' })
        return
      }
      routes.streams.open(req, res, url)
      return
    }
    if (req.method !== 'POST') {
      req.resume()
      if (name.includes('/') || !METHOD_NAME.test(name)) sendError(res, 'not_found', 'There is no such API path.')
      else sendError(res, 'invalid', 'Call API methods with POST and a JSON body.', 405, { Allow: 'POST' })
      return
    }
    await handleApiCall(routes.api, req, res, name)
    return
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    req.resume()
    sendText(res, 405, 'Method not allowed.', { Allow: 'GET, HEAD' })
    return
  }
  await serveStatic(routes.staticRoot, req, res, url)
}
