// Limits for the HTTPS ports devices reach without a client certificate in hand (enrollment, 8446) or with one
// (Marti, 8443): anyone on the laptop's network can open connections to them. One host may hold a few at a time,
// everyone together a few hundred, and a handshake must finish within seconds, so a scanner or a flood from one
// address cannot take the port from the devices. Refusals and failed handshakes are logged as one line a minute
// (the first at once, then a count), not one line each.

import type net from 'node:net'
import type tls from 'node:tls'
import { SummarizedLog, tlsReason, type Logger } from '../log.ts'

export interface ListenerLimits {
  /**
   * Connections open at once from one address. Per address, not per IPv6 /64 as wrong passwords are counted: every
   * device on an ordinary IPv6 LAN shares one /64, and one of them must not take the others' share.
   */
  perAddress: number
  /** Connections open at once in all. */
  total: number
  /** A TLS handshake that takes longer is given up (ms): pass it as the server's `handshakeTimeout` when creating it. */
  handshakeTimeoutMs: number
  /** Refusals after the first are summed up in one log line per this many ms. */
  logWindowMs: number
}

/** A mutual-TLS handshake over a narrowband field link (several round trips, kilobytes of certificates) takes seconds. */
const HANDSHAKE_TIMEOUT_MS = 30_000
/** Enrollment (8446): a device makes a handful of requests once. */
export const ENROLLMENT_PORT_LIMITS: ListenerLimits = { perAddress: 16, total: 256, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, logWindowMs: 60_000 }
/** Marti (8443): several devices may share one address behind a NAT, each uploading and downloading packages. */
export const MARTI_PORT_LIMITS: ListenerLimits = { perAddress: 64, total: 1024, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, logWindowMs: 60_000 }

/** Applies `limits` to a TLS (or HTTPS) server before it listens; `label` names the port in the log. */
export function guardListener(server: tls.Server, log: Logger, label: string, limits: ListenerLimits): void {
  const refusals = new SummarizedLog(log, label, limits.logWindowMs)
  const open = new Map<string, number>()
  server.maxConnections = limits.total
  server.on('drop', (data?: { remoteAddress?: string }) => refusals.note(`connection from ${data?.remoteAddress ?? 'an unknown address'} refused: ${limits.total} connections are open`))
  // 'connection' comes with the TCP connection, before the handshake: a host over its share is cut off at once.
  const cutOff = new WeakSet<net.Socket>()
  server.prependListener('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress ?? 'unknown'
    const held = open.get(address) ?? 0
    if (held >= limits.perAddress) {
      refusals.note(`connection from ${address} refused: it already holds ${held}`)
      cutOff.add(socket)
      socket.destroy()
      return
    }
    open.set(address, held + 1)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left <= 0) open.delete(address)
      else open.set(address, left)
    })
  })
  server.on('tlsClientError', (err, socket) => {
    socket.destroy()
    // tls.Server still wraps a connection cut off above, which then fails with ECONNRESET: noted once already.
    if (cutOff.has((socket as tls.TLSSocket & { _parent?: net.Socket })._parent as net.Socket)) return
    refusals.note(`TLS handshake from ${socket.remoteAddress ?? 'an unknown address'} refused (${tlsReason(err)})`)
  })
}
