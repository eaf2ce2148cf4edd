// One call of the console's HTTP API (POST /api/<method>): the caller is settled from the headers before a byte of the
// body is read; the body is then bounded by what that method may need for that caller, and by the bytes all calls are
// reading at once (console/body.ts), parsed as JSON and handed to dispatch().

import type http from 'node:http'
import type { ApiMethod } from '../api/contract.ts'
import { dispatch } from '../api/dispatch.ts'
import { HTTP_STATUS } from '../api/errors.ts'
import { BodyTooLarge, bearerToken, readBody } from '../net/http.ts'
import type { Services } from '../services.ts'
import { SIGN_IN_AGAIN, refuseUnread, sendError, sendJson } from './answers.ts'
import { type BodyBudget, bodyLimit, tooLargeMessage } from './body.ts'

export const METHOD_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/

export interface ApiCallContext {
  services: Services
  /** The console's own ceiling on every body, below each method's limit. */
  maxBodyBytes: number
  bodyBudget: BodyBudget
  /** A session signed out: its event streams close. */
  signedOut(token: string): void
}

export async function handleApiCall(
  ctx: ApiCallContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  method: string
): Promise<void> {
  const { services } = ctx
  if (!METHOD_NAME.test(method) || !Object.hasOwn(services.methods, method)) {
    refuseUnread(req, res, 'not_found', `There is no method '${method.slice(0, 80)}'.`)
    return
  }
  const token = bearerToken(req.headers.authorization)
  const signedIn = services.accounts.peekUser(token) !== null
  if (!signedIn && services.methods[method as ApiMethod].auth !== 'public') {
    refuseUnread(req, res, 'unauthenticated', SIGN_IN_AGAIN, 401, { 'WWW-Authenticate': 'Bearer' })
    return
  }
  const limit = Math.min(bodyLimit(services, method as ApiMethod, signedIn), ctx.maxBodyBytes)
  const body = await readArguments(ctx, req, res, limit)
  if (body === null) return
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
    if (method === 'logout' && token) ctx.signedOut(token)
    sendJson(res, 200, outcome)
  } else {
    const extra: Record<string, string> = {}
    if (outcome.error.code === 'unauthenticated') extra['WWW-Authenticate'] = 'Bearer'
    sendJson(res, HTTP_STATUS[outcome.error.code] ?? 500, outcome, extra)
  }
}

/** The JSON body under `limit`, its bytes reserved in the budget until the answer is done; null once refused. */
async function readArguments(
  ctx: ApiCallContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  limit: number
): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) {
    refuseUnread(req, res, 'invalid', tooLargeMessage(limit), 413)
    return null
  }
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined
  if (hasBody && contentType !== 'application/json') {
    refuseUnread(req, res, 'invalid', 'Send the arguments as JSON (Content-Type: application/json).', 415)
    return null
  }
  const release = hasBody ? ctx.bodyBudget.reserve(declared > 0 ? declared : limit) : () => {}
  if (!release) {
    refuseUnread(req, res, 'unavailable', 'The console is receiving other large requests right now; try again in a minute.', 503, {
      'Retry-After': '30'
    })
    return null
  }
  res.once('close', release)
  try {
    return await readBody(req, limit)
  } catch (err) {
    if (err instanceof BodyTooLarge) refuseUnread(req, res, 'invalid', tooLargeMessage(limit), 413)
    else res.destroy()
    return null
  }
}
