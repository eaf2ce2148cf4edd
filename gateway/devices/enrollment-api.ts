// The certificate enrollment API devices use to enroll themselves (TAK's port 8446; spec tak-devices.md §3.3):
// HTTPS with our server certificate, no client certificate, HTTP Basic with the callsign and a one-time password.
//   GET  /Marti/api/tls/config               → the name entries (O, OU) the CSR should carry
//   POST /Marti/api/tls/signClient/v2        → CSR in, {signedCert, ca0} (JSON) or <enrollment> (XML) out
//   POST /Marti/api/tls/signClient           → v1 (ATAK-CIV 4.x): CSR in, PKCS#12 'signedCert' + 'ca0' (password atakatak) out
//   GET  /Marti/api/tls/profile/enrollment   → 204: no enrollment profile (ATAK fails the registration on an error)
//   GET  /Marti/api/tls/profile/tool/<tool>/file → 204: no tool profiles either
//   POST /oauth/token (password grant)       → a bearer token for config and profile (node-tak signs in this way)
// Wrong passwords are throttled per address, connections are capped per address (net/listener-guard.ts); nothing here
// logs a password or an Authorization header.

import https from 'node:https'
import type http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { attributes, buildXml, xmlDeclaration } from '../cot/xml-doc.ts'
import { CsrError, readSigningRequest } from '../pki/certificates.ts'
import type { ErrorCode } from '../api/contract.ts'
import type { Services } from '../services.ts'
import {
  authenticateEnrollment,
  authenticateEnrollmentToken,
  completeEnrollment,
  ENROLLMENT_TOKEN_SECONDS,
  EnrollmentRefusal,
  issueEnrollmentToken,
  nameEntriesFor,
  type EnrollmentStep
} from './self-enrollment.ts'
import { signClientV1Answer, takBase64 } from './sign-client-answer.ts'

/** A CSR is 1–3 KiB; anything past this is not one. */
const MAX_BODY_BYTES = 16 * 1024
const REALM = 'Fedgate device enrollment'

export interface EnrollmentApi {
  port: number
  close(): Promise<void>
  /** New connections are served with this key and certificate chain (the server certificate was reissued). */
  useIdentity(tls: { key: string; cert: string }): void
}

