// The one contract between the console (renderer or browser) and the gateway. Methods, their arguments and results
// are declared once as schemas (api/schema/); this file gives the renderer their types, the word lists, the events.
// Only type imports and the import-free vocabulary: nothing here brings gateway code into the renderer bundle.

export * from './vocabulary.ts'
export * from './audit-words.ts'
import type { ErrorCode } from './vocabulary.ts'
import type {
  ApiMethod,
  AuditEntryDto,
  ConsoleApi,
  DeviceDto,
  FederationStatsDto,
  HealthDto,
  HealthSampleDto,
  LinkSampleDto,
  PeerStatusDto,
  PositionDto,
  RejectedPeerDto
} from './schema/index.ts'

export type * from './schema/index.ts'

export interface ApiErrorBody {
  code: ErrorCode
  message: string
}

/** ISO-8601 timestamp string. */
export type Iso = string

// ─── events (SSE on HTTP, 'console:event' over IPC) ──────────────────────────

export type ConsoleEvent =
  | { type: 'peerStatus'; peers: PeerStatusDto[] }
  | { type: 'deviceStatus'; networkId: string; devices: DeviceDto[] }
  | { type: 'federationStats'; federations: FederationStatsDto[] }
  | { type: 'auditAppended'; entry: AuditEntryDto }
  | { type: 'rejectedPeer'; peer: RejectedPeerDto }
  | { type: 'health'; health: HealthDto }
  | { type: 'historySample'; health: HealthSampleDto; links: LinkSampleDto[] }
  /** Live map: what changed on one network's map in the last second (at most one entry per device). */
  | { type: 'positions'; networkId: string; positions: PositionDto[] }
  | { type: 'changed'; area: 'accounts' | 'networks' | 'devices' | 'federations' | 'peers' | 'packages'; networkId?: string }

export type ConsoleEventType = ConsoleEvent['type']

/** The object the preload (or the browser shim) puts on window.fedgate. */
export type FedgateBridge = ConsoleApi & {
  /** Subscribe to pushed events; returns an unsubscribe function. */
  onEvent(listener: (event: ConsoleEvent) => void): () => void
}

export const API_GLOBAL = 'fedgate'
export const IPC_EVENT_CHANNEL = 'console:event'
export const channelFor = (method: ApiMethod): string => `console:${method}`
