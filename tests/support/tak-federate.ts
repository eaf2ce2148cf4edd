// A TAK-Server-like federation v2 client for tests, written from shared/spec/tak-federation.md §2.3/§2.5: one HTTP/2
// connection with a leaf + CA identity, then ServerFederateGroupsStream → ClientEventStream (with version) →
// HealthCheck every interval → ServerROLStream and ClientFederateGroupsStream; ServerEventStream only after SERVING;
// ClientROLStream after the first SERVING health answer. Records everything it receives and how each call ended.
// It loads its own fig.proto (tak-proto.ts) and follows TAK's group rule (tak-groups.ts): the gateway it dials is a
// federate in the groups of its configured entry, and events pass only between it and users sharing a group.

import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { DetailedPeerCertificate } from 'node:tls'
import * as grpc from '@grpc/grpc-js'
import type { FederatedEventMessage, RolMessageWire } from '../../gateway/federation/tak/proto.ts'
import {
  DEFAULT_USERS,
  federateGroups,
  LatestSaBuffer,
  reachesFederate,
  usersReached,
  type TakGroupConfig,
  type TakGroupSet,
  type TakUser
} from './tak-groups.ts'
import { loadTakFig } from './tak-proto.ts'

export interface TakFederateOptions {
  port: number
  host?: string
  /** The federate's identity: key and leaf + CA chain (TAK reads certs[1] as the CA). */
  key: string
  certChain: string
  /** CA that issued the gateway's federation certificate. */
  ca: string
  /** Outgoing displayName (identity.name); TAK requires it non-empty. */
  name?: string
  serverId?: string
  /** HealthCheck cadence; 0 sends none (to prove the server's timeout). Default 3000 as TAK. */
  healthIntervalMs?: number
  /** This TAK Server's <federate>/<federateCA> entries; absent: the generic snippet (__ANON__) for whatever connects. */
  groupConfig?: TakGroupConfig
  /** Its users and their groups; default one user in __ANON__. `send()` sends as the first. */
  users?: TakUser[]
  /** `<buffer><latestSA enable="true"/>`: once ServerEventStream is open, each reachable user's latest SA goes out. */
  latestSA?: boolean
}

export interface CallEnd {
  code: grpc.status
  details: string
}

export class TakFederate extends EventEmitter {
  /** Calls in the order they were opened. */
  readonly callOrder: string[] = []
  /** Events from the gateway that reached at least one user (TAK's group rule). */
  readonly received: FederatedEventMessage[] = []
  /** Events from the gateway that no user shared a group with: TAK drops them. */
  readonly dropped: FederatedEventMessage[] = []
  /** What each user received, by name. */
  readonly delivered = new Map<string, FederatedEventMessage[]>()
  /** The groups this TAK Server gave the gateway (known once TLS is up). */
  groups: TakGroupSet | null = null
  private readonly users: TakUser[]
  private readonly latestSa = new LatestSaBuffer()
  readonly groupsReceived: { streamUpdate?: { status?: string } | null; federateGroups?: string[] }[] = []
  readonly rolReceived: RolMessageWire[] = []
  readonly healthAnswers: string[] = []
  /** How each stream ended (absent while open). */
  readonly ended = new Map<string, CallEnd>()
  /** Client-streaming calls the server answered (it must not before we half-close). */
  readonly answered: string[] = []
  private readonly client: grpc.Client
  private readonly calls: { cancel(): void }[] = []
  private eventOut: grpc.ClientWritableStream<unknown> | null = null
  private rolOut: grpc.ClientWritableStream<unknown> | null = null
  private healthTimer: NodeJS.Timeout | null = null
  private rolInOpen = false
  private rolIn: grpc.ClientReadableStream<RolMessageWire> | null = null
  private rolHeld = false
  private closed = false
  readonly uid = randomBytes(16).toString('hex')

