// One live TAK federation session (either role) as the router sees it: an Endpoint of kind 'peer' on the peer's
// network. Applies the peer's toggles live (Out in deliver(), In before publish), drops echoes of our own events,
// keeps the remote contact list for direct messages, announces our devices as contacts, and counts traffic.

import { status as grpcStatus } from '@grpc/grpc-js'
import type { CotEvent } from '../../cot/event.ts'
import { deleteEvent } from '../../cot/build.ts'
import { CotLimitError } from '../../cot/parse.ts'
import type { Endpoint, Origin } from '../../routing/types.ts'
import { predicateOf } from '../../routing/traffic-filter.ts'
import type { ExternalPeerRecord } from '../../store/schema.ts'
import type { PendingRol } from './packages.ts'
import type { RolMessage } from './rol.ts'
import { carriesOurProvenance, contactMessage, fromGeoEvent, relayedFederatedEvent, toFederatedEvent } from './mapping.ts'
import { trailFromPeer } from '../../routing/relay.ts'
import { isOversize, type FederatedEventMessage, type OversizeEvent, type RolMessageWire } from './proto.ts'
import type { DropSink } from './outbox.ts'
import { RolSender, type RolStream } from './rol-flow.ts'
import { RemoteContacts } from './remote-contacts.ts'
import type { SessionContext } from './session-context.ts'

export type { SessionContext } from './session-context.ts'

const FILESHARE_TYPE = 'b-f-t-r'

/** Each event's FederatedEvent bytes (null: not federated), built once for all of this gateway's peers. */
function federatedBytesOf(event: CotEvent, ctx: SessionContext): Buffer | null {
  let bytes = ctx.encodedEvents.get(event)
  if (bytes === undefined) {
    const message = toFederatedEvent(event, ctx.us)
    bytes = message ? ctx.encodeEvent(message) : null
    ctx.encodedEvents.set(event, bytes)
  }
  return bytes
}

/** How a session writes to its peer; the role (server or client) decides which gRPC streams carry it. */
export interface SessionLink {
  /** Send or queue one FederatedEvent (outbox.ts): whether it will go; drops, now or later, go to `onDrop`. */
  sendEvent(message: FederatedEventMessage | Buffer, position: boolean, onDrop: DropSink): boolean
  /** The stream our ROL messages go out on, once open (the session's RolSender writes to it, rol-flow.ts). */
  rolStream(): RolStream | null
  /** FederatedEvents waiting to go to this peer (outbox.ts). */
  backlog(): { messages: number; bytes: number }
  /** End the session with an error status (never OK) so a TAK client reconnects. */
  end(code: grpcStatus, details: string): void
}

let sessionCounter = 0

export class PeerSession implements Endpoint {
  readonly id: string
  readonly kind = 'peer' as const
  readonly callsign = null
  readonly uid = null
  readonly startedAt = Date.now()
  /** Remote contacts (uid → callsign) the peer announced: direct messages to them go to this peer. */
  readonly remoteContacts: RemoteContacts
  /** Our device contacts already announced (uid → callsign). */
  private readonly announced = new Map<string, string>()
  private attached = false
  /** Out was on when we last looked (syncPicture): the picture went then. */
  private pictureOut = false
  private ended = false
  /** Counters for tests and health: echoes, events refused by the In toggle, oversize events in, link drops by reason. */
  readonly dropped = { echo: 0, incomingOff: 0, outgoingOff: 0, oversize: 0, oldestPosition: 0, full: 0, closed: 0, notRelayed: 0 }
  /** The peer's own federate id, learnt from an event it sent first hand: relayed events that passed it do not go back. */
  private remoteFederateId: string | null = null
  /** ROL to the peer: in order, one package read at a time, bounded by bytes on their way (rol-flow.ts). */
  private readonly rol: RolSender
  /** Link drops (outbox.ts), counted here and for the whole gateway. */
  private readonly onDrop: DropSink = (reason, count) => {
    this.dropped[reason] += count
    this.ctx.linkDrops[reason] += count
    this.ctx.board.countDropped(this.peerId, count)
  }

