// The device area as the gateway runs it: the streaming listener on Streaming:TlsPort wired to the store
// (who may connect), the router, revocations, presence → `deviceStatus` console events, and health figures; and
// the enrollment API on Enrollment:Port where devices enroll themselves with a one-time password.

import type { CotEvent } from '../cot/event.ts'
import type { Router } from '../routing/router.ts'
import { laptopClockOffset } from '../routing/clock-skew.ts'
import type { Services } from '../services.ts'
import { activeDeviceByFingerprint, networkDevices } from './enrollment.ts'
import { serverTls } from '../pki/server-identity.ts'
import { startEnrollmentApi } from './enrollment-api.ts'
import { saveLastSeen } from './last-seen.ts'
import { startStreamingListener, type StreamingListener } from './streaming.ts'

/** The health figures the gateway gathers, as `Services` hands them to each area. */
type HealthFigures = Parameters<Services['healthContributors'][number]>[0]

export interface StartDevicesOptions {
  router: Router
  fileshareForReceiver?: (event: CotEvent, localAddress: string | undefined) => CotEvent
}

export async function startDevices(
  gw: Services,
  options: StartDevicesOptions
): Promise<{ streaming: StreamingListener; stop(): Promise<void> }> {
  const { settings, pki, store, internal, log } = gw
  const streaming = await startStreamingListener({
    port: settings.Streaming.TlsPort,
    host: settings.Streaming.BindAddress,
    tls: { ...serverTls(pki), ca: pki.caCertPem },
    maxEventBytes: settings.Streaming.MaxEventBytes,
    idleTimeoutMs: settings.Streaming.IdleTimeoutSeconds * 1000,
    // Read at every handshake: a revoked or expired device is refused without a restart.
    authorize(certificate) {
      // The journal too: it holds revocations a db.json restored from its backup may lack.
      const fingerprint = certificate.fingerprint256
      const device = fingerprint && !pki.revocations.deviceRevoked(fingerprint) ? activeDeviceByFingerprint(store.data, fingerprint) : null
      return device ? { deviceId: device.id, networkId: device.networkId, callsign: device.callsign } : null
    },
    router: options.router,
    log,
    fileshareForReceiver: options.fileshareForReceiver,
    guard: (server) => gw.listeners.guard(server, 'streaming', log, 'Device streaming')
  })
  gw.ports.streaming = streaming.port
  let enrollment
  try {
    enrollment = await startEnrollmentApi(gw, {
      port: settings.Enrollment.Port,
      host: settings.Enrollment.BindAddress,
      tls: serverTls(pki)
    })
  } catch (err) {
    await streaming.close()
    throw err
  }
  gw.ports.enrollment = enrollment.port
  log.info(`Device enrollment API listening on port ${enrollment.port}`)
  gw.presence = (deviceId) => streaming.presence.get(deviceId)

  const onRevoked = (deviceId: string): void => {
    const closed = streaming.disconnectDevice(deviceId)
    if (closed > 0) log.info(`Closed ${closed} connection(s) of a revoked device`)
  }
  const onNetworkDeleted = (networkId: string): void => {
    streaming.disconnectNetwork(networkId)
    options.router.forgetNetwork(networkId)
  }
  // A reissued server certificate (new machine addresses) serves new connections on both ports.
  const onServerIdentity = (): void => {
    streaming.useIdentity(serverTls(pki))
    enrollment.useIdentity(serverTls(pki))
  }
  internal.on('deviceRevoked', onRevoked)
  internal.on('networkDeleted', onNetworkDeleted)
  internal.on('serverIdentityChanged', onServerIdentity)

  const stopPresenceEvents = emitPresenceEvents(gw, streaming)
  const lastSeen = saveLastSeen(store, streaming.presence, log)
  gw.healthContributors.push((health) => addHealth(streaming, health))

  return {
    streaming,
    async stop() {
      stopPresenceEvents()
      internal.off('deviceRevoked', onRevoked)
      internal.off('networkDeleted', onNetworkDeleted)
      internal.off('serverIdentityChanged', onServerIdentity)
      await enrollment.close()
      await streaming.close()
      // After the listener: the devices it just let go are saved with the time they were last heard.
      await lastSeen.stop()
    }
  }
}

/** Presence changes arrive per device; consoles get one deviceStatus per network at most every 500 ms. Returns a stop. */
function emitPresenceEvents(gw: Services, streaming: StreamingListener): () => void {
  const pendingNetworks = new Set<string>()
  let timer: NodeJS.Timeout | null = null
  streaming.presence.on('change', (state) => {
    pendingNetworks.add(state.networkId)
    timer ??= setTimeout(() => {
      timer = null
      for (const networkId of pendingNetworks) {
        if (gw.store.data.networks.some((n) => n.id === networkId))
          gw.events.emit({ type: 'deviceStatus', networkId, devices: networkDevices(gw, networkId) })
      }
      pendingNetworks.clear()
    }, 500)
  })
  return () => {
    if (timer) clearTimeout(timer)
  }
}

function addHealth(streaming: StreamingListener, health: HealthFigures): void {
  const counters = streaming.counters()
  health.connections.devices = streaming.connections().length
  for (const reason of ['unauthorized', 'handshakeFailures', 'malformed', 'declarations', 'oversize', 'protocolErrors', 'drops'] as const) {
    if (counters[reason] > 0) health.dropsByReason[`devices.${reason}`] = counters[reason]
  }
  health.staleOnArrival += streaming.presence.staleOnArrival
  health.laptopClockOffsetSeconds = laptopClockOffset(
    streaming.presence
      .all()
      .filter((d) => d.online)
      .map((d) => d.clockSkewSeconds)
  )
  for (const c of streaming.connections()) {
    if (c.queuedBytes > 0)
      health.queueDepths.push({ id: c.id, label: `${c.callsign ?? c.deviceId} (device)`, bytes: c.queuedBytes, networkId: c.networkId })
  }
}
