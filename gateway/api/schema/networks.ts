// Networks, and the deployment views beside them (settings, audit log, health): arguments and results.

import { Type, type Static } from '@sinclair/typebox'
import { AUDIT_KINDS } from '../audit-words.ts'
import { Args, Dto, Id, Int, Iso, Name, NoArgs, Nothing, Nullable, Text, methods } from './fields.ts'

const NetworkName = () => Name({ max: 64 })
const Port = () => Type.Integer()

export const NetworkDto = Dto({
  id: Type.String(),
  organizationId: Type.String(),
  name: Type.String(),
  createdAt: Iso(),
  deviceCount: Type.Integer(),
  onlineCount: Type.Integer()
})
export type NetworkDto = Static<typeof NetworkDto>

export const DeviceAddressDto = Dto({
  address: Type.String({ description: 'Hostname or IP address, as it goes into packages and QR codes.' }),
  interfaceName: Nullable(
    Type.String({ description: "The machine's network interface it belongs to; null for Federation:AdvertisedHostname." })
  ),
  advertised: Type.Boolean(),
  likely: Type.Boolean({ description: 'False for container bridges, hypervisor and VPN adapters: phones can seldom reach those.' }),
  covered: Type.Boolean({
    description:
      'False for an address the server certificate does not name yet (it came up moments ago; the certificate is reissued ' +
      'within half a minute): it cannot be chosen until then.'
  })
})
export type DeviceAddressDto = Static<typeof DeviceAddressDto>

export const DeploymentSettingsDto = Dto({
  dataDir: Nullable(Type.String({ description: 'Deployment admins only; null for everyone else.' })),
  settingsPath: Nullable(Type.String({ description: 'Deployment admins only; null for everyone else.' })),
  settings: Type.Record(Type.String(), Type.Unknown()),
  missingSettings: Type.Array(Type.String()),
  ports: Dto({ federation: Port(), streaming: Port(), marti: Port(), enrollment: Port(), console: Port() }),
  deviceAddresses: Type.Array(DeviceAddressDto, {
    description: 'Addresses devices may be told to dial, best first (the first is what packages use unless one is chosen).'
  })
})
export type DeploymentSettingsDto = Static<typeof DeploymentSettingsDto>

export const AuditEntryDto = Dto({
  id: Type.String({ description: 'Where the entry sits in the log; stable.' }),
  at: Iso(),
  actor: Type.String({ description: 'User name (or device, or `system`) that made the change.' }),
  who: Type.String({ description: "The actor's display name when the change was made." }),
  action: Type.String(),
  kind: Type.String({ description: 'One of AUDIT_KINDS: what the "What" filter selects.' }),
  sentence: Type.String({ description: 'The change in words, with names as they were when it was made.' }),
  target: Type.String(),
  organizationId: Nullable(Type.String()),
  details: Type.Record(Type.String(), Type.Unknown()),
  names: Type.Record(Type.String(), Type.String(), { description: 'id → name when the change was made.' })
})
export type AuditEntryDto = Static<typeof AuditEntryDto>

export const HealthDto = Dto({
  uptimeSeconds: Type.Number(),
  rssBytes: Type.Number(),
  heapUsedBytes: Type.Number(),
  connections: Dto({ devices: Type.Integer(), peers: Type.Integer() }),
  eventsInPerSecond: Type.Number(),
  eventsOutPerSecond: Type.Number(),
  dropsByReason: Type.Record(Type.String(), Type.Number()),
  queueDepths: Type.Array(Dto({ id: Type.String(), label: Type.String(), bytes: Type.Number(), networkId: Type.String() }), {
    description: "What waits to be sent, per receiver; `networkId` is the receiver's network (each user sees their organizations')."
  }),
  staleOnArrival: Type.Integer({
    description: 'Events from devices and TAK peers that were already out of date when they arrived, since start.'
  }),
  laptopClockOffsetSeconds: Nullable(
    Type.Number({
      description: "Set when most connected devices (3 or more) agree their clocks differ from this machine's by about this much."
    })
  )
})
export type HealthDto = Static<typeof HealthDto>

export const networkSchemas = methods({
  listNetworks: { args: Args({ organizationId: Id() }), result: Type.Array(NetworkDto) },
  createNetwork: { args: Args({ organizationId: Id(), name: NetworkName() }), result: NetworkDto },
  renameNetwork: { args: Args({ id: Id(), name: NetworkName() }), result: NetworkDto },
  deleteNetwork: { args: Args({ id: Id() }), result: Nothing() }
})

/** The filters the audit listing and its export share: whose changes, of what kind, between which times. */
const AuditFilter = {
  organizationId: Type.Optional(Id()),
  who: Type.Optional(Text({ max: 100 })),
  what: Type.Optional(Type.Union(AUDIT_KINDS.map((k) => Type.Literal(k)))),
  from: Type.Optional(Iso({ maxLength: 40 })),
  to: Type.Optional(Iso({ maxLength: 40 }))
}

export const settingsSchemas = methods({
  getDeploymentSettings: { args: NoArgs(), result: DeploymentSettingsDto },
  listAuditLog: {
    summary: 'One page of the audit log, newest first; pass `nextCursor` back as `cursor` for the next (older) page.',
    args: Type.Optional(
      Args({ ...AuditFilter, limit: Type.Optional(Int({ min: 1, max: 500 })), cursor: Type.Optional(Text({ max: 20, pattern: /^\d+$/ })) })
    ),
    result: Dto({ entries: Type.Array(AuditEntryDto), nextCursor: Nullable(Type.String()) })
  },
  exportAuditLog: {
    summary: 'The filtered audit log as a CSV or NDJSON file, newest first, at most 10,000 entries.',
    args: Args({ ...AuditFilter, format: Type.Union([Type.Literal('csv'), Type.Literal('ndjson')]) }),
    result: Dto({
      filename: Type.String(),
      mimeType: Type.String(),
      text: Type.String(),
      count: Type.Integer(),
      truncated: Type.Boolean({ description: 'True when more entries matched than one file holds: narrow the filters.' })
    })
  },
  getHealth: { args: NoArgs(), result: HealthDto }
})
