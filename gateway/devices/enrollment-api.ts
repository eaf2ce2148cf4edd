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
import { throttleScope } from '../access/scope.ts'
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
import * as web from '../net/http.ts'

/** A CSR is 1–3 KiB; anything past this is not one. */
const MAX_BODY_BYTES = 16 * 1024
const REALM = 'Fedgate device enrollment'

export interface EnrollmentApi {
  port: number
  close(): Promise<void>
  /** New connections are served with this key and certificate chain (the server certificate was reissued). */
  useIdentity(tls: { key: string; cert: string }): void
}

export async function startEnrollmentApi(
  gw: Services,
  options: { port: number; host: string; tls: { key: string; cert: string } }
): Promise<EnrollmentApi> {
  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' })
  gw.listeners.guard(server, 'enrollment', gw.log, 'Enrollment API')
  server.headersTimeout = 15_000
  server.requestTimeout = 30_000
  server.setTimeout(60_000, (socket) => socket.destroy())
  web.serveRequests(
    server,
    (req, res) => handle(gw, req, res),
    (req, res, err) => {
      gw.log.error(`Enrollment API: ${req.method} ${web.pathForLog(req)} failed: ${web.errorText(err)}`)
      sendText(res, 500, 'Internal error')
    }
  )
  const port = await web.listen(server, options.port, options.host)
  return {
    port,
    close: () => web.closeServer(server),
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
  const url = web.requestUrl(req)
  if (!url) return refuse(req, res, 400, 'Bad request')
  const route = web.routeOf(url)
  const isToken = route === TOKEN_ROUTE
  // Tool profiles (spec §3.3.5): like the enrollment profile, none to hand out.
  const known =
    ROUTES[route] ??
    (/^\/Marti\/api\/tls\/profile\/tool\/[^/]+\/file$/.test(route) ? ROUTES['/Marti/api/tls/profile/enrollment'] : undefined)
  if (!isToken && !known) return refuse(req, res, 404, 'Not found')
  const method = known?.method ?? 'POST'
  if (req.method !== method) return refuse(req, res, 405, `Use ${method}`, { Allow: method })
  const address = req.socket.remoteAddress ?? 'unknown'
  const throttleKey = throttleKeyFor(req)
  const retryIn = gw.accounts.throttledFor(throttleKey)
  if (retryIn > 0) {
    const wait = { 'Retry-After': String(Math.ceil(retryIn / 1000)) }
    const why = 'Too many wrong passwords from this address. Wait a few minutes and try again.'
    if (!isToken) return refuse(req, res, 429, why, wait)
    req.resume()
    return sendOAuthError(res, 429, 'temporarily_unavailable', why, wait)
  }
  if (!known) return passwordGrant(gw, req, res, url, throttleKey) // the token route: any other unknown one got 404 above
  const bearer = web.bearerToken(req.headers.authorization)
  const credentials = bearer ? null : basicCredentials(req.headers.authorization)
  if (!bearer && !credentials)
    return refuse(req, res, 401, 'Sign in with the user name and one-time password the operator gave you.', SIGN_IN)
  let record
  try {
    record = bearer
      ? authenticateEnrollmentToken(gw, bearer, known.step)
      : authenticateEnrollment(gw, credentials!.usernames, credentials!.password, known.step)
  } catch (err) {
    if (!(err instanceof EnrollmentRefusal)) throw err
    if (err.wrongGuess) gw.accounts.recordFailure(throttleKey)
    return refuse(req, res, err.status, err.message, err.status === 401 ? SIGN_IN : {})
  }

  if (known.step === 'config') return sendXml(res, certificateConfigXml(nameEntriesFor(gw, record)))
  if (known.step === 'profile') {
    req.resume()
    res.writeHead(204).end()
    return
  }
  const body = await readSmallBody(req, res, MAX_BODY_BYTES, () =>
    refuse(req, res, 413, 'A certificate signing request is never that large.')
  )
  if (!body) return
  try {
    const request = readSigningRequest(body.toString('latin1'))
    const device = await completeEnrollment(gw, record, request, address)
    if (route === V1_ROUTE) {
      const p12 = signClientV1Answer(device.certPem, [gw.pki.caCertPem])
      return web.sendBytes(res, 200, 'application/octet-stream', p12, NO_STORE)
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
async function passwordGrant(
  gw: Services,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  throttleKey: string
): Promise<void> {
  const params = url.searchParams
  if (/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
    const body = await readSmallBody(req, res, 4096, () => sendOAuthError(res, 413, 'invalid_request', 'The request is too large.'))
    if (!body) return
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params.set(key, value)
  } else {
    req.resume()
  }
  if (params.get('grant_type') !== 'password')
    return sendOAuthError(res, 400, 'unsupported_grant_type', 'Only the password grant is offered here.')
  const username = params.get('username')
  const password = params.get('password')
  if (!username || !password) return sendOAuthError(res, 400, 'invalid_request', 'username and password are required.')
  try {
    const record = authenticateEnrollment(gw, username, password, 'config')
    return sendJson(res, {
      access_token: issueEnrollmentToken(gw, record),
      token_type: 'bearer',
      expires_in: ENROLLMENT_TOKEN_SECONDS,
      scope: 'enrollment'
    })
  } catch (err) {
    if (!(err instanceof EnrollmentRefusal)) throw err
    if (err.wrongGuess) gw.accounts.recordFailure(throttleKey)
    return sendOAuthError(res, 401, 'invalid_grant', `Bad credentials: ${err.message}`)
  }
}

function throttleKeyFor(req: http.IncomingMessage): string {
  return `device-enrollment:${throttleScope(req.socket.remoteAddress ?? 'unknown')}`
}

function sendOAuthError(res: http.ServerResponse, status: number, error: string, description: string, headers: web.HeaderMap = {}): void {
  web.sendJson(res, status, { error, error_description: description }, { ...NO_STORE, ...headers })
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
    ...attributes([
      ['xmlns', 'http://bbn.com/marti/xml/config'],
      ['xmlns:ns2', 'com.bbn.marti.config']
    ]),
    nameEntries: {
      nameEntry: entries.map((e) =>
        attributes([
          ['name', e.name],
          ['value', e.value]
        ])
      )
    }
  }
  return `${xmlDeclaration(true)}\n${buildXml({ 'ns2:certificateConfig': config })}\n`
}

/** The contract's error code for a refusal's status, so a tool can tell refusals apart without reading the sentence. */
const ERROR_CODES: Record<number, ErrorCode> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'invalid',
  409: 'conflict',
  413: 'invalid',
  429: 'rate_limited',
  500: 'internal'
}
const NO_STORE = { 'Cache-Control': 'no-store' }
const SIGN_IN = { 'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"` }

function sendText(res: http.ServerResponse, status: number, text: string, headers: web.HeaderMap = {}): void {
  const code = ERROR_CODES[status]
  web.sendText(res, status, `${text}\n`, { ...NO_STORE, ...(code ? { 'X-Error-Code': code } : {}), ...headers })
}

/**
 * A plain-text refusal. A body sent along is read and thrown away (a CSR is small, and the port's request timeout
 * bounds the rest), so the device's connection stays usable for its next try.
 */
function refuse(req: http.IncomingMessage, res: http.ServerResponse, status: number, text: string, headers: web.HeaderMap = {}): void {
  req.resume()
  sendText(res, status, text, headers)
}

/** The body under `limit`; past it the rest is discarded, `tooLarge` answers, and the result is null. */
async function readSmallBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  limit: number,
  tooLarge: () => void
): Promise<Buffer | null> {
  try {
    return await web.readBody(req, limit)
  } catch (err) {
    if (!(err instanceof web.BodyTooLarge)) {
      res.destroy()
      return null
    }
    req.resume()
    tooLarge()
    return null
  }
}

function sendXml(res: http.ServerResponse, xml: string): void {
  web.sendBytes(res, 200, 'application/xml; charset=utf-8', xml, NO_STORE)
}

function sendJson(res: http.ServerResponse, value: unknown): void {
  web.sendJson(res, 200, value, NO_STORE)
}
