// Loads our own fig.proto (TAK federation v2) at runtime with @grpc/proto-loader and exposes the FederatedChannel
// service definition and client constructor. The .proto files sit next to this module; packaged builds ship them as
// extraResources `proto`, so an override directory is accepted too.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

/** The service path prefix TAK Server expects: `/com.atakmap.FederatedChannel/<Method>`. */
const SERVICE_NAME = 'com.atakmap.FederatedChannel'

const OWN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'proto')

export interface FigService {
  definition: grpc.ServiceDefinition
  Client: grpc.ServiceClientConstructor
  /** Protobuf bytes of one FederatedEvent: a stream given these bytes sends them as they are (encode once, send to all). */
  encodeEvent(message: FederatedEventMessage): Buffer
}

/** FederatedEvent streams: the message itself, or its bytes from encodeEvent(). */
const FEDERATED_EVENT_OUT = {
  ClientEventStream: 'responseSerialize',
  ServerEventStream: 'requestSerialize',
  SendOneEvent: 'requestSerialize'
} as const

const cache = new Map<string, FigService>()

/** The directory holding fig.proto: `override` when it has the file (packaged app), else the one next to this module. */
export function protoDirectory(override?: string | null): string {
  if (override && fs.existsSync(path.join(override, 'fig.proto'))) return override
  if (fs.existsSync(path.join(OWN_DIR, 'fig.proto'))) return OWN_DIR
  // Inside a packaged Electron app the bundled module has no proto/ beside it; electron-builder puts it in resources.
  const resources = (process as { resourcesPath?: string }).resourcesPath
  if (resources && fs.existsSync(path.join(resources, 'proto', 'fig.proto'))) return path.join(resources, 'proto')
  return OWN_DIR
}

export function loadFigService(protoDir?: string | null): FigService {
  const dir = protoDirectory(protoDir)
  const cached = cache.get(dir)
  if (cached) return cached
  const packageDefinition = protoLoader.loadSync('fig.proto', {
    includeDirs: [dir],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true
  })
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    com: { atakmap: { FederatedChannel: grpc.ServiceClientConstructor } }
  }
  const original = loaded.com.atakmap.FederatedChannel.service
  // Same methods, paths and messages; only the FederatedEvent serializers also take bytes already encoded (a
  // Buffer is never a valid message object, so there is no ambiguity). One gRPC message per FederatedEvent still.
  const methods: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...original }
  for (const [method, side] of Object.entries(FEDERATED_EVENT_OUT)) {
    const serialize = original[method]![side] as (value: unknown) => Buffer
    methods[method] = { ...original[method]!, [side]: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)) }
  }
  const definition: grpc.ServiceDefinition = methods
  const encodeEvent = original.ServerEventStream!.requestSerialize as (value: unknown) => Buffer
  const Client = grpc.makeClientConstructor(definition, SERVICE_NAME)
  const service: FigService = { definition, Client, encodeEvent: (message) => encodeEvent(message) }
  cache.set(dir, service)
  return service
}

/** FederatedEvent streams in: the method and the side whose deserializer reads a peer's event. */
const FEDERATED_EVENT_IN = {
  ClientEventStream: 'responseDeserialize',
  ServerEventStream: 'requestDeserialize',
  SendOneEvent: 'requestDeserialize'
} as const

/** A FederatedEvent from a peer that was not decoded: its encoded size was over the limit. */
export interface OversizeEvent {
  oversizeBytes: number
}

export function isOversize(message: FederatedEventMessage | OversizeEvent): message is OversizeEvent {
  return typeof (message as OversizeEvent).oversizeBytes === 'number'
}

/**
 * The service for one gateway: a peer's FederatedEvent larger than `maxBytes()` (read on each event) is not decoded at
 * all; it arrives as an OversizeEvent the session counts and drops. grpc-js's own limit (max_receive_message_length)
 * is sized for data packages on the ROL streams and ends the call; an event that size no device could have sent, and
 * no device's send queue could take. The methods, paths and encodings are unchanged.
 */
export function withInboundEventLimit(service: FigService, maxBytes: () => number): FigService {
  const methods: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...service.definition }
  for (const [method, side] of Object.entries(FEDERATED_EVENT_IN)) {
    const deserialize = service.definition[method]![side] as (bytes: Buffer) => unknown
    methods[method] = {
      ...service.definition[method]!,
      [side]: (bytes: Buffer): unknown =>
        bytes.length > maxBytes() ? ({ oversizeBytes: bytes.length } satisfies OversizeEvent) : deserialize(bytes)
    }
  }
  const definition: grpc.ServiceDefinition = methods
  return { definition, Client: grpc.makeClientConstructor(definition, SERVICE_NAME), encodeEvent: service.encodeEvent }
}

// ─── message shapes as proto-loader gives them (enums as names, int64 as numbers, defaults filled) ────────────────

export interface FederateProvenance {
  federationServerId: string
  federationServerName: string
}

export interface GeoEventMessage {
  sendTime: number
  startTime: number
  staleTime: number
  lat: number
  lon: number
  hae: number
  ce: number
  le: number
  uid: string
  type: string
  coordSource: string
  other: string
  battery: number
  ploc: string
  palt: string
  screenName: string
  groupName: string
  groupRole: string
  phone: string
  speed: number
  course: number
  binary: BinaryBlobMessage | null
  ptpUids: string[]
  ptpCallsigns: string[]
  feedUid: string
  missionNames: string[]
  access: string
  caveat: string
  releaseableTo: string
  bloads: unknown[]
}

export type ContactOperation = 'INVALID' | 'CREATE' | 'READ' | 'UPDATE' | 'DELETE'

export interface ContactListEntryMessage {
  operation: ContactOperation
  uid: string
  callsign: string
  phone?: string
  sip?: string
  directConnect?: string
}

export interface BinaryBlobMessage {
  type: 'EMPTY' | 'OTHER' | 'IMAGE' | number
  data: Buffer
  filename?: string
  timestamp?: number
  description?: string
}

export interface FederatedEventMessage {
  event?: Partial<GeoEventMessage> | null
  contact?: ContactListEntryMessage | null
  federateGroups?: string[]
  federateProvenance?: FederateProvenance[]
  federateHops?: { maxHops: number; currentHops: number } | null
}

export interface SubscriptionMessage {
  identity?: { name: string; uid: string; description?: string; type: string | number; serverId: string } | null
  filter?: string
  version?: { major: number; minor: number; patch: number; branch: string; variant: string } | null
}

export interface RolMessageWire {
  program: string
  payload: { type?: string | number; data: Buffer; description?: string; filename?: string }[]
  federateProvenance?: FederateProvenance[]
}
