// The live map (issue 18): the positions the gateway holds for a network or an organization, as the console draws them.

import { Type, type Static } from '@sinclair/typebox'
import { Args, Dto, Id, Nullable, methods } from './fields.ts'

export const PositionDto = Dto({
  key: Type.String({ description: 'Stable per device and source: the same device seen on two networks has one key.' }),
  networkId: Type.String({ description: 'The network whose map shows it.' }),
  sourceKind: Type.Union([Type.Literal('network'), Type.Literal('peer')]),
  sourceId: Type.String({ description: 'The network whose device sent it, or the TAK peer it arrived from.' }),
  sourceName: Type.String(),
  uid: Type.String(),
  callsign: Type.String(),
  type: Type.String({ description: 'The CoT type, e.g. a-f-G-U-C.' }),
  lat: Type.Number(),
  lon: Type.Number(),
  hae: Type.Number(),
  course: Nullable(Type.Number({ description: 'Degrees from north.' })),
  speed: Nullable(Type.Number({ description: 'Metres per second.' })),
  time: Type.String({ description: 'The event time as sent.' }),
  stale: Type.String({ description: 'When the sender said the position goes stale, as sent.' }),
  seenAt: Type.String({ description: 'When the gateway last heard it (ISO).' }),
  trail: Type.Array(Type.Tuple([Type.Number(), Type.Number()]), { description: 'Recent [lat, lon], oldest first.' })
})
export type PositionDto = Static<typeof PositionDto>

export const mapSchemas = methods({
  listPositions: {
    args: Type.Union([Args({ networkId: Id() }), Args({ organizationId: Id() })]),
    result: Type.Array(PositionDto)
  }
})
