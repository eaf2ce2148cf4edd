// Which bytes of a package a Marti content request asks for: the offset/length query TAK clients send, or an
// HTTP Range header. Every odd combination maps to an answer (206, 416 or 400), never to an impossible read.

import type http from 'node:http'

/** The part of a `size`-byte package a request asks for: TAK's offset/length query, else a single Range header. */
export function requestedRange(
  req: http.IncomingMessage,
  q: URLSearchParams,
  size: number
): { start: number; end: number } | null | 'unsatisfiable' | 'empty' | 'malformed' {
  const offset = q.get('offset')
  const length = q.get('length')
  if (offset !== null || length !== null) {
    const start = offset === null ? 0 : byteCount(offset)
    const len = length === null ? Infinity : byteCount(length)
    if (start === null || len === null) return 'malformed'
    if (start >= size) return 'unsatisfiable'
    // Nothing asked for at a valid offset is an empty answer, not an error.
    if (len === 0) return 'empty'
    // A length past the end reads to the end (RFC 9110 14.1.2: a last position beyond the size is clamped).
    return { start, end: start + Math.min(len, size - start) - 1 }
  }
  const header = req.headers.range
  if (!header) return null
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  // Multiple ranges and other units: answer with the whole file, which RFC 9110 allows.
  if (!m || (m[1] === '' && m[2] === '')) return null
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(m[1])
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (start >= size || end < start) return 'unsatisfiable'
  return { start, end }
}

/** A query's offset or length: a whole number of bytes (huge ones read as "past any end"), or null if it is not one. */
function byteCount(text: string): number | null {
  if (!/^\d{1,400}$/.test(text)) return null
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER
}
