// Certificate rotation on live TAK federation links: each Fedgate tells a peer its next federation fingerprint in a
// gRPC metadata header on HealthCheck (the dialing side on the request, the accepting side on the answer), peers
// pinned to a next fingerprint accept it and promote it when presented, and a daily check switches by itself.
//
// Why a HealthCheck header: it repeats every few seconds on a live link, so a certificate prepared while the link is
// up is learned within one health interval; TAK Server sends no such header and grpc-java ignores unknown ones, so
// TAK peers are untouched. It is read only on a connection whose TLS leaf already matched the peer's pin, and can only
// add a second pin to that same peer (never remove or replace one, never one another peer holds).

import * as grpc from '@grpc/grpc-js'
import type { Logger } from '../../log.ts'
import type { Pki } from '../../pki/pki.ts'
import { switchDue } from '../../pki/federation-rotation.ts'
import type { Store } from '../../store/store.ts'

export const NEXT_FINGERPRINT_HEADER = 'x-fedgate-next-fingerprint'
const FINGERPRINT = /^(?:[0-9A-F]{2}:){31}[0-9A-F]{2}$/
/** A peer may change what it announces at most this often (each change is one db.json write). */
const LEARN_INTERVAL_MS = 60_000
const DAY_MS = 86_400_000

export interface FingerprintExchange {
  /** Header for our side of a HealthCheck (request when dialing, answer when accepting). */
  outgoing(): grpc.Metadata
  /** A HealthCheck header from a peer over its pinned connection. */
  received(peerId: string, metadata: grpc.Metadata): void
  /** The peer's TLS leaf matched one of its pins: its next one becomes its only one. */
  presented(peerId: string, fingerprint: string): void
}

export function fingerprintExchange(o: { store: Store; pki: Pki; log: Logger; changed(networkId: string): void }): FingerprintExchange {
  const lastLearned = new Map<string, number>()
  const save = (peerId: string, apply: (peer: { fingerprint: string; nextFingerprint?: string | null }) => boolean, what: string): void => {
    let networkId: string | null = null
    o.store
      .update((doc) => {
        const peer = doc.externalPeers.find((p) => p.id === peerId)
        if (peer && apply(peer)) networkId = peer.networkId
      })
      .then(() => {
        if (networkId === null) return
        o.log.info(`TAK federation: ${what}`)
        o.changed(networkId)
      })
      .catch((err: Error) => o.log.warn(`TAK federation: could not save a peer's certificate change (${err.message}).`))
  }
  return {
    outgoing() {
      const metadata = new grpc.Metadata()
      const next = o.pki.rotation.federationNext?.fingerprint
      if (next) metadata.set(NEXT_FINGERPRINT_HEADER, next)
      return metadata
    },
    received(peerId, metadata) {
      const values = metadata.get(NEXT_FINGERPRINT_HEADER)
      const value = values.length === 1 && typeof values[0] === 'string' ? values[0].toUpperCase() : null
      if (!value || !FINGERPRINT.test(value)) return
      const peer = o.store.data.externalPeers.find((p) => p.id === peerId)
      if (!peer || peer.fingerprint === value || peer.nextFingerprint === value) return
      // A fingerprint another peer holds is not taken over: the owner rule (fingerprint-owner.ts) stays the operator's.
      if (o.store.data.externalPeers.some((p) => p.id !== peerId && (p.fingerprint === value || p.nextFingerprint === value))) return
      const now = Date.now()
      if (now - (lastLearned.get(peerId) ?? -Infinity) < LEARN_INTERVAL_MS) return
      lastLearned.set(peerId, now)
      save(
        peerId,
        (p) => {
          p.nextFingerprint = value
          return true
        },
        `peer '${peer.displayName}' announced its next certificate ${value}; it is accepted from now on.`
      )
    },
    presented(peerId, fingerprint) {
      const peer = o.store.data.externalPeers.find((p) => p.id === peerId)
      if (!peer || peer.nextFingerprint !== fingerprint) return
      save(
        peerId,
        (p) => {
          if (p.nextFingerprint !== fingerprint) return false
          p.fingerprint = fingerprint
          p.nextFingerprint = null
          return true
        },
        `peer '${peer.displayName}' now uses its next certificate ${fingerprint}; the old one is no longer accepted.`
      )
    }
  }
}

/** True when `fingerprint` is one the peer is pinned to. */
export function pinnedTo(peer: { fingerprint: string; nextFingerprint?: string | null }, fingerprint: string): boolean {
  return peer.fingerprint === fingerprint || (!!peer.nextFingerprint && peer.nextFingerprint === fingerprint)
}

/**
 * Switches by itself when the current certificate ends within 7 days (preparing the next one first if needed): at
 * start and then daily. `apply` puts the new identity on the listening port and the dialers.
 */
export function startAutoSwitch(o: { pki: Pki; now: () => Date; apply(): void; log: Logger; everyMs?: number }): () => void {
  const check = async (): Promise<void> => {
    const now = o.now()
    o.pki.rotation.forgetPreviousIfOver(now)
    const current = o.pki.federation
    if (!current || !switchDue(current.certPem, now)) return
    await o.pki.rotation.prepareNextFederationIdentity()
    const switched = o.pki.rotation.switchFederationIdentity(now)
    if (!switched) return
    o.apply()
    o.log.warn(
      `The federation certificate was due to end within 7 days: Fedgate switched to the next one (${switched.to}). ` +
        'Fedgate peers learned it over the link; TAK Servers that did not register it need it (or our CA as <federateCA>).'
    )
  }
  const run = (): void => void check().catch((err: Error) => o.log.warn(`Federation certificate check failed: ${err.message}`))
  run()
  const timer = setInterval(run, o.everyMs ?? DAY_MS)
  timer.unref()
  return () => clearInterval(timer)
}