  constructor(
    private readonly ctx: SessionContext,
    readonly peerId: string,
    readonly networkId: string,
    readonly role: 'server' | 'client',
    readonly remote: string,
    private readonly link: SessionLink
  ) {
    this.id = `tak-${role}-${peerId}-${++sessionCounter}`
    this.remoteContacts = new RemoteContacts(ctx.router.cacheBudget)
    this.rol = new RolSender(
      () => link.rolStream(),
      this.onDrop,
      (err) => ctx.log.warn(`a data-package message to peer '${this.peer()?.displayName ?? peerId}' was not sent: ${err.message}`)
    )
  }

  get isEnded(): boolean {
    return this.ended
  }

  /** The peer's current record (toggles change live), or null once removed. */
  peer(): ExternalPeerRecord | null {
    return this.ctx.store.data.externalPeers.find((p) => p.id === this.peerId && p.networkId === this.networkId) ?? null
  }

  /** The outbound event stream is open: join the router, announce our devices, offer packages. */
  ready(): void {
    if (this.ended || this.attached) return
    this.attached = true
    this.ctx.router.attach(this)
    this.syncContacts()
    this.syncPicture()
    this.offerPackages()
  }

  /**
   * The network's current picture (positions, markers, shapes, active alerts of its own devices) goes to a peer that
   * just joined, as TAK gives a new federate the latest SA: otherwise its users see our devices only at their next
   * report, and a marker placed once never. Through the normal bounded queue; nothing under Out off. Out switched
   * back on sends it again: what was placed while it was off would otherwise never arrive.
   */
  syncPicture(): void {
    if (this.ended || !this.attached) return
    const out = this.peer()?.outgoing === true
    const wasOut = this.pictureOut
    this.pictureOut = out
    if (!out || wasOut) return
    const origin: Origin = { kind: 'device', networkId: this.networkId, endpointId: '' }
    for (const event of this.ctx.router.latestPicture(this.networkId)) this.deliver(event, origin)
  }

  // ─── outbound ──────────────────────────────────────────────────────────────

  deliver(event: CotEvent, origin: Origin): void {
    // Single hop unless relayed: what came from a federate goes to another only with its trail (the router's relay).
    if ((origin.kind === 'peer' && !origin.trail) || this.ended) return
    const peer = this.peer()
    if (!peer) return
    if (!peer.outgoing) {
      this.dropped.outgoingOff++
      return
    }
    // The Out filter by kind of traffic (issue 20); a fileshare it keeps back takes its package with it.
    if (!predicateOf(peer.outFilter)(event.type)) {
      this.ctx.board.countFiltered(this.peerId, 'out')
      return
    }
    if (origin.trail) {
      this.relayOut(event, origin.trail, peer)
      return
    }
    if (event.type === FILESHARE_TYPE) {
      this.sendFileshare(event, peer)
      return
    }
    const bytes = federatedBytesOf(event, this.ctx)
    if (!bytes) return
    this.write(bytes, event.type.startsWith('a-'))
  }

  /** Relay (issue 20): only with this peer's relay on, within its limit, and never back to a federate on the trail. */
  private relayOut(event: CotEvent, trail: NonNullable<Origin['trail']>, peer: ExternalPeerRecord): void {
    const back = this.remoteFederateId !== null && trail.federates.some((f) => f.federationServerId === this.remoteFederateId)
    if (!peer.relay || trail.hops >= peer.maxHops || back || event.type === FILESHARE_TYPE) {
      this.dropped.notRelayed++
      return
    }
    const message = relayedFederatedEvent(event, this.ctx.us, trail, peer.maxHops)
    if (message) this.write(this.ctx.encodeEvent(message), event.type.startsWith('a-'))
  }

  reaches(dest: CotEvent['dest']): boolean {
    // A mission's subscribers may be on the TAK Server: it gets the names (missionNames) and decides.
    if ((dest.missions ?? []).length > 0) return true
    if (dest.uids.some((uid) => this.remoteContacts.has(uid))) return true
    return dest.callsigns.some((c) => this.remoteContacts.hasCallsign(c))
  }

