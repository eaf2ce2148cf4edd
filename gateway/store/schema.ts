// The shape of db.json: what operators created. High-churn state (connections, positions, rates) stays in memory.
// Changing a shape means a new numbered migration in ./migrations and a bump of SCHEMA_VERSION.

import type { Permission, Plan } from '../api/contract.ts'
import type { TrafficFilter } from '../routing/traffic-filter.ts'

export const SCHEMA_VERSION = 5

export interface OrganizationRecord {
  id: string
  name: string
  plan: Plan
  tokenLimit: number
  createdAt: string
}

export interface UserRecord {
  id: string
  username: string
  displayName: string
  /** scrypt$N$r$p$saltB64$hashB64 */
  passwordHash: string
  deploymentAdmin: boolean
  memberships: { organizationId: string; admin: boolean }[]
  createdAt: string
  /** A disabled user cannot sign in and has no live session; absent in files from before means enabled. */
  disabled?: boolean
}

export interface TeamRecord {
  id: string
  organizationId: string
  name: string
  memberIds: string[]
  grants: { networkId: string; permissions: Permission[] }[]
}

export interface NetworkRecord {
  id: string
  organizationId: string
  name: string
  createdAt: string
}

export interface DeviceRecord {
  id: string
  networkId: string
  callsign: string
  fingerprint: string
  serial: string
  notBefore: string
  notAfter: string
  enrolledAt: string
  revokedAt: string | null
  /** Certificate PEM (public); the private key lives in pki/devices/<id>.key (mode 0600), never here. */
  certPem: string
  /** 'password': the device enrolled itself (enrollment API) with a key we never had. Absent in schema 1: 'package'. */
  enrolledBy?: 'package' | 'password'
  /** Last activity seen on the streaming port, saved at disconnect and at most once a minute (devices/last-seen.ts). */
  lastSeen?: string
}

/** A device allowed to enroll itself on the enrollment API with a one-time password. */
export interface DeviceEnrollmentRecord {
  id: string
  networkId: string
  callsign: string
  /** HMAC-SHA-256 of the normalised password under the deployment secret in pki/ (never the password). */
  passwordHash: string
  validDays: number
  createdAt: string
  expiresAt: string
  createdBy: string
  /** When the device got its certificate, and the device it became; the password then only serves the profile call. */
  usedAt: string | null
  deviceId: string | null
}

/** Relay settings of a new federation end or peer (issue 20): off, so single hop; limit 2 for when it is turned on. */
export const RELAY_DEFAULTS = { relay: false, maxHops: 2 } as const

export interface FederationEndRecord {
  networkId: string
  incoming: boolean
  outgoing: boolean
  acceptPackages: boolean
  sharePackages: boolean
  /** Traffic that arrived over another federation may leave on this end (issue 20); false = single hop. */
  relay: boolean
  /** Relayed traffic leaves only if it crossed fewer links than this (1–8). */
  maxHops: number
  /** What may cross into / out of this end's network by kind of traffic (issue 20); null (or absent, in records made in code) lets everything cross. */
  inFilter?: TrafficFilter | null
  outFilter?: TrafficFilter | null
}

export interface FederationRecord {
  id: string
  kind: 'withinOrganization' | 'acrossOrganizations'
  createdAt: string
  ends: [FederationEndRecord, FederationEndRecord]
}

export interface FederationCodeRecord {
  id: string
  networkId: string
  /** HMAC-SHA-256 of the normalised code under a deployment secret kept in pki/ (never in db.json). */
  codeHash: string
  createdAt: string
  expiresAt: string
  createdBy: string
  /** 'active' until redeemed, cleared or replaced by a newer code; kept until expiry so a stale code gets a precise error. */
  status: 'active' | 'redeemed' | 'cleared' | 'replaced'
  closedAt: string | null
}

export interface ExternalPeerRecord {
  id: string
  networkId: string
  fingerprint: string
  /** A second accepted fingerprint (the peer's next certificate); promoted to `fingerprint` when first presented. */
  nextFingerprint?: string | null
  displayName: string
  incoming: boolean
  outgoing: boolean
  acceptPackages: boolean
  sharePackages: boolean
  /** As on a federation end: relay traffic from other federations to this peer, within `maxHops` links. */
  relay: boolean
  maxHops: number
  /** What may cross from / to this peer by kind of traffic (issue 20); null (or absent, in records made in code) lets everything cross. */
  inFilter?: TrafficFilter | null
  outFilter?: TrafficFilter | null
  dial: { address: string; port: number; caPem?: string } | null
  /** The TAK groups the peer's admin puts our federate in (its <federate>/<federateCA> entries); __ANON__ by default. */
  takGroups: { inbound: string[]; outbound: string[] }
  createdAt: string
  /** The peer's figures as last saved, so the console still knows them after a restart (absent: never connected). */
  lastContact?: PeerContactRecord
}

/** Saved when a peer connects, goes down or fails, every five minutes while up, and when Fedgate stops. */
export interface PeerContactRecord {
  /** Whether it was up when this was saved (true only if Fedgate did not stop cleanly). */
  connected: boolean
  /** Up or down since (ISO). */
  since: string | null
  lastHeard: string | null
  lastError: string | null
}

export interface DataPackageRecord {
  id: string
  networkId: string
  hash: string
  name: string
  size: number
  mimeType: string
  createdAt: string
  source: { kind: 'device' | 'operator' | 'federation' | 'peer'; label: string; id: string | null }
  /** The uploading device's CoT uid as its upload named it (`creatorUid`); TAK clients read it back in searches. */
  creatorUid?: string
  private: boolean
  sharedWith: { kind: 'federation' | 'peer'; id: string; label: string; at: string }[]
}

export interface SessionRecord {
  /** SHA-256 (hex) of the bearer token; the token itself is never stored. */
  tokenHash: string
  userId: string
  /** Epoch milliseconds; slides forward with use. */
  expiresAt: number
}

export interface DbDocument {
  schemaVersion: number
  organizations: OrganizationRecord[]
  users: UserRecord[]
  teams: TeamRecord[]
  networks: NetworkRecord[]
  devices: DeviceRecord[]
  federations: FederationRecord[]
  federationCodes: FederationCodeRecord[]
  externalPeers: ExternalPeerRecord[]
  dataPackages: DataPackageRecord[]
  deviceEnrollments: DeviceEnrollmentRecord[]
  /** Console sessions (only a hash of each token), so a restart signs no one out. Absent in files from before. */
  sessions?: SessionRecord[]
  /** Deployment-wide values that are not operator settings (e.g. our deployment id for file names). */
  meta: { deploymentId: string; createdAt: string }
}

export function emptyDocument(now = new Date()): DbDocument {
  return {
    schemaVersion: SCHEMA_VERSION,
    organizations: [],
    users: [],
    teams: [],
    networks: [],
    devices: [],
    federations: [],
    federationCodes: [],
    externalPeers: [],
    dataPackages: [],
    deviceEnrollments: [],
    meta: { deploymentId: randomId(), createdAt: now.toISOString() }
  }
}

function randomId(): string {
  return globalThis.crypto.randomUUID()
}
