// The device streaming listener (Streaming:TlsPort, 8089): mutual TLS with certificates from our CA, XML CoT with an
// optional switch to TAK protocol v1, ping/pong, position replay on connect, deletes on disconnect, and a bounded
// send queue per connection. Which network a connection belongs to comes from `authorize` (the device certificate).

import tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import type { CotEvent } from '../cot/event.ts'
import { DEFAULT_MAX_EVENT_BYTES } from '../cot/framer.ts'
import type { Logger } from '../log.ts'
import type { DeviceRecord } from '../store/schema.ts'
import type { Router } from '../routing/router.ts'
import { Presence } from './presence.ts'
import { DEFAULT_MAX_QUEUE_BYTES } from './streaming-queue.ts'
import { DEFAULT_FLUSH_POLICY, FlushScheduler, type FlushPolicy } from './flush-scheduler.ts'
import type { ConnectionInfo, ListenerState, StreamingCounters } from './device-connection.ts'
import { LiveConnections, type Authorize } from './live-connections.ts'
import { startIdleSweep } from './idle-policy.ts'

export interface StreamingOptions {
  port: number
  host?: string
  tls: { key: string; cert: string; ca: string }
  maxEventBytes?: number
  /** Cap per receiver (our queue plus the socket's buffer). Default 1 MiB. */
  maxQueueBytes?: number
  /** When queued frames are written: at once when quiet, gathered per tick when busy (flush-scheduler.ts). */
  flushPolicy?: FlushPolicy
  /**
   * A connection silent for this long while nothing reaches it from us (or what we write stops draining) is closed as
   * half-open; see goneBecause. Default 60 s; 0 = never.
   */
  idleTimeoutMs?: number
  /** Map a verified client certificate to its device; null = unknown or revoked (the connection is closed at once). */
  authorize: Authorize
  router: Router
  log: Logger
  presence?: Presence
  serverVersion?: string
  /** Applies the port's caps and handshake deadline to the server before it listens (net/listener-guard.ts). */
  guard?: (server: tls.Server) => void
  /** Per-receiver form of a fileshare (`b-f-t-r`): its senderUrl must name the address this device reached us on. */
  fileshareForReceiver?: (event: CotEvent, hostDialed: string | undefined) => CotEvent
}

export interface StreamingListener {
  port: number
  presence: Presence
  close(): Promise<void>
  /** New connections are served with this key and certificate chain (the server certificate was reissued). */
  useIdentity(tls: { key: string; cert: string }): void
  /** Close every live connection of a device (revoked, deleted); returns how many were closed. */
  disconnectDevice(deviceId: string): number
  disconnectNetwork(networkId: string): number
  connections(): ConnectionInfo[]
  counters(): StreamingCounters
}

type DeviceFacts = Pick<DeviceRecord, 'id' | 'networkId' | 'callsign' | 'fingerprint' | 'revokedAt'>

/**
 * The usual `authorize`: the certificate's SHA-256 fingerprint must be a device of a network and not revoked.
 * `devices` is read at every connection, so a revocation applies to the next handshake without a restart.
 */
export function authorizeByFingerprint(devices: () => readonly DeviceFacts[]): StreamingOptions['authorize'] {
  return (certificate) => {
    const fingerprint = certificate.fingerprint256
    if (!fingerprint) return null
    const device = devices().find((d) => d.fingerprint === fingerprint)
    if (!device || device.revokedAt !== null) return null
    return { deviceId: device.id, networkId: device.networkId, callsign: device.callsign }
  }
}

export async function startStreamingListener(options: StreamingOptions): Promise<StreamingListener> {
  const presence = options.presence ?? new Presence()
  const state: ListenerState = {
    fileshareForReceiver: options.fileshareForReceiver,
    maxEventBytes: options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    maxQueueBytes: options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
    flushScheduler: new FlushScheduler(options.flushPolicy ?? DEFAULT_FLUSH_POLICY),
    serverVersion: options.serverVersion ?? 'Fedgate',
    counters: {
      accepted: 0,
      unauthorized: 0,
      handshakeFailures: 0,
      eventsIn: 0,
      malformed: 0,
      declarations: 0,
      oversize: 0,
      protocolErrors: 0,
      drops: 0
    },
    presence,
    router: options.router,
    log: options.log
  }
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000
  const live = new LiveConnections(state, (certificate) => options.authorize(certificate))
  const sockets = new Set<tls.TLSSocket>()

  const server = tls.createServer({
    key: options.tls.key,
    cert: options.tls.cert,
    ca: options.tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2'
  })
  options.guard?.(server)

  server.on('tlsClientError', (_error, socket) => {
    state.counters.handshakeFailures++
    socket.destroy()
  })

  server.on('secureConnection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 30_000)
    socket.pause()
    live.identify(socket)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (error) => options.log.error(`Streaming listener: ${error.message}`))

  const idleSweep = startIdleSweep(
    () => live.values(),
    idleTimeoutMs,
    options.log,
    (connection) => live.disconnect(connection)
  )

  return {
    port: (server.address() as AddressInfo).port,
    presence,
    close: () =>
      new Promise<void>((resolve) => {
        if (idleSweep) clearInterval(idleSweep)
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
        presence.close()
      }),
    useIdentity: ({ key, cert }) => server.setSecureContext({ key, cert, ca: options.tls.ca, minVersion: 'TLSv1.2' }),
    disconnectDevice: (deviceId) => live.disconnectWhere((c) => c.deviceId === deviceId),
    disconnectNetwork: (networkId) => live.disconnectWhere((c) => c.networkId === networkId),
    connections: () => [...live.values()].map((c) => c.info()),
    counters: () => ({ ...state.counters })
  }
}