  private write(message: FederatedEventMessage | Buffer, position: boolean): boolean {
    const queued = this.link.sendEvent(message, position, this.onDrop)
    if (queued) {
      this.ctx.board.countOut(this.peerId)
      this.ctx.flows.sent(this.peerId)
    }
    return queued
  }

  /**
   * Contacts are bookkeeping, not traffic: not counted as events out. Encoded first, so the link's outbox counts them
   * by their bytes (a device picks its own uid and callsign, each up to Streaming:MaxEventBytes).
   */
  private sendContact(message: FederatedEventMessage): boolean {
    return this.link.sendEvent(this.ctx.encodeEvent(message), false, this.onDrop)
  }

  /** FederatedEvents waiting to go to this peer. */
  backlog(): { messages: number; bytes: number } {
    return this.link.backlog()
  }

  /** Announce our devices on the network as contacts (CREATE), and withdraw the ones that left (DELETE). */
  syncContacts(): void {
    if (this.ended || !this.attached) return
    const peer = this.peer()
    if (!peer?.outgoing) return
    const current = new Map<string, string>()
    for (const endpoint of this.ctx.router.endpointsOn(this.networkId)) {
      if (endpoint.kind === 'device' && endpoint.uid && endpoint.callsign) current.set(endpoint.uid, endpoint.callsign)
    }
    for (const [uid, callsign] of current) {
      if (this.announced.get(uid) === callsign) continue
      if (this.sendContact(contactMessage('CREATE', uid, callsign, this.ctx.us))) this.announced.set(uid, callsign)
    }
    for (const [uid, callsign] of this.announced) {
      if (current.has(uid)) continue
      if (this.sendContact(contactMessage('DELETE', uid, callsign, this.ctx.us))) this.announced.delete(uid)
    }
  }

  private sendFileshare(event: CotEvent, peer: ExternalPeerRecord): void {
    const packages = this.ctx.packages
    if (!packages) return
    try {
      for (const rol of packages.fileshareToPeer(event, peer)) this.queueRol(rol)
    } catch (err) {
      this.ctx.log.warn(`a fileshare for peer '${peer.displayName}' was not sent: ${(err as Error).message}`)
    }
  }

  /** DP-Out: packages of the network the peer does not have yet (each read when its turn to go comes). */
  offerPackages(): void {
    const packages = this.ctx.packages
    const peer = this.peer()
    if (!packages || !peer || this.ended) return
    for (const item of packages.packagesToFederate(peer)) this.queueRol(item)
  }

  /** The peer opened the stream our ROL goes out on: send what waits. */
  rolStreamOpened(): void {
    this.rol.pump()
  }

  /** Data-package messages waiting for this peer, and package bytes on their way. */
  rolBacklog(): { messages: number; bytes: number } {
    return this.rol.backlog()
  }

  /** Queue a ROL message; a package it creates on the peer is recorded as shared once the stream has taken it. */
  queueRol(pending: PendingRol): boolean {
    const packages = this.ctx.packages
    return this.rol.send({
      key: pending.key,
      holds: pending.holds,
      build: async () => {
        const rol = await pending.build()
        return rol && this.toWire(rol)
      },
      onSent: async () => {
        const peer = this.peer()
        if (pending.sharesPackage && packages && peer) await packages.markSharedWithPeer(pending.sharesPackage, peer)
      }
    })
  }

  private toWire(rol: RolMessage): RolMessageWire {
    return {
      program: rol.program,
      payload: rol.payload.map((p) => ({ type: p.type ?? 'OTHER', data: p.data, description: p.description ?? '' })),
      federateProvenance: [{ federationServerId: this.ctx.us.federateId, federationServerName: this.ctx.us.name }]
    }
  }

  // ─── inbound ───────────────────────────────────────────────────────────────

