// The HTTP plumbing of every port of ours that speaks HTTP (console, Marti, enrollment): answers with a length, request
// bodies read under a cap, refusals that do not read what was sent, request targets, and the listen/close lifecycle.

import type http from 'node:http'
import type { AddressInfo } from 'node:net'

export type HeaderMap = Record<string, string | number>

export class BodyTooLarge extends Error {}

/**
 * Sends `payload` as the whole answer. Once the head of another answer is out (a stream that failed half way), the
 * only honest thing left is to cut the connection, so the client does not take a truncated answer for a whole one.
 */
export function sendBytes(res: http.ServerResponse, status: number, type: string, payload: Buffer | string, headers: HeaderMap = {}): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length, ...headers })
  res.end(body)
}

export function sendText(res: http.ServerResponse, status: number, text: string, headers: HeaderMap = {}): void {
  sendBytes(res, status, 'text/plain; charset=utf-8', text, headers)
}

/** `type` lets a TAK route answer `text/json`, which some clients match exactly. */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  value: unknown,
  headers: HeaderMap = {},
  type = 'application/json'
): void {
  sendBytes(res, status, type, JSON.stringify(value), headers)
}

/** True when the request announced a body (a length above zero, or chunks). */
export function announcesBody(req: http.IncomingMessage): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined
}

/**
 * Answers (with `send`) a request whose body we will not read, or read only in part. With a body announced the
 * connection then closes, so a client cannot keep streaming bytes we would throw away: at once when the answer is out
 * (`drainMs` 0), or after reading and discarding for up to `drainMs`, so a client still sending sees the answer
 * instead of a reset (device clients that upload before they look at the status).
 */
export function answerUnread(req: http.IncomingMessage, res: http.ServerResponse, send: (close: HeaderMap) => void, drainMs = 0): void {
  if (!announcesBody(req)) {
    req.resume()
    send({})
    return
  }
  send({ Connection: 'close' })
  if (drainMs === 0) {
    res.once('finish', () => req.socket.destroySoon())
    return
  }
  req.resume()
  const timer = setTimeout(() => req.socket.destroy(), drainMs)
  timer.unref()
  req.once('end', () => clearTimeout(timer))
}

/**
 * Reads the body counting bytes as they arrive; past `maxBytes` it stops reading (the request is paused, nothing more
 * is buffered) and rejects with BodyTooLarge. A declared length over the cap is refused before a byte is read.
 */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
      reject(new BodyTooLarge())
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const settle = (): boolean => (done ? false : (done = true))
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > maxBytes) {
        settle()
        chunks.length = 0
        req.pause()
        reject(new BodyTooLarge())
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => settle() && resolve(Buffer.concat(chunks, size)))
    req.on('error', (err) => settle() && reject(err))
    req.on('close', () => settle() && reject(new Error('The connection closed before the request body was complete.')))
  })
}

/** The request's target as a URL (against a placeholder origin: only path and query are ours to read), or null. */
export function requestUrl(req: http.IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://request.invalid')
  } catch {
    return null
  }
}

/** The path a TAK route is matched on: clients differ in a trailing slash, so it is dropped. */
export function routeOf(url: URL): string {
  return url.pathname.replace(/\/+$/, '')
}

/** The path of a request for a log line: no query (it may carry a password), and not endless. */
export function pathForLog(req: http.IncomingMessage): string {
  return (req.url ?? '').split('?')[0]?.slice(0, 200) ?? ''
}

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return match ? match[1]! : null
}

/**
 * Runs `handle` for every request of `server`; a handler that throws is reported to `failed`, which answers (or, once
 * an answer has begun, the connection is cut by sendBytes).
 */
export function serveRequests(
  server: http.Server,
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
  failed: (req: http.IncomingMessage, res: http.ServerResponse, err: unknown) => void
): void {
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((err: unknown) => failed(req, res, err))
  })
}

/** Listens on `port` (0: a free one) and `host`; resolves with the port, rejects if the address cannot be taken. */
export function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/** Stops listening and closes every connection, idle or not (event streams and uploads included). */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

export function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err)
}
