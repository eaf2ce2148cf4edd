// Charts: the last hour of the gateway's figures and of each link (a TAK peer, a federation end), kept in memory.

import { Type, type Static } from '@sinclair/typebox'
import { Args, Dto, Id, Iso, NoArgs, Nullable, methods } from './fields.ts'

const Points = (description: string) => Type.Array(Nullable(Type.Number()), { description: `${description} null = no figure then.` })

export const HealthHistoryDto = Dto({
  periodSeconds: Type.Number({ description: 'Seconds between two points (Console:ChartSampleSeconds).' }),
  times: Type.Array(Iso(), { description: 'When each point was taken, oldest first; every series below has one value per time.' }),
  eventsInPerSecond: Points('Events received per second, from devices, federations and peers.'),
  eventsOutPerSecond: Points('Deliveries per second (one event to one receiver).'),
  dropsPerSecond: Type.Record(Type.String(), Points('Events dropped per second, by reason.')),
  backlogBytes: Points('Bytes waiting to be sent, summed over the networks you may see.'),
  rssBytes: Points('Memory the gateway process holds (RSS).'),
  heapUsedBytes: Points('JavaScript heap in use.'),
  devices: Points('Devices connected.'),
  peers: Points('TAK Servers and federation links connected.')
})
export type HealthHistoryDto = Static<typeof HealthHistoryDto>

/** One new point of the health history, pushed live in a `historySample` event. */
export const HealthSampleDto = Dto({
  at: Iso(),
  eventsInPerSecond: Type.Number(),
  eventsOutPerSecond: Type.Number(),
  dropsPerSecond: Type.Record(Type.String(), Type.Number()),
  backlogBytes: Type.Number(),
  backlogByNetwork: Type.Record(Type.String(), Type.Number(), { description: 'Bytes waiting per network id you may see.' }),
  rssBytes: Type.Number(),
  heapUsedBytes: Type.Number(),
  devices: Type.Number(),
  peers: Type.Number()
})
export type HealthSampleDto = Static<typeof HealthSampleDto>

const LinkTotals = Dto({
  in: Type.Integer({ description: 'Events received over the link.' }),
  out: Type.Integer({ description: 'Events sent over the link.' }),
  drops: Nullable(Type.Integer({ description: 'Events the link dropped; null when the link counts none of its own.' }))
})

export const LinkHistoryDto = Dto({
  key: Type.String({ description: 'Names the link in `historySample` events.' }),
  periodSeconds: Type.Number(),
  times: Type.Array(Iso()),
  inPerSecond: Points('Events per second arriving over the link.'),
  outPerSecond: Points('Events per second leaving over the link.'),
  dropsPerSecond: Nullable(Points('Events per second the link dropped.')),
  last15Minutes: LinkTotals,
  lastHour: LinkTotals
})
export type LinkHistoryDto = Static<typeof LinkHistoryDto>

/** One new point of a link's history, pushed live in a `historySample` event. */
export const LinkSampleDto = Dto({
  key: Type.String(),
  at: Iso(),
  inPerSecond: Type.Number(),
  outPerSecond: Type.Number(),
  dropsPerSecond: Nullable(Type.Number())
})
export type LinkSampleDto = Static<typeof LinkSampleDto>

export const historySchemas = methods({
  getHealthHistory: { args: NoArgs(), result: HealthHistoryDto, summary: "The last hour of the gateway's health figures." },
  getLinkHistory: {
    args: Type.Union([Args({ peerId: Id() }), Args({ federationId: Id(), networkId: Id() })]),
    result: LinkHistoryDto,
    summary: 'The last hour of one TAK peer, or of one federation end as its network sees it.'
  }
})
