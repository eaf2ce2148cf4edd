// Limits for the HTTPS ports devices reach without a client certificate in hand (enrollment, 8446) or with one
// (Marti, 8443): anyone on the laptop's network can open connections to them. One host may hold a few at a time,
// everyone together a few hundred, and a handshake must finish within seconds, so a scanner or a flood from one
// address cannot take the port from the devices. Refusals and failed handshakes are logged as one line a minute
// (the first at once, then a count), not one line each.

import net from 'node:net'
import type tls from 'node:tls'
import { SummarizedLog, tlsReason, type Logger } from '../log.ts'

export interface ListenerLimits {
  /** Connections open at once from one address (IPv4) or /64 (IPv6). */
  perAddress: number
  /** Connections open at once in all. */
  total: number
  /** A TLS handshake that takes longer is given up (ms): pass it as the server's `handshakeTimeout` when creating it. */
  handshakeTimeoutMs: number
  /** Refusals after the first are summed up in one log line per this many ms. */
  logWindowMs: number
}

/** Enrollment (8446): a device makes a handful of requests once. */
export const ENROLLMENT_PORT_LIMITS: ListenerLimits = { perAddress: 16, total: 256, handshakeTimeoutMs: 10_000, logWindowMs: 60_000 }
/** Marti (8443): several devices may share one address behind a NAT, each uploading and downloading packages. */
export const MARTI_PORT_LIMITS: ListenerLimits = { perAddress: 64, total: 1024, handshakeTimeoutMs: 10_000, logWindowMs: 60_000 }

/**
 * Who counts as one host: an IPv4 address, or an IPv6 /64 (one host can take any address of its /64, so counting per
 * address would let it go on without end).
 */
export function throttleScope(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (v4) return v4[1]!
  if (net.isIPv6(address)) {
    // The canonical spelling has no embedded IPv4 and at most one '::'; expand it to eight groups.
    const [head = '', tail] = new URL(`http://[${address}]/`).hostname.slice(1, -1).split('::')
    const first = head ? head.split(':') : []
    const last = tail ? tail.split(':') : []
    const groups = tail === undefined ? first : [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last]
    return `${groups.slice(0, 4).join(':')}::/64`
  }
  return address
}

/** Applies `limits` to a TLS (or HTTPS) server before it listens; `label` names the port in the log. */
export function guardListener(server: tls.Server, log: Logger, label: string, limits: ListenerLimits): void {
  const refusals = new SummarizedLog(log, label, limits.logWindowMs)
  const open = new Map<string, number>()
  server.maxConnections = limits.total
  server.on('drop', (data?: { remoteAddress?: string }) => refusals.note(`connection from ${data?.remoteAddress ?? 'an unknown address'} refused: ${limits.total} connections are open`))
  // 'connection' comes with the TCP connection, before the handshake: a host over its share is cut off at once.
  server.prependListener('connection', (socket: net.Socket) => {
    const scope = throttleScope(socket.remoteAddress ?? 'unknown')
    const held = open.get(scope) ?? 0
    if (held >= limits.perAddress) {
      refusals.note(`connection from ${socket.remoteAddress ?? 'an unknown address'} refused: it already holds ${held}`)
      socket.destroy()
      return
    }
    open.set(scope, held + 1)
    socket.once('close', () => {
      const left = (open.get(scope) ?? 1) - 1
      if (left <= 0) open.delete(scope)
      else open.set(scope, left)
    })
  })
  server.on('tlsClientError', (err, socket) => {
    refusals.note(`TLS handshake from ${socket.remoteAddress ?? 'an unknown address'} refused (${tlsReason(err)})`)
    socket.destroy()
  })
}
