// Test helper: a gateway whose TAK federation runs with test timings (its own instance, replacing the one with
// TAK's defaults), signed in as the administrator, with one organization and one network 'Main'.

import { startTakFederation, takFederationArea, type TakFederation, type TakFederationOptions } from '../../gateway/federation/tak/index.ts'
import type { RedialPolicy } from '../../gateway/federation/tak/client.ts'
import { until } from './devices.ts'
import { startTestGateway, type TestGateway } from './gateway.ts'

export interface FederatingGateway {
  t: TestGateway
  fed: TakFederation
  admin: string
  networkId: string
}

/** The settings a federating test gateway runs with (for a restart on its data: `startTestGateway({ dataDir, env })`). */
export const federatingEnv = (federateId: string): Record<string, string> => ({
  Federation__AdvertisedHostname: 'localhost',
  Federation__OurFederateId: federateId
})

/**
 * @param dataDir keep the data there (not deleted at stop), to start again on it
 * @param extra other federation options (e.g. a short `nothingArrivesMs`)
 */
export async function startFederatingGateway(
  federateId: string,
  redial: RedialPolicy,
  dataDir?: string,
  extra: Pick<TakFederationOptions, 'nothingArrivesMs'> = {}
): Promise<FederatingGateway> {
  const t = await startTestGateway({ env: federatingEnv(federateId), dataDir })
  await takFederationArea(t.services)!.stop()
  const fed = await startTakFederation(t.services, {
    router: t.services.router!,
    pki: t.services.pki,
    host: '127.0.0.1',
    port: 0,
    redial,
    healthIntervalMs: 300,
    statusIntervalMs: 100,
    ...extra
  })
  const admin = await t.loginAs('admin', t.adminPassword!)
  const org = await t.ok('createOrganization', { name: `Org ${federateId}`, plan: 'team' }, admin)
  const network = await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)
  return { t, fed, admin, networkId: network.id }
}

/**
 * Each side registers the other as a TAK Server peer: `accepting` waits to be dialed, `dialing` dials its federation
 * port (trusting its CA when `withCa`). Resolves with both peer ids once both sides are up.
 */
export async function federatePair(
  accepting: Pick<FederatingGateway, 't' | 'fed' | 'admin' | 'networkId'>,
  dialing: Pick<FederatingGateway, 't' | 'fed' | 'admin' | 'networkId'>,
  names: { accepting: string; dialing: string },
  options: { withCa?: boolean } = {}
): Promise<{ acceptingPeerId: string; dialingPeerId: string }> {
  const fingerprintOf = (side: Pick<FederatingGateway, 't'>): string => side.t.services.pki.federation!.fingerprint
  const acceptingPeerId = (
    await accepting.t.ok(
      'addExternalPeer',
      { networkId: accepting.networkId, fingerprint: fingerprintOf(dialing), displayName: names.accepting },
      accepting.admin
    )
  ).id
  const dial = { address: '127.0.0.1', port: accepting.fed.port, ...(options.withCa ? { caPem: accepting.t.services.pki.caCertPem } : {}) }
  const dialingPeerId = (
    await dialing.t.ok(
      'addExternalPeer',
      { networkId: dialing.networkId, fingerprint: fingerprintOf(accepting), displayName: names.dialing, dial },
      dialing.admin
    )
  ).id
  await until(
    () => accepting.fed.status(acceptingPeerId).connected && dialing.fed.status(dialingPeerId).connected,
    10_000,
    'both sides connected'
  )
  return { acceptingPeerId, dialingPeerId }
}
