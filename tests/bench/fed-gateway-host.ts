// Child process for the fed v2 scenario: one whole gateway (startGateway in a temp data dir, with its own CA and
// TAK federation), an organization, a network and a few enrolled devices whose certificates come from the real
// connection packages. The orchestrator links two of these with addExternalPeer (one dials, the other accepts).

import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { takFederationArea } from '../../gateway/federation/tak/index.ts'
import { enrollIdentity } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import type { FromFedHost, ToFedHost } from './messages.ts'
import { ProcessMeter } from './process-meter.ts'

const send = (message: FromFedHost): void => void process.send!(message)

let gateway: TestGateway | null = null
let admin = ''
let networkId = ''
let peerId = ''
let dataDir = ''
const meter = new ProcessMeter(() => {
  const router = gateway?.services.router
  if (!gateway || !router) return null
  const health = gateway.services.health()
  return {
    queues: () => health.queueDepths.map((q) => ({ deviceId: q.id, bytes: q.bytes })),
    drops: () => Object.values(gateway!.services.health().dropsByReason).reduce((a, b) => a + b, 0),
    deliveries: () => router.stats().deliveries,
    eventsIn: () => router.stats().eventsIn
  }
})

async function start(federateId: string, devices: number): Promise<FromFedHost> {
  dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-bench-gw-'))
  // No seedPkiDir: each gateway makes its own CA and federation identity, two deployments as in the field.
  gateway = await startTestGateway({
    dataDir,
    env: {
      Federation__AdvertisedHostname: 'localhost',
      Federation__OurFederateId: federateId,
      Federation__BindAddress: '127.0.0.1',
      Streaming__BindAddress: '127.0.0.1'
    }
  })
  admin = await gateway.loginAs('admin', gateway.adminPassword!)
  const org = await gateway.ok('createOrganization', { name: `Bench ${federateId}`, plan: 'team' }, admin)
  networkId = (await gateway.ok('createNetwork', { organizationId: org.id, name: 'Bench' }, admin)).id
  const identities: { certPem: string; keyPem: string }[] = []
  let ca = ''
  for (let i = 0; i < devices; i++) {
    const identity = await enrollIdentity(gateway, admin, networkId, `${federateId}-${i}`)
    identities.push({ certPem: identity.cert, keyPem: identity.key })
    ca = identity.ca
  }
  const federation = takFederationArea(gateway.services)
  if (!federation || federation.port === 0) throw new Error('The TAK federation of the benchmark gateway did not start')
  meter.mark()
  return {
    type: 'ready',
    streamingPort: gateway.services.ports.streaming,
    federationPort: federation.port,
    federationFingerprint: gateway.services.pki.federation!.fingerprint,
    ca,
    identities
  }
}

process.on('message', (message: ToFedHost) => {
  void (async () => {
    if (message.type === 'start') {
      send(await start(message.federateId, message.devices))
    } else if (message.type === 'peer') {
      const args = {
        networkId,
        fingerprint: message.fingerprint,
        displayName: 'Bench peer',
        ...(message.dial ? { dial: message.dial } : {})
      }
      peerId = (await gateway!.ok('addExternalPeer', args, admin)).id
      send({ type: 'peered' })
    } else if (message.type === 'waitConnected') {
      const federation = takFederationArea(gateway!.services)!
      const deadline = Date.now() + message.timeoutMs
      while (!federation.status(peerId).connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      const status = federation.status(peerId)
      send({ type: 'connected', ok: status.connected, lastError: status.lastError })
    } else if (message.type === 'mark') {
      meter.mark(message.at)
    } else if (message.type === 'report') {
      // Health counts what the links dropped for room ('federation.oldestPosition' / '.full' / '.closed'); the
      // session's other counters are policy (echoes, toggles off), shown for digging but not drops of capacity.
      const dropsByReason = { ...gateway!.services.health().dropsByReason }
      const linkReasons = new Set(['oldestPosition', 'full', 'closed'])
      for (const session of takFederationArea(gateway!.services)?.sessionsOf(peerId) ?? []) {
        for (const [reason, count] of Object.entries(session.dropped)) {
          if (count > 0 && !linkReasons.has(reason)) dropsByReason[`session.${reason}`] = (dropsByReason[`session.${reason}`] ?? 0) + count
        }
      }
      send({ type: 'report', report: meter.report(), fed: { dropsByReason } })
    } else if (message.type === 'stop') {
      // BENCH_FED_LOGS=1: what the gateway logged, for digging into a link that carried nothing.
      if (process.env.BENCH_FED_LOGS) for (const line of gateway?.logs ?? []) console.error(`[${dataDir}] ${line}`)
      await gateway?.stop()
      await fsp.rm(dataDir, { recursive: true, force: true })
      send({ type: 'stopped' })
      process.exit(0)
    }
  })().catch((error: unknown) => {
    console.error(`fed gateway host: ${error instanceof Error ? error.stack : String(error)}`)
    process.exit(1)
  })
})
process.on('disconnect', () => process.exit(0))
