// Test helper: a gateway whose TAK federation runs with test timings (its own instance, replacing the one with
// TAK's defaults), signed in as the administrator, with one organization and one network 'Main'.

import { startTakFederation, takFederationArea, type TakFederation } from '../../gateway/federation/tak/index.ts'
import type { RedialPolicy } from '../../gateway/federation/tak/client.ts'
import { startTestGateway, type TestGateway } from './gateway.ts'

export interface FederatingGateway {
  t: TestGateway
  fed: TakFederation
  admin: string
  networkId: string
}

/** The settings a federating test gateway runs with (for a restart on its data: `startTestGateway({ dataDir, env })`). */
export const federatingEnv = (federateId: string): Record<string, string> => ({ Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: federateId })

/** @param dataDir keep the data there (not deleted at stop), to start again on it */
export async function startFederatingGateway(federateId: string, redial: RedialPolicy, dataDir?: string): Promise<FederatingGateway> {
  const t = await startTestGateway({ env: federatingEnv(federateId), dataDir })
  await takFederationArea(t.services)!.stop()
  const fed = await startTakFederation(t.services, {
    router: t.services.router!,
    pki: t.services.pki,
    host: '127.0.0.1',
    port: 0,
    redial,
    healthIntervalMs: 300,
    statusIntervalMs: 100
  })
  const admin = await t.loginAs('admin', t.adminPassword!)
  const org = await t.ok('createOrganization', { name: `Org ${federateId}`, plan: 'team' }, admin)
  const network = await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)
  return { t, fed, admin, networkId: network.id }
}
