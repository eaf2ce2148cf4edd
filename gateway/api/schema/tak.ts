// External TAK Servers: connection info, artifacts for their admins, peers by certificate fingerprint.

import { Type, type Static } from '@sinclair/typebox'
import { ARTIFACTS } from '../vocabulary.ts'
import {
  Args,
  DownloadDto,
  Dto,
  Id,
  Int,
  Iso,
  Name,
  NoArgs,
  Nothing,
  Nullable,
  OneOf,
  Text,
  relayArgs,
  relayFields,
  toggleArgs,
  toggleFields,
  methods
} from './fields.ts'
import { DiagnosisDto } from './federation.ts'
import { filterArgs, filterFields, filteredCounts } from './traffic-filter.ts'

export const ConnectionInfo = Dto({
  hostname: Nullable(Type.String()),
  port: Type.Integer(),
  fingerprint: Nullable(Type.String()),
  nextFingerprint: Nullable(
    Type.String({ description: 'Our next federation certificate, prepared and published before we switch to it (rotation).' })
  ),
  ourFederateId: Nullable(Type.String()),
  missingSettings: Type.Array(Type.String(), {
    description: 'Required appsettings keys that are missing, e.g. `Federation:AdvertisedHostname`.'
  }),
  settingsPath: Nullable(Type.String({ description: 'Deployment admins only; null for everyone else.' })),
  takSideRequirements: Type.Array(Type.String(), { description: "What must be true on a TAK Server, in its admin's terms." })
})
export type ConnectionInfo = Static<typeof ConnectionInfo>

export const DialTarget = Dto({
  address: Text({ min: 1, max: 253, pattern: /^[A-Za-z0-9.:\-[\]]+$/ }),
  port: Int({ min: 1, max: 65_535 }),
  caPem: Type.Optional(Text({ min: 1, max: 64_000, description: "The remote TAK Server's CA in PEM, to trust when dialing." }))
})
export type DialTarget = Static<typeof DialTarget>

export const PeerStatusDto = Dto({
  peerId: Type.String(),
  connected: Type.Boolean(),
  since: Nullable(Iso()),
  inPerSecond: Type.Number(),
  outPerSecond: Type.Number(),
  lastHeard: Nullable(Iso()),
  lastError: Nullable(Type.String()),
  ...filteredCounts(
    'Events from this peer its In filter kept out, since start.',
    'Events its Out filter kept from this peer, since start.'
  ),
  history: Dto(
    { in: Type.Array(Type.Number()), out: Type.Array(Type.Number()) },
    'Events per second over the last minutes, oldest first (for the sparkline).'
  )
})
export type PeerStatusDto = Static<typeof PeerStatusDto>

/**
 * A TAK group name as the TAK Server's admin wrote it (certificate group mapping, LDAP/AD, the admin UI's Groups).
 * The snippet escapes XML's special characters; hidden characters are refused because the admin must be able to read
 * and retype what we put in their CoreConfig.
 */
const TakGroupName = Text({ min: 1, max: 64, format: 'name', description: 'A group name on the TAK Server, e.g. `__ANON__`.' })
const TakGroupList = Type.Array(TakGroupName, { minItems: 1, maxItems: 32 })

export const TakGroups = Dto(
  { inbound: TakGroupList, outbound: TakGroupList },
  'The TAK groups the TAK Server puts our federate in: `inbound` carries our traffic to the TAK users of those groups, `outbound` brings theirs to us.'
)
export type TakGroups = Static<typeof TakGroups>

export const ExternalPeerDto = Dto({
  ...toggleFields,
  ...relayFields,
  ...filterFields,
  id: Type.String(),
  networkId: Type.String(),
  fingerprint: Type.String(),
  nextFingerprint: Nullable(
    Type.String({ description: "The peer's next certificate, also accepted; it becomes `fingerprint` when the peer first uses it." })
  ),
  displayName: Type.String(),
  dial: Nullable(DialTarget),
  takGroups: TakGroups,
  createdAt: Iso(),
  status: PeerStatusDto,
  diagnosis: Nullable(DiagnosisDto),
  clockSkewSeconds: Nullable(
    Type.Number({
      description: "Its clock minus this gateway's, in seconds (median of its recent events, replays ignored); null until known."
    })
  )
})
export type ExternalPeerDto = Static<typeof ExternalPeerDto>

export const RejectedPeerDto = Dto({
  fingerprint: Type.String(),
  subject: Type.String(),
  address: Type.String(),
  firstSeen: Iso(),
  lastSeen: Iso(),
  count: Type.Integer()
})
export type RejectedPeerDto = Static<typeof RejectedPeerDto>

const CertificateFacts = Dto({ fingerprint: Type.String(), notAfter: Iso() })

export const FederationCertificateDto = Dto({
  current: Nullable(CertificateFacts),
  next: Nullable(CertificateFacts),
  previous: Nullable(
    Dto({ fingerprint: Type.String(), notAfter: Iso(), switchedAt: Iso() }, 'The old certificate, kept a while as a record only.')
  ),
  autoSwitchAt: Nullable(Iso({ description: 'When Fedgate switches by itself if nobody does (7 days before the current one ends).' }))
})
export type FederationCertificateDto = Static<typeof FederationCertificateDto>

const PeerFingerprint = Text({ min: 1, max: 200, format: 'sha256-fingerprint' })

export const takSchemas = methods({
  getConnectionInfo: { args: NoArgs(), result: ConnectionInfo },
  downloadArtifact: {
    summary: "`coreconfig-federate` with `peerId` gives that peer's snippet with its TAK groups; without it, the generic one.",
    args: Args({ kind: OneOf(ARTIFACTS), peerId: Type.Optional(Id()) }),
    result: DownloadDto
  },
  listExternalPeers: { args: Args({ networkId: Id() }), result: Type.Array(ExternalPeerDto) },
  addExternalPeer: {
    summary: 'Registers a TAK Server by its federation certificate fingerprint; with `dial`, Fedgate dials it.',
    args: Args({
      networkId: Id(),
      fingerprint: Text({ min: 1, max: 200, format: 'sha256-fingerprint' }),
      nextFingerprint: Type.Optional(Nullable(PeerFingerprint)),
      displayName: Name(),
      dial: Type.Optional(DialTarget),
      takGroups: Type.Optional(TakGroups),
      ...toggleArgs,
      ...filterArgs
    }),
    result: ExternalPeerDto
  },
  updateExternalPeer: {
    args: Args({
      id: Id(),
      displayName: Type.Optional(Name()),
      nextFingerprint: Type.Optional(Nullable(PeerFingerprint)),
      dial: Type.Optional(Nullable(DialTarget)),
      takGroups: Type.Optional(TakGroups),
      ...toggleArgs,
      ...relayArgs,
      ...filterArgs
    }),
    result: ExternalPeerDto
  },
  removeExternalPeer: { args: Args({ id: Id() }), result: Nothing() },
  listRejectedPeers: { args: NoArgs(), result: Type.Array(RejectedPeerDto) },
  getFederationCertificate: { args: NoArgs(), result: FederationCertificateDto },
  prepareNextFederationCertificate: {
    summary: 'Makes the next federation certificate and publishes its fingerprint; it is not used until the switch.',
    args: NoArgs(),
    result: FederationCertificateDto
  },
  switchFederationCertificate: {
    summary: 'Starts using the prepared next federation certificate; live links stay up.',
    args: NoArgs(),
    result: FederationCertificateDto
  }
})
