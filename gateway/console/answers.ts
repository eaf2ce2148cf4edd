// How the console answers: every response carries the browser security headers, API errors take the contract's
// `{ok:false,error}` shape, and the Origin / Host check that guards against CSRF and DNS rebinding.

import type http from 'node:http'
import type { ApiErrorBody, ErrorCode } from '../api/contract.ts'
import { HTTP_STATUS } from '../api/errors.ts'
import * as web from '../net/http.ts'

/** The Content-Security-Policy of every response: nothing leaves the machine, no inline script, no framing. */
export const CONSOLE_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; " +
  "object-src 'none'; frame-ancestors 'none'; base-uri 'none'"

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=()'
}

export const SIGN_IN_AGAIN = 'Please sign in again: your session is missing or has expired.'

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare)
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, extra: web.HeaderMap = {}): void {
  web.sendJson(res, status, body, { ...SECURITY_HEADERS, 'Cache-Control': 'no-store', ...extra }, 'application/json; charset=utf-8')
}

/** Sends an API error in the contract's shape. */
export function sendError(
  res: http.ServerResponse,
  code: ErrorCode,
  message: string,
  status = HTTP_STATUS[code],
  extra: web.HeaderMap = {}
): void {
  sendJson(res, status, { ok: false, error: { code, message } satisfies ApiErrorBody }, extra)
}

export function sendText(res: http.ServerResponse, status: number, text: string, extra: web.HeaderMap = {}): void {
  web.sendText(res, status, text, { ...SECURITY_HEADERS, ...extra })
}

/** An API error sent without reading the body; an announced body closes the connection (net/http.ts answerUnread). */
export function refuseUnread(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  code: ErrorCode,
  message: string,
  status = HTTP_STATUS[code],
  extra: web.HeaderMap = {}
): void {
  web.answerUnread(req, res, (close) => sendError(res, code, message, status, { ...extra, ...close }))
}

/**
 * CSRF and DNS-rebinding guard. Browsers send Origin on every cross-origin request and on same-origin POSTs;
 * it must name this very server. On loopback, the Host must be a loopback name too, so a hostile page that
 * rebinds its own name to 127.0.0.1 still cannot talk to us.
 */
export function refusedOrigin(req: http.IncomingMessage, loopback: boolean, scheme: string): string | null {
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
