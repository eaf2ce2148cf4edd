// Client role of TAK federation v2, dialing as a TAK Server's outgoing connection does (spec §2.3, §8): one HTTP/2
// connection with our identity (leaf + CA), the remote leaf pinned, ServerFederateGroupsStream → ClientEventStream →
// HealthCheck every few seconds → ServerROLStream, ServerEventStream after SERVING, ClientROLStream after the first
// healthy check. Reconnects with backoff and jitter, waiting after a drop so the remote has noticed (TAK's rule).

import net from 'node:net'
import tls from 'node:tls'
import { randomBytes, X509Certificate } from 'node:crypto'
import * as grpc from '@grpc/grpc-js'
import type { ExternalPeerRecord } from '../../store/schema.ts'
import type { FigService, FederatedEventMessage, RolMessageWire, SubscriptionMessage } from './proto.ts'
import { PeerSession, type SessionContext, type SessionLink } from './session.ts'
import { backlogOf, sendThroughOutbox, type DropSink } from './outbox.ts'
import { readRolInOrder } from './rol-flow.ts'
import { FEDERATION_WINDOW_BYTES } from './flow-control.ts'
import { readWithBudget } from '../../routing/read-budget.ts'
import { ClientEventWriter } from './direct-writes.ts'
import { reportDialFailure } from './refusal-probe.ts'
import { pinnedTo } from './rotation.ts'

export interface RedialPolicy {
  /** First retry after a failed attempt. Default 2000 ms. */
  baseDelayMs: number
  /** Longest wait between attempts. Default 60000 ms. */
  maxDelayMs: number
  /** Least wait after a live session dropped, so the remote has dropped it too. Default 15000 ms. */
  afterDropMs: number
}

export const DEFAULT_REDIAL: RedialPolicy = { baseDelayMs: 2000, maxDelayMs: 60_000, afterDropMs: 15_000 }

export interface DialerOptions {
  ctx: SessionContext
  service: FigService
  peerId: string
  /** Our federation key and certificate chain (leaf + CA, PEM). */
  key: string
  certChain: string
  redial: RedialPolicy
  /** HealthCheck cadence (TAK: 3 s; the server side gives up after 15 s). */
  healthIntervalMs: number
  maxMessageBytes: number
  /** Version we announce on ClientEventStream (major ≥ 1, or TAK never completes health checks). */
  version: { major: number; minor: number; patch: number; branch: string; variant: string }
  onSession(session: PeerSession): void
  onSessionEnded(session: PeerSession, reason: string): void
  onError(peerId: string, message: string): void
  /** True while the peer's own connection to us is up: then we do not open a second one (checked before each dial). */
  peerConnected?: () => boolean
}

/** Delay before attempt number `attempt` (0-based): base·2^attempt capped, with up to 50 % jitter taken off. */
export function backoffDelay(attempt: number, policy: RedialPolicy, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30))
  return Math.round(raw * (0.5 + random() * 0.5))
}

interface Attempt {
  client: grpc.Client
  /** identity.uid of this connection's Subscriptions. */
  uid: string
  calls: { cancel(): void }[]
  healthTimer: NodeJS.Timeout | null
  session: PeerSession | null
  eventOut: ClientEventWriter | null
  rolOut: grpc.ClientWritableStream<unknown> | null
  rolIn: boolean
  done: boolean
}

export class PeerDialer {
  private attemptNo = 0
  private timer: NodeJS.Timeout | null = null
  private current: Attempt | null = null
  private stopped = false

  constructor(private readonly o: DialerOptions) {}

  start(): void {
    this.schedule(0)
  }