export async function startEnrollmentApi(gw: Services, options: { port: number; host: string; tls: { key: string; cert: string } }): Promise<EnrollmentApi> {
  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' })
  gw.listeners.guard(server, 'enrollment', gw.log, 'Enrollment API')
  server.headersTimeout = 15_000
  server.requestTimeout = 30_000
  server.setTimeout(60_000, (socket) => socket.destroy())
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(gw, req, res).catch((err: unknown) => {
      gw.log.error(`Enrollment API: ${req.method} ${pathOf(req)} failed: ${(err as Error).stack ?? String(err)}`)
      if (!res.headersSent) sendText(res, 500, 'Internal error')
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
    useIdentity: ({ key, cert }) => server.setSecureContext({ key, cert, minVersion: 'TLSv1.2' })
  }
}

const ROUTES: Record<string, { method: string; step: EnrollmentStep }> = {
  '/Marti/api/tls/config': { method: 'GET', step: 'config' },
  '/Marti/api/tls/signClient/v2': { method: 'POST', step: 'sign' },
  // Same password, throttle and CSR rules as v2; only the answer's shape differs.
  '/Marti/api/tls/signClient': { method: 'POST', step: 'sign' },
  '/Marti/api/tls/profile/enrollment': { method: 'GET', step: 'profile' }
}

async function handle(gw: Services, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const route = pathOf(req).replace(/\/+$/, '')
  const isToken = route === TOKEN_ROUTE
  // Tool profiles (spec §3.3.5): like the enrollment profile, none to hand out.
  const known = ROUTES[route] ?? (/^\/Marti\/api\/tls\/profile\/tool\/[^/]+\/file$/.test(route) ? ROUTES['/Marti/api/tls/profile/enrollment'] : undefined)
  if (!isToken && !known) {
    req.resume()
    return sendText(res, 404, 'Not found')
  }
  const method = known?.method ?? 'POST'
  if (req.method !== method) {
    req.resume()
    res.setHeader('allow', method)
    return sendText(res, 405, `Use ${method}`)
  }
  const address = req.socket.remoteAddress ?? 'unknown'
  const throttleKey = throttleKeyFor(req)
  const retryIn = gw.accounts.throttledFor(throttleKey)
  if (retryIn > 0) {
    req.resume()
    res.setHeader('retry-after', String(Math.ceil(retryIn / 1000)))
    const why = 'Too many wrong passwords from this address. Wait a few minutes and try again.'
    return isToken ? sendOAuthError(res, 429, 'temporarily_unavailable', why) : sendText(res, 429, why)
  }
  if (!known) return passwordGrant(gw, req, res, throttleKey) // the token route: any other unknown one got 404 above
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1]
  const credentials = bearer ? null : basicCredentials(req.headers.authorization)
  if (!bearer && !credentials) {
    req.resume()
    res.setHeader('www-authenticate', `Basic realm="${REALM}", charset="UTF-8"`)
    return sendText(res, 401, 'Sign in with the user name and one-time password the operator gave you.')
  }
  let record
  try {
    record = bearer
      ? authenticateEnrollmentToken(gw, bearer, known.step)
      : authenticateEnrollment(gw, credentials!.usernames, credentials!.password, known.step)
  } catch (err) {
    req.resume()
    if (!(err instanceof EnrollmentRefusal)) throw err
    if (err.wrongGuess) gw.accounts.recordFailure(throttleKey)
    if (err.status === 401) res.setHeader('www-authenticate', `Basic realm="${REALM}", charset="UTF-8"`)
    return sendText(res, err.status, err.message)
  }

  if (known.step === 'config') return sendXml(res, certificateConfigXml(nameEntriesFor(gw, record)))
  if (known.step === 'profile') {
    req.resume()
    res.writeHead(204).end()
    return
  }

  const body = await readBody(req, MAX_BODY_BYTES)
  if (body === null) return sendText(res, 413, 'A certificate signing request is never that large.')
  try {
    const request = readSigningRequest(body.toString('latin1'))
    const device = await completeEnrollment(gw, record, request, address)
    if (route === V1_ROUTE) {
      const p12 = signClientV1Answer(device.certPem, [gw.pki.caCertPem])
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' }).end(p12)
      return
    }
    const signedCert = takBase64(device.certPem)
    const ca0 = takBase64(gw.pki.caCertPem)
    if (wantsXml(req.headers.accept)) {
      return sendXml(res, `${xmlDeclaration()}\n${buildXml({ enrollment: { signedCert, ca: ca0 } })}\n`)
    }
    return sendJson(res, { signedCert, ca0 })
  } catch (err) {
    if (err instanceof CsrError) return sendText(res, 400, err.message)
    if (err instanceof EnrollmentRefusal) return sendText(res, err.status, err.message)
    throw err
  }
}

const TOKEN_ROUTE = '/oauth/token'
const V1_ROUTE = '/Marti/api/tls/signClient'

/**
 * TAK Server's OAuth password grant (`POST /oauth/token?grant_type=password&username=…&password=…`, or the same as a
 * form body), which tools such as node-tak call before tls/config: a short-lived bearer token for the config and
 * profile calls. It does not use the password up; signing still needs it.
 */
async function passwordGrant(gw: Services, req: http.IncomingMessage, res: http.ServerResponse, throttleKey: string): Promise<void> {
  const params = new URL(req.url ?? '/', 'https://gateway.invalid').searchParams
  if (/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
    const body = await readBody(req, 4096)
    if (body === null) return sendOAuthError(res, 413, 'invalid_request', 'The request is too large.')
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params.set(key, value)
  } else {
    req.resume()
  }
  if (params.get('grant_type') !== 'password') return sendOAuthError(res, 400, 'unsupported_grant_type', 'Only the password grant is offered here.')
  const username = params.get('username')
  const password = params.get('password')
  if (!username || !password) return sendOAuthError(res, 400, 'invalid_request', 'username and password are required.')
  try {
    const record = authenticateEnrollment(gw, username, password, 'config')
    return sendJson(res, { access_token: issueEnrollmentToken(gw, record), token_type: 'bearer', expires_in: ENROLLMENT_TOKEN_SECONDS, scope: 'enrollment' })
  } catch (err) {
    if (!(err instanceof EnrollmentRefusal)) throw err
    if (err.wrongGuess) gw.accounts.recordFailure(throttleKey)
    return sendOAuthError(res, 401, 'invalid_grant', `Bad credentials: ${err.message}`)
  }
}