  constructor(private readonly o: TakFederateOptions) {
    super()
    this.users = o.users ?? DEFAULT_USERS
    const { Client } = loadTakFig()
    this.client = new Client(
      `${o.host ?? '127.0.0.1'}:${o.port}`,
      grpc.credentials.createSsl(Buffer.from(o.ca), Buffer.from(o.key), Buffer.from(o.certChain), {
        // TAK does not check the host name of the server it dials (spec §3); it takes the federate's groups from the
        // chain it was sent: the leaf's fingerprint, and the second certificate for a <federateCA>.
        checkServerIdentity: (_host, cert) => {
          const chain = cert as DetailedPeerCertificate
          this.groups = federateGroups(o.groupConfig, chain.fingerprint256, chain.issuerCertificate?.fingerprint256)
          return undefined
        }
      }),
      { 'grpc.max_receive_message_length': 64 * 1_048_576, 'grpc.enable_retries': 0, 'grpc.ssl_target_name_override': 'tak-federation' }
    )
  }

  private get stub(): Record<string, (...args: unknown[]) => unknown> {
    return this.client as unknown as Record<string, (...args: unknown[]) => unknown>
  }

  private subscription(withVersion: boolean): unknown {
    return {
      filter: '',
      identity: {
        name: this.o.name ?? 'tak-test',
        uid: this.uid,
        type: 'FEDERATION_TAK_CLIENT',
        serverId: this.o.serverId ?? 'tak-test-server'
      },
      ...(withVersion ? { version: { major: 5, minor: 7, patch: 14, branch: 'RELEASE', variant: 'test' } } : {})
    }
  }

  private track(name: string, call: grpc.ClientReadableStream<unknown> | grpc.ClientWritableStream<unknown>): void {
    this.callOrder.push(name)
    this.calls.push(call)
    call.on('status', (s: grpc.StatusObject) => {
      if (!this.ended.has(name)) this.ended.set(name, { code: s.code, details: s.details })
      this.emit('ended', name, s)
    })
    call.on('error', () => {})
  }

  /** Open the session the way a TAK Server's outgoing connection does. */
  start(): this {
    const groups = this.stub.ServerFederateGroupsStream!(this.subscription(false)) as grpc.ClientReadableStream<
      TakFederate['groupsReceived'][number]
    >
    this.track('ServerFederateGroupsStream', groups)
    groups.on('data', (message) => {
      this.groupsReceived.push(message)
      this.emit('groups', message)
      if (message.streamUpdate?.status === 'SERVING') this.openEventOut()
    })

    const events = this.stub.ClientEventStream!(this.subscription(true)) as grpc.ClientReadableStream<FederatedEventMessage>
    this.track('ClientEventStream', events)
    events.on('data', (message) => {
      const reached = this.groups ? usersReached(this.groups, this.users) : []
      if (reached.length === 0) {
        this.dropped.push(message)
        return
      }
      for (const user of reached) this.delivered.set(user.name, [...(this.delivered.get(user.name) ?? []), message])
      this.received.push(message)
      this.emit('event', message)
    })

    const interval = this.o.healthIntervalMs ?? 3000
    if (interval > 0) {
      const check = (): void => {
        if (this.closed) return
        this.stub.HealthCheck!(
          { status: 'SERVING' },
          { deadline: Date.now() + 5000 },
          (err: grpc.ServiceError | null, answer?: { status: string }) => {
            if (this.closed) return
            this.healthAnswers.push(err ? `error ${err.code}` : answer!.status)
            if (!err && answer!.status === 'SERVING' && !this.rolInOpen) this.openRolIn()
            this.healthTimer = setTimeout(check, interval)
          }
        )
      }
      this.healthTimer = setTimeout(check, interval)
    }

    const rolOut = this.stub.ServerROLStream!((err: grpc.ServiceError | null) => {
      if (!err) this.answered.push('ServerROLStream')
    }) as grpc.ClientWritableStream<unknown>
    this.track('ServerROLStream', rolOut)
    this.rolOut = rolOut

    const groupsOut = this.stub.ClientFederateGroupsStream!((err: grpc.ServiceError | null) => {
      if (!err) this.answered.push('ClientFederateGroupsStream')
    }) as grpc.ClientWritableStream<unknown>
    this.track('ClientFederateGroupsStream', groupsOut)
    return this
  }

