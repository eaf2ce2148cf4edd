// The one guard of every listening port (streaming, federation, enrollment, Marti, console): anyone who can reach a
// port can open connections to it, so one address holds only a few that have not proved anything yet, the port only
// so many in all and only its share of the process's file handles, a TLS handshake must finish by a deadline, and on
// HTTP ports the first request must arrive by one. Refusals and closings are logged as one line a minute, not each.

import type net from 'node:net'
import type http from 'node:http'
import type tls from 'node:tls'
import { SummarizedLog, tlsReason, type Logger } from '../log.ts'
import { HandleBudget, processHandleBudget, type HandleAccount } from './handle-budget.ts'

export type PortName = 'streaming' | 'federation' | 'enrollment' | 'marti' | 'console'

export interface ListenerLimits {
  /**
   * Connections open at once from one address. Per address, not per IPv6 /64 as wrong passwords are counted: every
   * device on an ordinary IPv6 LAN shares one /64, and one of them must not take the others' share.
   */
  perAddress: number
  /** Of those, connections not yet admitted (TLS handshake, or on HTTP ports the first request, still to come). */
  unadmittedPerAddress: number
  /** Connections open at once in all. */
  total: number
  /** A TLS handshake not finished this long after the TCP connection is closed (ms). */
  handshakeTimeoutMs: number
  /**
   * HTTP ports: a connection whose first request has not arrived this long after it is ready (handshake done) is
   * closed (ms). Null where the port's own protocol times that phase (a device or federate is admitted by its
   * certificate; federation then ends a connection that makes no health check). Once a request has come, the
   * server's keep-alive and request timeouts apply, so event streams and long uploads go on.
   */
  firstRequestTimeoutMs: number | null
  /** Refusals after the first are summed up in one log line per this many ms. */
  logWindowMs: number
}

/** A mutual-TLS handshake over a narrowband field link (several round trips, kilobytes of certificates) takes seconds. */
const HANDSHAKE_TIMEOUT_MS = 30_000
/** Request headers follow the handshake at once; a slow link still carries a few hundred bytes in seconds. */
const FIRST_REQUEST_TIMEOUT_MS = 15_000
const base = { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, logWindowMs: 60_000 }

const DEFAULT_LIMITS: Record<PortName, ListenerLimits> = {
  // Devices are admitted by their certificate; many may share one address (a NAT, and the benchmark's 1,000 on
  // loopback), so only the handshakes one address has in flight are held to a few.
  streaming: { ...base, perAddress: 4096, unadmittedPerAddress: 64, total: 4096, firstRequestTimeoutMs: null },
  // A TAK Server keeps one connection; a few behind one NAT, or a reconnect while the old one lingers.
  federation: { ...base, perAddress: 64, unadmittedPerAddress: 16, total: 256, firstRequestTimeoutMs: null },
  // Enrollment (8446): a device makes a handful of requests once.
  enrollment: { ...base, perAddress: 16, unadmittedPerAddress: 16, total: 256, firstRequestTimeoutMs: FIRST_REQUEST_TIMEOUT_MS },
  // Marti (8443): several devices may share one address behind a NAT, each uploading and downloading packages.
  marti: { ...base, perAddress: 64, unadmittedPerAddress: 64, total: 1024, firstRequestTimeoutMs: FIRST_REQUEST_TIMEOUT_MS },
  // Console: every browser on loopback is one address; a browser opens six connections, plus event streams.
  console: { ...base, perAddress: 256, unadmittedPerAddress: 32, total: 256, firstRequestTimeoutMs: FIRST_REQUEST_TIMEOUT_MS }
}

export interface ListenerPolicyOptions {
  /** Per port, limits other than the defaults (tests shorten the deadlines and lower the caps). */
  limits?: Partial<Record<PortName, Partial<ListenerLimits>>>
  /** Take this as RLIMIT_NOFILE instead of the process's own (tests: a small budget); null: no budget. */
  fileHandleLimit?: number | null
}

/** How a gateway's ports are guarded: the limits of each and the file-handle budget they share. */
export class ListenerPolicy {
  private readonly budget: HandleBudget | null

  constructor(private readonly options: ListenerPolicyOptions = {}) {
    const limit = options.fileHandleLimit
    this.budget = limit === undefined ? processHandleBudget() : limit === null ? null : new HandleBudget(limit)
  }

  limits(port: PortName): ListenerLimits {
    return { ...DEFAULT_LIMITS[port], ...this.options.limits?.[port] }
  }

  /** Guards `server` (before it listens) as `port`; `label` names it in the log. */
  guard(server: net.Server, port: PortName, log: Logger, label: string, o: { logHandshakeFailures?: boolean } = {}): void {
    guardListener(server, log, label, this.limits(port), { budget: this.budget, ...o })
  }
}

type TlsSocketWithParent = tls.TLSSocket & { _parent?: net.Socket }