  /** Stop dialing; a live session ends with `code` (an error status, so the remote knows). */
  stop(reason = 'Dialing stopped.', code: grpc.status = grpc.status.UNAVAILABLE): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.current) this.teardown(this.current, reason, code)
  }

  get session(): PeerSession | null {
    return this.current?.session ?? null
  }

  private peer(): ExternalPeerRecord | null {
    return this.o.ctx.store.data.externalPeers.find((p) => p.id === this.o.peerId) ?? null
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      this.connect().catch((err: unknown) => this.failed((err as Error).message))
    }, delayMs)
    this.timer.unref()
  }

  private failed(message: string): void {
    if (this.stopped) return
    this.o.onError(this.o.peerId, message)
    this.schedule(backoffDelay(this.attemptNo++, this.o.redial))
  }

  private async connect(): Promise<void> {
    const peer = this.peer()
    if (!peer?.dial || this.stopped) return
    if (this.o.peerConnected?.()) {
      // Both ends configured to dial: one connection carries everything, ours waits until theirs is gone.
      this.schedule(this.o.redial.afterDropMs)
      return
    }
    const { address, port } = peer.dial
    // Trust: the remote's CA when given, else whatever chain the pinned leaf came with (checked again on the real connection).
    const roots = peer.dial.caPem ?? (await this.probeChain(address, port, peer))
    if (this.stopped) return
    // An intermediate CA is enough to trust: TAK Servers often present leaf + intermediate without their root, and an
    // operator may paste the intermediate. The pinned fingerprint stays the trust decision (checkServerIdentity).
    const secureContext = tls.createSecureContext({ ca: roots, key: this.o.key, cert: this.o.certChain, allowPartialTrustChain: true })
    const credentials = grpc.credentials.createFromSecureContext(secureContext, {
      checkServerIdentity: (_host, cert) => {
        if (!pinnedTo(peer, cert.fingerprint256)) return new Error(mismatch(address, port, cert.fingerprint256, peer.fingerprint))
        this.o.ctx.fingerprints?.presented(peer.id, cert.fingerprint256)
        return undefined
      }
    })
    const options: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': this.o.maxMessageBytes,
      'grpc.max_send_message_length': this.o.maxMessageBytes,
      'grpc.enable_retries': 0,
      'grpc.use_local_subchannel_pool': 1,
      // Our receive window as the dialing side (see flow-control.ts).
      'grpc-node.flow_control_window': FEDERATION_WINDOW_BYTES
    }
    // TAK certificates carry their own host's name, never checked (spec §3); a fixed SNI avoids Node's IP-as-SNI warning.
    if (net.isIP(address)) options['grpc.ssl_target_name_override'] = 'tak-federation'
    const target = net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`
    const client = new this.o.service.Client(target, credentials, options)
    const attempt: Attempt = {
      client,
      uid: randomBytes(16).toString('hex'),
      calls: [],
      healthTimer: null,
      session: null,
      eventOut: null,
      rolOut: null,
      rolIn: false,
      done: false
    }
    this.current = attempt
    this.openCalls(attempt, peer)
  }

  /** The Subscription each server-streaming call opens with; one identity uid per connection (spec §2.5). */
  private subscription(attempt: Attempt, withVersion: boolean): SubscriptionMessage {
    const us = this.o.ctx.us
    return {
      filter: '',
      identity: { name: us.name || us.federateId, uid: attempt.uid, type: 'FEDERATION_TAK_CLIENT', serverId: us.federateId },
      ...(withVersion ? { version: this.o.version } : {})
    }
  }

  private openCalls(attempt: Attempt, peer: ExternalPeerRecord): void {
    const c = attempt.client as unknown as Record<string, (...args: unknown[]) => unknown>
    const drop = (reason: string): void => this.dropped(attempt, reason)
    const ignore = (): void => {}

    // a. ServerFederateGroupsStream first: its SERVING opens our event channel to them.
    const groups = c.ServerFederateGroupsStream!(this.subscription(attempt, false)) as grpc.ClientReadableStream<{
      streamUpdate?: { status?: string }
    }>
    attempt.calls.push(groups)
    groups.on('data', (message) => {
      if (message.streamUpdate?.status === 'SERVING') this.serving(attempt, peer)
    })
    groups.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.UNIMPLEMENTED) this.serving(attempt, peer)
    })

    // b. ClientEventStream: their CoT to us. An error or end here means the session is over.
    const events = c.ClientEventStream!(this.subscription(attempt, true)) as grpc.ClientReadableStream<FederatedEventMessage>
    attempt.calls.push(events)
    readWithBudget(events, (message: FederatedEventMessage) => attempt.session?.onFederatedEvent(message))
    events.on('error', (err: grpc.ServiceError) => drop(describe(err)))
    events.on('end', () => drop('The remote ended the event stream.'))

    // c. HealthCheck on a fixed cadence, first one after one interval.
    const check = (): void => {
      if (attempt.done) return
      const deadline = new Date(Date.now() + Math.max(2000, this.o.healthIntervalMs * 2))
      const fingerprints = this.o.ctx.fingerprints
      const metadata = fingerprints?.outgoing() ?? new grpc.Metadata()
      const call = c.HealthCheck!({ status: 'SERVING' }, metadata, { deadline }, (err: grpc.ServiceError | null, response?: unknown) => {
        if (attempt.done) return
        const status = (response as { status?: string } | undefined)?.status
        if (err) return drop(`Health check failed: ${describe(err)}`)
        if (status !== 'SERVING') return drop(`The remote answered the health check with ${status ?? 'nothing'}.`)
        attempt.session?.onHealth()
        this.attemptNo = 0
        if (!attempt.rolIn) this.openRolIn(attempt)
        attempt.healthTimer = setTimeout(check, this.o.healthIntervalMs)
        attempt.healthTimer.unref()
      }) as grpc.ClientUnaryCall
      if (fingerprints) call.on('metadata', (answer: grpc.Metadata) => fingerprints.received(this.o.peerId, answer))
    }
    attempt.healthTimer = setTimeout(check, this.o.healthIntervalMs)
    attempt.healthTimer.unref()

    // d. ServerROLStream: ROL we send them, opened now and kept open. grpc-js reports the end of a client-streaming
    // call only to its callback (no 'error' event), and would still complete writes into the finished call: so when
    // the remote ends it (a package over its message limit, say), nothing more is written there and no package counts
    // as shared. The session goes on for CoT; packages wait for the next session (redialling now would only send the
    // same package into the same limit every 15 s).
    const rolOut = c.ServerROLStream!((err: grpc.ServiceError | null) => {
      if (attempt.done || attempt.rolOut !== rolOut) return
      attempt.rolOut = null
      const reason = `The remote ended our data-package stream${err ? `: ${describe(err)}` : ''}; packages wait for the next session.`
      this.o.ctx.log.warn(reason)
      this.o.onError(this.o.peerId, reason)
    }) as grpc.ClientWritableStream<unknown>
    rolOut.on('error', ignore)
    attempt.rolOut = rolOut
    attempt.calls.push(rolOut)

    // ClientFederateGroupsStream: we map by network, not TAK groups, so it stays open and silent (its end is harmless).
    const groupsOut = c.ClientFederateGroupsStream!((err: grpc.ServiceError | null) => void err) as grpc.ClientWritableStream<unknown>
    groupsOut.on('error', ignore)
    attempt.calls.push(groupsOut)
  }

  /** SERVING arrived: open ServerEventStream (once), and the session is live. */
  private serving(attempt: Attempt, peer: ExternalPeerRecord): void {
    if (attempt.done || attempt.eventOut) return
    const c = attempt.client as unknown as Record<string, (...args: unknown[]) => unknown>
    // Its end comes only to this callback (client-streaming): our CoT can no longer reach them, so the session is over.
    const eventOut = c.ServerEventStream!((err: grpc.ServiceError | null) => {
      this.dropped(attempt, `The remote ended our event stream${err ? `: ${describe(err)}` : ''}.`)
    }) as grpc.ClientWritableStream<unknown>
    eventOut.on('error', () => {})
    attempt.eventOut = new ClientEventWriter(
      eventOut,
      this.o.service.definition.ServerEventStream!.requestSerialize,
      this.o.maxMessageBytes
    )
    attempt.calls.push(eventOut)
    const link: SessionLink = {
      sendEvent: (message: FederatedEventMessage | Buffer, position: boolean, onDrop: DropSink) =>
        sendThroughOutbox(attempt.eventOut, message, position, onDrop),
      // Not before ClientROLStream is open: TAK drops a client's ROL while that session has none (spec §2.3 step 6).
      rolStream: () => (attempt.rolIn ? attempt.rolOut : null),
      backlog: () => backlogOf(attempt.eventOut),
      // Ended from our side (peer removed, replaced by a newer session): tear down, and redial unless stopped.
      end: (_code, details) => this.dropped(attempt, details)
    }
    const session = new PeerSession(this.o.ctx, peer.id, peer.networkId, 'client', `${peer.dial?.address}:${peer.dial?.port}`, link)
    attempt.session = session
    this.o.onSession(session)
    session.ready()
  }

  private openRolIn(attempt: Attempt): void {
    const c = attempt.client as unknown as Record<string, (...args: unknown[]) => unknown>
    attempt.rolIn = true
    const rolIn = c.ClientROLStream!(this.subscription(attempt, false)) as grpc.ClientReadableStream<RolMessageWire>
    attempt.calls.push(rolIn)
    readRolInOrder(
      rolIn,
      async (message: RolMessageWire) => attempt.session?.onRol(message),
      (err) => this.o.ctx.log.warn(`ROL handling failed: ${err.message}`)
    )
    rolIn.on('error', (err: grpc.ServiceError) => this.dropped(attempt, `ROL stream failed: ${describe(err)}`))
    // Our ROL waited for this (link.rolStream): send it now.
    attempt.session?.rolStreamOpened()
  }

  /** The live session (or the attempt) failed: tear it all down and dial again later. */
  private dropped(attempt: Attempt, reason: string): void {
    if (attempt.done) return
    const hadSession = attempt.session !== null
    this.teardown(attempt, reason, null)
    if (this.stopped) return
    reportDialFailure(this.o, reason, hadSession ? null : this.peer()?.dial, () => !this.stopped && !this.current?.session)
    const delay = backoffDelay(this.attemptNo++, this.o.redial)
    this.schedule(hadSession ? Math.max(this.o.redial.afterDropMs, delay) : delay)
  }

  private teardown(attempt: Attempt, reason: string, code: grpc.status | null): void {
    if (attempt.done) return
    attempt.done = true
    if (attempt.healthTimer) clearTimeout(attempt.healthTimer)
    // As a client we cannot send a status; cancelling every call (RST_STREAM) and closing the channel is our "error".
    void code
    for (const call of attempt.calls) {
      try {
        call.cancel()
      } catch {
        // already finished
      }
    }
    attempt.client.close()
    if (attempt.session && !attempt.session.isEnded) {
      attempt.session.end(reason, null)
      this.o.onSessionEnded(attempt.session, reason)
    }
    if (this.current === attempt) this.current = null
  }

  /**
   * One TLS handshake to read the remote's chain when no CA was given: refuses a leaf whose fingerprint is not the
   * registered one, and returns the chain (PEM) to trust for the real connection, which checks the fingerprint again.
   */
  private probeChain(address: string, port: number, peer: ExternalPeerRecord): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: address,
        port,
        key: this.o.key,
        cert: this.o.certChain,
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
        ...(net.isIP(address) ? {} : { servername: address })
      })
      const timer = setTimeout(
        () => socket.destroy(new Error(`The TAK Server at ${address}:${port} did not complete the TLS handshake in time.`)),
        10_000
      )
      socket.once('secureConnect', () => {
        clearTimeout(timer)
        const leaf = socket.getPeerCertificate(true)
        if (!leaf || !leaf.raw) {
          socket.destroy()
          return reject(new Error(`The TAK Server at ${address}:${port} presented no certificate.`))
        }
        if (!pinnedTo(peer, leaf.fingerprint256)) {
          socket.destroy()
          return reject(new Error(mismatch(address, port, leaf.fingerprint256, peer.fingerprint)))
        }
        const pems: string[] = []
        let cert: tls.DetailedPeerCertificate | undefined = leaf
        const seen = new Set<string>()
        while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
          seen.add(cert.fingerprint256)
          pems.push(new X509Certificate(cert.raw).toString())
          cert = cert.issuerCertificate
        }
        socket.end()
        resolve(pems.join(''))
      })
      socket.once('error', (err) => {
        clearTimeout(timer)
        reject(new Error(`Could not reach the TAK Server at ${address}:${port}: ${err.message}`))
      })
    })
  }
}

function mismatch(address: string, port: number, actual: string, expected: string): string {
  return (
    `The TAK Server at ${address}:${port} presented certificate ${actual}, not the registered ${expected}. ` +
    'Check the fingerprint registered for this peer, or ask its admin which certificate it uses.'
  )
}

/**
 * A gRPC failure as the peer row shows it: what went wrong in plain words first, with the system's code kept in
 * parentheses (an admin on the other side may search for it). grpc-js wraps a failed dial as "No connection
 * established. Last error: Error: connect ECONNREFUSED 10.0.0.5:9001 (<time>). Resolution note: …".
 */
export function describe(err: Pick<grpc.ServiceError, 'details' | 'message' | 'code'>): string {
  const said = err.details || err.message || `gRPC status ${err.code}`
  // What went wrong, out of grpc-js's wrapping (our own refusal of a certificate, in checkServerIdentity, too).
  const raw = /Last error: (?:Error: )?([\s\S]*?)(?: \(\d{4}-\d\d-\d\dT[^)]*\))?\.? Resolution note:/.exec(said)?.[1]?.trim() || said
  // The remote's TLS refused our certificate (TAK's Java TLS sends an alert): the commonest setup slip.
  const alert =
    /(tlsv1 alert unknown ca|sslv3 alert bad certificate|sslv3 alert certificate unknown|tlsv13 alert certificate required)/i.exec(raw)
  if (alert)
    return `The TAK Server refused our certificate (${alert[1]!.toLowerCase()}): has its admin put our CA (ca.pem, External TAK Servers tab) in its federation truststore?`
  const plain: [RegExp, string][] = [
    [/ECONNREFUSED/, 'Nothing accepts connections at that address and port: is the TAK Server running, and its federation port open?'],
    [/ETIMEDOUT|timed out/i, 'No answer from that address in time: check the address, the network and firewalls on the way.'],
    [/ENOTFOUND|EAI_AGAIN/, 'That host name does not resolve: check the spelling, or use an IP address.'],
    [/EHOSTUNREACH|ENETUNREACH/, 'That address cannot be reached from this machine: check the network it is on.'],
    [/ECONNRESET|socket hang up/i, 'The connection was cut by the other side or something on the way.']
  ]
  const known = plain.find(([pattern]) => pattern.test(raw))
  if (!known) return raw
  const code = /\b(E[A-Z]+)\b(?:\s+(\S+:\d+))?/.exec(raw)
  return `${known[1]} (${code ? [code[1], code[2]].filter(Boolean).join(' ') : raw})`
}
