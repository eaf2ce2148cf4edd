// Local federation between networks (within and across organizations) and federation codes.

import { Type, type Static } from '@sinclair/typebox'
import { Args, Dto, Id, Iso, Nothing, Nullable, OneOf, Text, relayArgs, relayFields, toggleArgs, toggleFields, methods } from './fields.ts'
import { filterArgs, filterFields, filteredCounts } from './traffic-filter.ts'

/** Why nothing (or only part) flows on a link, in the operator's words with what to do; null when nothing is seen wrong. */
export const DIAGNOSIS_CODES = ['paused', 'refused-by-peer', 'untrusted-ca', 'nothing-arrives', 'one-way', 'stale-on-arrival'] as const
export const DiagnosisDto = Dto({ code: OneOf(DIAGNOSIS_CODES), message: Type.String() })
export type DiagnosisDto = Static<typeof DiagnosisDto>

export const FederationEndDto = Dto({
  ...toggleFields,
  ...relayFields,
  ...filterFields,
  networkId: Type.String(),
  networkName: Type.String(),
  organizationId: Type.String(),
  organizationName: Type.String(),
  diagnosis: Nullable(DiagnosisDto)
})
export type FederationEndDto = Static<typeof FederationEndDto>

export const FederationStatsDto = Dto({
  federationId: Type.String(),
  networkId: Type.String({
    description: 'The end these figures are seen from: "in" is into this network. Pushed figures are the first end’s.'
  }),
  inPerSecond: Type.Number(),
  outPerSecond: Type.Number(),
  lastActivity: Nullable(Iso()),
  ...filteredCounts(
    'Events the filters of this federation kept out of this network since start.',
    'Events of this network the filters of this federation kept from the other since start.'
  )
})
export type FederationStatsDto = Static<typeof FederationStatsDto>

export const FederationDto = Dto({
  id: Type.String(),
  kind: OneOf(['withinOrganization', 'acrossOrganizations'] as const),
  createdAt: Iso(),
  ours: FederationEndDto,
  theirs: FederationEndDto,
  stats: FederationStatsDto
})
export type FederationDto = Static<typeof FederationDto>

export const FederationCodeDto = Dto({
  networkId: Type.String(),
  code: Nullable(Type.String({ description: 'Only returned by generateFederationCode; never stored in clear.' })),
  createdAt: Iso(),
  expiresAt: Iso()
})
export type FederationCodeDto = Static<typeof FederationCodeDto>

const NetworkArgs = () => Args({ networkId: Id() })

export const federationSchemas = methods({
  listFederations: { args: NetworkArgs(), result: Type.Array(FederationDto) },
  federateWithinOrganization: { args: Args({ networkId: Id(), otherNetworkId: Id() }), result: FederationDto },
  generateFederationCode: { args: NetworkArgs(), result: FederationCodeDto },
  getFederationCode: { args: NetworkArgs(), result: Nullable(FederationCodeDto) },
  clearFederationCode: { args: NetworkArgs(), result: Nothing() },
  redeemFederationCode: { args: Args({ networkId: Id(), code: Text({ min: 1, max: 40 }), ...toggleArgs }), result: FederationDto },
  updateFederationEnd: {
    args: Args({ federationId: Id(), networkId: Id(), ...toggleArgs, ...relayArgs, ...filterArgs }),
    result: FederationDto
  },
  stopFederating: { args: Args({ federationId: Id(), networkId: Id() }), result: Nothing() }
})
