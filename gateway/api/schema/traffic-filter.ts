// The filter by kind of traffic of a federation end or TAK peer, one per direction (issue 20): its shape once, for the
// federation and TAK schemas both.

import { Type, type Static } from '@sinclair/typebox'
import { TRAFFIC_KINDS } from '../vocabulary.ts'
import { Dto, Nullable, OneOf, Text } from './fields.ts'

const TypePrefix = Text({
  min: 1,
  max: 64,
  pattern: /^[a-zA-Z0-9.*-]+$/,
  description: 'A CoT type prefix such as `a-f-G` or `b-m-p-*`; `*` stands for any characters.'
})

export const TrafficFilterDto = Dto(
  {
    kinds: Type.Array(OneOf(TRAFFIC_KINDS), { maxItems: TRAFFIC_KINDS.length, uniqueItems: true }),
    typePrefixes: Type.Optional(Type.Array(TypePrefix, { maxItems: 32 }))
  },
  'What crosses in one direction: the kinds ticked, plus any CoT type starting with one of the prefixes. Emergencies cross only while `emergencies` is among the kinds; the console ticks it in every new filter.'
)
export type TrafficFilterDto = Static<typeof TrafficFilterDto>

/** In a DTO: both directions, null = everything crosses. The gateway always sends them; optional so older clients' fixtures stay valid. */
export const filterFields = {
  inFilter: Type.Optional(Nullable(TrafficFilterDto)),
  outFilter: Type.Optional(Nullable(TrafficFilterDto))
}

/** The live row's counters: events the filters kept back since start (the gateway always sends them). */
export const filteredCounts = (inWords: string, outWords: string) => ({
  inFiltered: Type.Optional(Type.Integer({ minimum: 0, description: inWords })),
  outFiltered: Type.Optional(Type.Integer({ minimum: 0, description: outWords }))
})

/** As arguments: absent = unchanged, null = everything crosses again. */
export const filterArgs = {
  inFilter: Type.Optional(Nullable(TrafficFilterDto)),
  outFilter: Type.Optional(Nullable(TrafficFilterDto))
}