/** Applies `limits` to a TCP, TLS or HTTP(S) server before it listens; `label` names the port in the log. */
export function guardListener(
  server: net.Server,
  log: Logger,
  label: string,
  limits: ListenerLimits,
  o: { budget?: HandleBudget | null; logHandshakeFailures?: boolean } = {}
): void {
  const isTls = typeof (server as tls.Server).setSecureContext === 'function'
  const isHttp = typeof (server as http.Server).closeIdleConnections === 'function'
  const refusals = new SummarizedLog(log, label, limits.logWindowMs)
  const closings = new SummarizedLog(log, label, limits.logWindowMs, { verb: 'closed' })
  const account: HandleAccount | null = o.budget ? o.budget.open(limits.total) : null
  server.once('close', () => account?.close())
  const held = new Map<string, number>()
  const unadmitted = new Map<string, number>()
  /** Raw sockets closed here: tls.Server still wraps them, and their handshake then fails: noted once already. */
  const cutOff = new WeakSet<net.Socket>()
  const phases = new PhaseDeadlines((raw, why) => {
    closings.note(`connection from ${raw.remoteAddress ?? 'an unknown address'} closed: ${why}`)
    cutOff.add(raw)
    raw.destroy()
  })
  const deadline = phases.start.bind(phases)
  const passed = phases.passed.bind(phases)

  server.maxConnections = limits.total
  server.on('drop', (data?: { remoteAddress?: string }) =>
    refusals.note(`connection from ${data?.remoteAddress ?? 'an unknown address'} refused: ${limits.total} connections are open`)
  )

  const awaitRequest = (raw: net.Socket, admit: () => void): void => {
    if (limits.firstRequestTimeoutMs === null || !isHttp) return admit()
    deadline(raw, limits.firstRequestTimeoutMs, `no request within ${seconds(limits.firstRequestTimeoutMs)} of connecting`, admit)
  }

  // 'connection' comes with the TCP connection, before any handshake: over a share, it is cut off at once.
  server.prependListener('connection', (raw: net.Socket) => {
    const address = raw.remoteAddress ?? 'unknown'
    const refuse = (why: string): void => {
      refusals.note(`connection from ${address} refused: ${why}`)
      cutOff.add(raw)
      raw.destroy()
    }
    const mine = held.get(address) ?? 0
    const waiting = unadmitted.get(address) ?? 0
    if (mine >= limits.perAddress) return refuse(`it already holds ${mine}`)
    if (waiting >= limits.unadmittedPerAddress) return refuse(`it already has ${waiting} waiting to be admitted`)
    if (account && !account.take()) return refuse(`the file handles left are kept for the other ports (${account.held} open here)`)
    count(held, address, 1)
    count(unadmitted, address, 1)
    let admitted = false
    const admit = (): void => {
      if (admitted) return
      admitted = true
      count(unadmitted, address, -1)
    }
    raw.once('close', () => {
      passed(raw)
      admit()
      count(held, address, -1)
      account?.release()
    })
    if (isTls)
      deadline(raw, limits.handshakeTimeoutMs, `its TLS handshake did not finish within ${seconds(limits.handshakeTimeoutMs)}`, admit)
    else awaitRequest(raw, admit)
  })
  if (isTls) {
    // Through the handshake, a connection moves on to its next phase; a failed one is noted unless we cut it off.
    server.prependListener('secureConnection', (socket: TlsSocketWithParent) => {
      const raw = socket._parent ?? socket
      const entry = passed(raw)
      if (entry) awaitRequest(raw, entry.admit)
    })
    const noteFailure = o.logHandshakeFailures === false ? null : refusals
    server.on('tlsClientError', (err: Error, socket: TlsSocketWithParent) => handshakeFailed(err, socket, cutOff, noteFailure))
  }
  if (isHttp && limits.firstRequestTimeoutMs !== null) admitOnFirstRequest(server as http.Server, passed)
}

/** Per raw socket, the deadline of the phase it is in (handshake, first request) and how it is admitted once through. */
class PhaseDeadlines {
  private readonly pending = new WeakMap<net.Socket, { timer: NodeJS.Timeout; admit: () => void }>()

  constructor(private readonly expired: (raw: net.Socket, why: string) => void) {}

  start(raw: net.Socket, ms: number, why: string, admit: () => void): void {
    const timer = setTimeout(() => {
      this.pending.delete(raw)
      this.expired(raw, why)
    }, ms)
    timer.unref()
    this.pending.set(raw, { timer, admit })
  }

  /** The socket is through its phase: its deadline is cleared and its admit() handed back, or null if it had none. */
  passed(raw: net.Socket): { admit: () => void } | null {
    const entry = this.pending.get(raw)
    if (!entry) return null
    clearTimeout(entry.timer)
    this.pending.delete(raw)
    return entry
  }
}

function handshakeFailed(err: Error, socket: TlsSocketWithParent, cutOff: WeakSet<net.Socket>, refusals: SummarizedLog | null): void {
  socket.destroy()
  if (cutOff.has(socket._parent as net.Socket) || !refusals) return
  refusals.note(`TLS handshake from ${socket.remoteAddress ?? 'an unknown address'} refused (${tlsReason(err)})`)
}

/** On HTTP ports a connection is admitted by its first request. */
function admitOnFirstRequest(server: http.Server, passed: (raw: net.Socket) => { admit: () => void } | null): void {
  server.prependListener('request', (req: http.IncomingMessage) => {
    const socket = req.socket as TlsSocketWithParent
    passed(socket._parent ?? socket)?.admit()
  })
}

function count(map: Map<string, number>, address: string, by: number): void {
  const n = (map.get(address) ?? 0) + by
  if (n <= 0) map.delete(address)
  else map.set(address, n)
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`
