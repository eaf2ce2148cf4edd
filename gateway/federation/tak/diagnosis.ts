// "Why nothing flows" on one TAK peer, from live facts: its toggles, how the last connection failed, when events last
// went each way in this session, and whether what arrives is already stale. Said in the operator's words, with what
// to do and whom to ask.

import type { DiagnosisDto, PeerStatusDto } from '../../api/contract.ts'
import type { ExternalPeerRecord } from '../../store/schema.ts'
import { ClockSkew } from '../../routing/clock-skew.ts'

/** The link is up, we send, and nothing came back for this long: TAK probably gives our federate no groups. */
export const DEFAULT_NOTHING_ARRIVES_MS = 10 * 60_000

/** Per peer: when events last went each way and how their clock compares (bounded: ClockSkew). */
interface Flow {
  lastInMs: number
  lastOutMs: number
  clock: ClockSkew
}

export class PeerFlows {
  private readonly flows = new Map<string, Flow>()
  /** Events from all peers that were already stale when they arrived (Health). */
  staleOnArrival = 0

  constructor(private readonly now: () => number = Date.now) {}

  private of(peerId: string): Flow {
    let flow = this.flows.get(peerId)
    if (!flow) this.flows.set(peerId, (flow = { lastInMs: 0, lastOutMs: 0, clock: new ClockSkew(256) }))
    return flow
  }

  /** A CoT event (not a contact, not an echo) decoded from the peer. */
  arrived(peerId: string, event: { uid: string; time: string; start: string; stale: string }): void {
    const flow = this.of(peerId)
    const now = this.now()
    flow.lastInMs = now
    if (flow.clock.note(event, now) === 'stale') this.staleOnArrival++
  }

  /** A CoT event went to the peer (contacts are bookkeeping, not counted). */
  sent(peerId: string): void {
    this.of(peerId).lastOutMs = this.now()
  }

  clockSkewSeconds(peerId: string): number | null {
    return this.flows.get(peerId)?.clock.seconds() ?? null
  }

  forget(peerId: string): void {
    this.flows.delete(peerId)
  }

  /** What is wrong with the peer's link, or null when nothing we can see is. */
  diagnose(peer: ExternalPeerRecord, status: PeerStatusDto, ourFingerprint: string, windowMs: number): DiagnosisDto | null {
    const offline = offlineDiagnosis(peer, status, ourFingerprint)
    if (offline || !status.connected) return offline
    const flow = this.flows.get(peer.id)
    if (!flow) return null
    if (flow.clock.mostlyStale()) {
      const skew = flow.clock.seconds()
      return {
        code: 'stale-on-arrival',
        message:
          `Events from ${peer.displayName} are already out of date when they arrive${skew !== null && skew < 0 ? ` (about ${-skew} s behind)` : ''}: ` +
          "devices drop them. The clock of one side is wrong: check this computer's date and time, then ask its admin to check the TAK Server's."
      }
    }
    return silence(peer, status, flow, this.now(), windowMs)
  }
}

/** What can be said without a live session: the toggles and how the last connection failed. */
export function offlineDiagnosis(peer: ExternalPeerRecord, status: PeerStatusDto, ourFingerprint: string): DiagnosisDto | null {
  if (!peer.incoming && !peer.outgoing)
    return { code: 'paused', message: 'Paused: In and Out are both off, so nothing passes either way. Turn either on to resume.' }
  if (status.connected) return null
  const error = status.lastError ?? ''
  if (
    /refused our certificate \((tlsv1 alert unknown ca|sslv3 alert bad certificate|sslv3 alert certificate unknown|tlsv13 alert certificate required)/i.test(
      error
    )
  )
    return {
      code: 'untrusted-ca',
      message:
        `${peer.displayName} does not trust our CA: ask its admin to add our CA (ca.pem, Connection info on this tab) to the ` +
        'federation truststore of their TAK Server (<federation-server><tls truststoreFile>) and restart federation there.'
    }
  if (peer.dial && refusedAfterHandshake(error))
    return {
      code: 'refused-by-peer',
      message:
        `${peer.displayName} took our certificate and then closed the connection: it does not know us yet. Send its admin our ` +
        `federation certificate's fingerprint (${ourFingerprint || 'see Connection info'}) and our CA (ca.pem) so they register us as a federate.`
    }
  return null
}

/**
 * The remote let the TLS handshake through and then refused: it cut the connection without a TLS alert (a Fedgate
 * closes an unregistered certificate at once; refusal-probe.ts says so) or ended the calls refusing us.
 */
function refusedAfterHandshake(error: string): boolean {
  return /completed the TLS handshake and then closed|PERMISSION_DENIED|UNAUTHENTICATED|not registered/i.test(error)
}

function silence(peer: ExternalPeerRecord, status: PeerStatusDto, flow: Flow, now: number, windowMs: number): DiagnosisDto | null {
  const since = status.since === null ? now : Date.parse(status.since)
  const windowStart = now - windowMs
  // Only once the link has been up a whole window, and we sent in it: silence while we are quiet proves nothing.
  if (!peer.incoming || !peer.outgoing || since > windowStart || flow.lastOutMs < windowStart || flow.lastInMs >= windowStart) return null
  const minutes = Math.max(1, Math.round(windowMs / 60_000))
  if (flow.lastInMs >= since)
    return {
      code: 'one-way',
      message:
        `Only our traffic flows: ${peer.displayName} sent events earlier in this session, but none for ${minutes} min while we keep sending. ` +
        'Ask its admin whether their side stopped sending to us (an Out switch turned off, or our federate\u2019s outbound group changed).'
    }
  return {
    code: 'nothing-arrives',
    message:
      `Connected, and we send, but nothing has arrived from ${peer.displayName} for ${minutes} min. Its TAK Server probably puts our ` +
      'federate in no group its users share: ask its admin to give the <federate> entry for us the groups its users are in ' +
      '(<inboundGroup> and <outboundGroup>), or to add a <federateCA> entry for our CA with those groups.'
  }
}
