// grpc-js 1.14's inside, looked up carefully: the HTTP/2 stream under a server call (flow-control.ts widens its
// session's window; direct-writes.ts writes frames to it) and, for a client call, the HTTP/2 stream together with the
// retry layer that relays messages to it (direct-writes.ts). Every step is checked; when something is not where it is
// expected (another grpc-js version), the lookups answer null and their callers keep to grpc-js's public API.

import type { Http2Stream } from 'node:http2'

/** The HTTP/2 stream a server call runs on: call.call(.nextCall…).stream; null when it is not found. */
export function serverCallStream(call: unknown): Http2Stream | null {
  let node = (call as { call?: unknown } | null)?.call as { stream?: unknown; nextCall?: unknown } | undefined
  for (let depth = 0; depth < 8 && node; depth++) {
    if (isHttp2Stream(node.stream)) return node.stream
    node = node.nextCall as typeof node
  }
  return null
}

/** What the writer needs of grpc-js's client retry layer. */
interface RetryLayer {
  underlyingCalls: { state: string; nextMessageToSend: number; call: { child?: { http2Stream?: Http2Stream } | null } }[]
  getNextBufferIndex(): number
}

export interface ClientCallInside {
  stream: Http2Stream
  retry: RetryLayer
}

/** A client call's HTTP/2 stream and the retry layer above it (call.call(.nextCall|.child…)), when both are there. */
export function clientCallInside(call: unknown): ClientCallInside | null {
  let node = (call as { call?: unknown } | null)?.call as Record<string, unknown> | undefined
  for (let depth = 0; depth < 6 && node && !isRetryLayer(node); depth++) node = (node.call ?? node.nextCall ?? node.child) as typeof node
  if (!node || !isRetryLayer(node) || node.underlyingCalls.length !== 1) return null
  const stream = node.underlyingCalls[0]!.call?.child?.http2Stream
  return isHttp2Stream(stream) ? { stream, retry: node } : null
}

/** The retry layer has handed its one attempt every message it was given (a frame written now comes after them). */
export function relayedEverything(inside: ClientCallInside): boolean {
  const only = inside.retry.underlyingCalls[0]!
  return only.state === 'ACTIVE' && only.nextMessageToSend === inside.retry.getNextBufferIndex()
}

function isRetryLayer(node: Record<string, unknown>): node is Record<string, unknown> & RetryLayer {
  return Array.isArray(node.underlyingCalls) && typeof node.getNextBufferIndex === 'function'
}

function isHttp2Stream(stream: unknown): stream is Http2Stream {
  const s = stream as Http2Stream | undefined
  return !!s && typeof s.write === 'function' && typeof s.once === 'function'
}