function throttleKeyFor(req: http.IncomingMessage): string {
  return `device-enrollment:${throttleScope(req.socket.remoteAddress ?? 'unknown')}`
}

/**
 * Whom wrong passwords are counted against: an IPv4 address, or an IPv6 /64 (one host can take any address of its
 * /64, so counting per address would let it guess on without end). A link-local address's zone (`%eth0`) is dropped.
 */
export function throttleScope(address: string): string {
  const bare = address.split('%')[0]!
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)
  if (v4) return v4[1]!
  if (!net.isIPv6(bare)) return bare
  try {
    // The canonical spelling has no embedded IPv4 and at most one '::'; expand it to eight groups.
    const [head = '', tail] = new URL(`http://[${bare}]/`).hostname.slice(1, -1).split('::')
    const first = head ? head.split(':') : []
    const last = tail ? tail.split(':') : []
    const groups = tail === undefined ? first : [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last]
    return `${groups.slice(0, 4).join(':')}::/64`
  } catch {
    return bare
  }
}

function sendOAuthError(res: http.ServerResponse, status: number, error: string, description: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error, error_description: description }))
}

/**
 * `Basic base64(user:password)` → the user name as UTF-8 and as Latin-1 (clients differ; RFC 7617 leaves it open)
 * and the password, or null when absent or malformed.
 */
export function basicCredentials(header: string | undefined): { usernames: string[]; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')
  if (!match) return null
  const bytes = Buffer.from(match[1]!, 'base64')
  const colon = bytes.indexOf(0x3a)
  if (colon <= 0) return null
  const name = bytes.subarray(0, colon)
  return { usernames: [...new Set([name.toString('utf8'), name.toString('latin1')])], password: bytes.subarray(colon + 1).toString('utf8') }
}

/**
 * XML when the Accept header prefers XML to JSON, as TAK Server's (Spring's) content negotiation does: the types are
 * ordered by their quality (q, default 1; 0 = not acceptable), equal ones by their order, and the first it can produce
 * wins. `*\/*`, JSON or nothing gets JSON.
 */
export function wantsXml(accept: string | undefined): boolean {
  let best: { xml: boolean; q: number } | null = null
  for (const part of (accept ?? '').toLowerCase().split(',')) {
    const [type = '', ...params] = part.split(';').map((p) => p.trim())
    const xml = type === 'application/xml' || type === 'text/xml'
    if (!xml && type !== 'application/json') continue
    const qParam = params.find((p) => /^q\s*=/.test(p))
    const q = qParam === undefined ? 1 : Number(qParam.slice(qParam.indexOf('=') + 1))
    if (!Number.isFinite(q) || q <= 0) continue
    if (best === null || q > best.q) best = { xml, q }
  }
  return best?.xml ?? false
}

/** TAK's answer to GET tls/config: `ns2:certificateConfig` with the name entries the CSR must hold. */
export function certificateConfigXml(entries: { name: string; value: string }[]): string {
  const config = {
    ...attributes([['xmlns', 'http://bbn.com/marti/xml/config'], ['xmlns:ns2', 'com.bbn.marti.config']]),
    nameEntries: { nameEntry: entries.map((e) => attributes([['name', e.name], ['value', e.value]])) }
  }
  return `${xmlDeclaration(true)}\n${buildXml({ 'ns2:certificateConfig': config })}\n`
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume()
      return resolve(null)
    }
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) over = true
      else chunks.push(chunk)
    })
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function pathOf(req: http.IncomingMessage): string {
  return new URL(req.url ?? '/', 'https://gateway.invalid').pathname
}

/** The contract's error code for a refusal's status, so a tool can tell refusals apart without reading the sentence. */
const ERROR_CODES: Record<number, ErrorCode> = { 400: 'invalid', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 405: 'invalid', 409: 'conflict', 413: 'invalid', 429: 'rate_limited', 500: 'internal' }

function sendText(res: http.ServerResponse, status: number, text: string): void {
  const code = ERROR_CODES[status]
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...(code ? { 'x-error-code': code } : {}) }).end(`${text}\n`)
}

function sendXml(res: http.ServerResponse, xml: string): void {
  res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8', 'cache-control': 'no-store' }).end(xml)
}

function sendJson(res: http.ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(value))
}
