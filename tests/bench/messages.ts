// What the benchmark's processes say to each other over the IPC channel: the orchestrator (run.ts), the gateway host
// (ours or the naive baseline, alone in its process so its CPU and RSS are its own) and the load generator.

import type { LocalLink } from '../../gateway/routing/types.ts'
import type { LatencySummary } from './histogram.ts'

/** 'floor': the naive router without its parse (naive-router.ts), a lower bound for latency and CPU. */
export type RouterKind = 'ours' | 'naive' | 'floor'

export interface BenchDevice {
  deviceId: string
  networkId: string
  callsign: string
  fingerprint: string
  certPem: string
  keyPem: string
}

export interface GatewayHostConfig {
  router: RouterKind
  tls: { key: string; cert: string; ca: string }
  devices: Omit<BenchDevice, 'certPem' | 'keyPem'>[]
  links: LocalLink[]
  /** The device whose send queue is watched (the stuck receiver). */
  watchDeviceId: string | null
  /** Ours only: a send-queue experiment from queue-variants.ts, or null. */
  queueVariant: string | null
}

export interface GatewayReport {
  elapsedMs: number
  cpuUserMs: number
  cpuSystemMs: number
  /** Peak and current RSS since the last mark, sampled every 100 ms. */
  peakRssBytes: number
  /** Peak bytes in TCP buffers of the whole machine (both ends of every loopback connection, other users' too). */
  peakKernelTcpBytes: number
  rssBytes: number
  heapUsedBytes: number
  /** Memory outside the JS heap that V8 knows of (Buffers, TLS wraps). */
  externalBytes: number
  /** Frames dropped from full send queues since the last mark (ours; the naive router never drops). */
  drops: number
  /** Deliveries the router counted since the last mark. */
  deliveries: number
  eventsIn: number
  connections: number
  /** Largest bytes held for the watched device (queue + socket buffer), sampled every 100 ms. */
  watchedQueueMaxBytes: number
  /** Largest bytes held for any connection, same sampling. */
  anyQueueMaxBytes: number
  /** RSS at the end of each second since the mark. */
  rssTimeline: number[]
  /** Gateway event-loop delay p99 (ms) since the mark. */
  loopDelayP99Ms: number
  loopDelayMaxMs: number
}

/** `mark.at`: the orchestrator's Date.now() when it asked, so a busy gateway starts its figures from then. */
export type ToGatewayHost =
  { type: 'start'; config: GatewayHostConfig } | { type: 'mark'; at?: number } | { type: 'report' } | { type: 'stop' }
export type FromGatewayHost = { type: 'ready'; port: number } | { type: 'report'; report: GatewayReport } | { type: 'stopped' }

export interface LoadConnection {
  /** Index into the identities the load generator was given. */
  identity: number
  /** Source number written into the PLIs (unique per sending connection). */
  source: number
  sends: boolean
  /** Stops reading right after the handshake. */
  stuck: boolean
  /** Another gateway's streaming port (fed v2 scenario); default: the port given at start. */
  port?: number
  /** Which gateway this connection is on; deliveries from a source of another group are "across the link". */
  group?: number
}

export interface LoadPhase {
  /** Events per second per sending connection. */
  rate: number
  ms: number
}

export interface SecondFigures {
  sent: number
  /** Receipts of events sent in this second. */
  delivered: number
  p99: number
}

export interface RunFigures {
  sendMs: number
  sent: number
  /** Deliveries a complete broadcast would make (every reading connection but the sender gets every event). */
  expected: number
  delivered: number
  /** Deliveries received while the senders were sending (for deliveries/s). */
  deliveredWhileSending: number
  latency: LatencySummary
  gaps: number
  duplicates: number
  reorders: number
  lost: number
  /** Per phase: offered events/s, deliveries/s and latency of the events sent in it. */
  phases: { rate: number; ms: number; offeredPerSecond: number; deliveriesPerSecond: number; latency: LatencySummary }[]
  /** Deliveries whose source is on another gateway (fed v2), after warm-up. */
  across: { delivered: number; latency: LatencySummary }
  perSecond: SecondFigures[]
}

export interface StormFigures {
  connections: number
  failures: number
  /** Every connection handshaken. */
  handshakeMs: number
  /** Every connection handshaken and holding every expected position. */
  readyMs: number
  readyP50Ms: number
  readyP99Ms: number
  incomplete: number
}

export type ToLoadGenerator =
  | { type: 'start'; port: number; ca: string; identities: { certPem: string; keyPem: string; ca?: string }[] }
  | { type: 'connect'; connections: LoadConnection[]; concurrency: number }
  | { type: 'run'; phases: LoadPhase[]; warmupMs: number; drainMs: number; sourceGroups?: number[] }
  | { type: 'storm'; connections: LoadConnection[]; expectSources: number; timeoutMs: number }
  | { type: 'reset' }
  | { type: 'stop' }

export type FromLoadGenerator =
  | { type: 'started' }
  | { type: 'connected'; ms: number; failures: number }
  | { type: 'ran'; figures: RunFigures; cpuMs: number }
  | { type: 'storm'; figures: StormFigures }
  | { type: 'reset' }
  | { type: 'stopped' }

/** A full gateway (startGateway: store, PKI, streaming, TAK federation) for the fed v2 scenario. */
export type ToFedHost =
  | { type: 'start'; federateId: string; devices: number }
  | { type: 'peer'; fingerprint: string; dial: { address: string; port: number } | null }
  | { type: 'waitConnected'; timeoutMs: number }
  | { type: 'mark'; at?: number }
  | { type: 'report' }
  | { type: 'stop' }

export type FromFedHost =
  | {
      type: 'ready'
      streamingPort: number
      federationPort: number
      federationFingerprint: string
      ca: string
      identities: { certPem: string; keyPem: string }[]
    }
  | { type: 'peered' }
  | { type: 'connected'; ok: boolean; lastError: string | null }
  | { type: 'report'; report: GatewayReport; fed: { dropsByReason: Record<string, number> } }
  | { type: 'stopped' }