  onFederatedEvent(message: FederatedEventMessage | OversizeEvent): void {
    if (this.ended) return
    this.ctx.board.countIn(this.peerId)
    if (isOversize(message)) {
      this.dropped.oversize++
      this.ctx.oversizeIn++
      // Once per session in the log (the health view counts them all).
      if (this.dropped.oversize === 1) {
        this.ctx.log.warn(
          `peer '${this.peer()?.displayName ?? this.peerId}' sent an event of ${message.oversizeBytes} bytes, over Streaming:MaxEventBytes; dropped`
        )
      }
      return
    }
    if (carriesOurProvenance(message, this.ctx.us.federateId)) {
      this.dropped.echo++
      return
    }
    const peer = this.peer()
    if (!peer) return
    if (message.contact && message.contact.uid) {
      this.onContact(message.contact.operation, message.contact.uid, message.contact.callsign, peer)
      return
    }
    if (!message.event) return
    if (!peer.incoming) {
      this.dropped.incomingOff++
      return
    }
    let event: CotEvent | null
    try {
      event = fromGeoEvent(message.event)
    } catch (err) {
      if (!(err instanceof CotLimitError)) throw err
      // Counted with the oversize events: no device could have sent it (parse's caps), so none is sent it.
      this.dropped.oversize++
      this.ctx.oversizeIn++
      if (this.dropped.oversize === 1)
        this.ctx.log.warn(
          `peer '${this.peer()?.displayName ?? this.peerId}' sent an event over the limits of a CoT event (${err.message}); dropped`
        )
      return
    }
    if (!event) return
    if (!predicateOf(peer.inFilter)(event.type)) {
      this.ctx.board.countFiltered(this.peerId, 'in')
      return
    }
    this.ctx.flows.arrived(this.peerId, event)
    const provenance = message.federateProvenance
    // First hand (TAK stamps one provenance entry at the first sender): that entry is the peer itself.
    if (this.remoteFederateId === null && provenance?.length === 1 && (message.federateHops?.currentHops ?? 1) <= 1)
      this.remoteFederateId = provenance[0]!.federationServerId.slice(0, 256)
    const trail = trailFromPeer(this.networkId, message.federateHops?.currentHops, provenance)
    this.ctx.router.publish(event, { kind: 'peer', networkId: this.networkId, endpointId: this.id, peerId: this.peerId, trail })
  }

  private onContact(operation: string, uid: string, callsign: string, peer: ExternalPeerRecord): void {
    if (operation === 'DELETE') {
      const known = this.remoteContacts.delete(uid)
      // Gone from their side: devices connecting later are not shown its last position either.
      this.ctx.router.forgetPosition(this.networkId, uid, { viaPeerOnly: true })
      // TAK turns a contact DELETE into a local t-x-d-d so devices drop the marker.
      if (known && peer.incoming) {
        this.ctx.router.publish(deleteEvent(uid, 'a-f-G'), {
          kind: 'peer',
          networkId: this.networkId,
          endpointId: this.id,
          peerId: this.peerId
        })
      }
      return
    }
    if (operation === 'CREATE' || operation === 'UPDATE') {
      this.remoteContacts.set(uid, callsign)
    }
  }

  async onRol(message: { program: unknown; payload?: unknown }): Promise<void> {
    if (this.ended) return
    this.ctx.board.heard(this.peerId)
    const packages = this.ctx.packages
    if (!packages) return
    for (const reply of await packages.onPeerRol(this.peerId, this.networkId, message)) this.queueRol(reply)
  }

  onHealth(): void {
    this.ctx.board.heard(this.peerId)
  }

  // ─── end ───────────────────────────────────────────────────────────────────

  /** Leave the router; with `code`, also tell the peer with that error status. Idempotent. */
  end(reason: string, code: grpcStatus | null = grpcStatus.UNAVAILABLE): void {
    if (this.ended) return
    this.ended = true
    this.rol.close()
    this.remoteContacts.clear()
    if (this.attached) this.ctx.router.detach(this.id)
    this.attached = false
    if (code !== null) {
      try {
        this.link.end(code, reason)
      } catch {
        // the transport is already gone
      }
    }
  }
}