  private openEventOut(): void {
    if (this.eventOut || this.closed) return
    const out = this.stub.ServerEventStream!((err: grpc.ServiceError | null) => {
      if (!err) this.answered.push('ServerEventStream')
    }) as grpc.ClientWritableStream<unknown>
    this.track('ServerEventStream', out)
    this.eventOut = out
    // As FigFederateSubscription.java does when its ServerEventStream call is ready (tak-facts §3).
    if (this.o.latestSA && this.groups) for (const sa of this.latestSa.forFederate(this.groups, this.users)) out.write(sa)
    this.emit('serving')
  }

  private openRolIn(): void {
    this.rolInOpen = true
    const rolIn = this.stub.ClientROLStream!(this.subscription(false)) as grpc.ClientReadableStream<RolMessageWire>
    this.track('ClientROLStream', rolIn)
    rolIn.on('data', (message) => {
      this.rolReceived.push(message)
      this.emit('rol', message)
    })
    this.rolIn = rolIn
    if (this.rolHeld) rolIn.pause()
  }

  /** Stop reading what the server sends on ClientROLStream (now, or from when it opens): HTTP/2 flow control holds it. */
  holdRol(): void {
    this.rolHeld = true
    this.rolIn?.pause()
  }

  /** Resolves once ServerEventStream is open (SERVING arrived). */
  async serving(timeoutMs = 5000): Promise<void> {
    if (this.eventOut) return
    await this.waitUntil(() => this.eventOut !== null, timeoutMs, 'SERVING')
  }

  /** An event from this server's first user; see sendAs. */
  send(message: FederatedEventMessage): boolean {
    return this.sendAs(this.users[0]!.name, message)
  }

  /** An event from a user: written to the gateway only if the user shares a group with its federate (false if not). */
  sendAs(userName: string, message: FederatedEventMessage): boolean {
    this.userReports(userName, message)
    if (!this.eventOut) throw new Error('ServerEventStream is not open yet (no SERVING received)')
    const user = this.users.find((u) => u.name === userName)
    if (!user) throw new Error(`No TAK user '${userName}' in this emulation`)
    if (!this.groups || !reachesFederate(user, this.groups)) return false
    this.eventOut.write(message)
    return true
  }

  /** A user's event reached this TAK Server while no session is up: kept only as the user's latest SA. */
  userReports(userName: string, message: FederatedEventMessage): void {
    if (!this.users.some((u) => u.name === userName)) throw new Error(`No TAK user '${userName}' in this emulation`)
    this.latestSa.saw(userName, message)
  }

  sendRol(message: RolMessageWire): void {
    this.rolOut!.write(message)
  }

  /** Poll until `condition` holds. */
  async waitUntil(condition: () => boolean, timeoutMs = 5000, what = 'a condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /** The first received FederatedEvent that matches (already received or arriving). */
  async waitForEvent(match: (m: FederatedEventMessage) => boolean, timeoutMs = 5000): Promise<FederatedEventMessage> {
    await this.waitUntil(() => this.received.some(match), timeoutMs, 'a federated event')
    return this.received.find(match)!
  }

  /** How ClientEventStream ended (resolves when it does). */
  async sessionEnd(timeoutMs = 5000): Promise<CallEnd> {
    await this.waitUntil(() => this.ended.has('ClientEventStream'), timeoutMs, 'the end of ClientEventStream')
    return this.ended.get('ClientEventStream')!
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.healthTimer) clearTimeout(this.healthTimer)
    for (const call of this.calls) {
      try {
        call.cancel()
      } catch {
        // finished already
      }
    }
    this.client.close()
  }
}

/** A GeoEvent as a TAK Server federates it (a position 60 s fresh); `fields` adds to or replaces its fields. */
export function geoEvent(uid: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Date.now()
  return {
    sendTime: now,
    startTime: now,
    staleTime: now + 60_000,
    lat: 48.5,
    lon: 11.25,
    hae: 500,
    ce: 3,
    le: 4,
    uid,
    type: 'a-f-G-U-C',
    coordSource: 'h-e',
    other: `<detail><contact callsign="HQ-${uid}"/></detail>`,
    ...fields
  }
}
