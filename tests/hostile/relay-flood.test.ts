// Issue 20, relay: while something relays, the router remembers each network's arrivals over federations so a copy
// that comes another way is dropped. A TAK federate sends a flood of events with fresh uids of 1 KiB into a network
// whose local federation relays: what is remembered stays within MAX_SEEN (hashed, so the size of a uid does not
// count), and the newest events still go on over the relaying link.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTakFederation, takFederationArea, type TakFederation } from '../../gateway/federation/tak/index.ts'
import { MAX_SEEN } from '../../gateway/routing/relay.ts'
import { DeviceClient } from '../support/device-client.ts'
import { enrollIdentity, until } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { testPki, type TestPki } from '../support/pki.ts'
import { TakFederate } from '../support/tak-federate.ts'

const FLOOD = MAX_SEEN + 2_000
const UID_CHARS = 1024

describe('hostile: a relayed flood of fresh uids', () => {
  let t: TestGateway
  let fed: TakFederation
  let tak: TestPki
  let federate: TakFederate | null = null
  let phone: DeviceClient | null = null

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-a' } })
    await takFederationArea(t.services)!.stop()
    fed = await startTakFederation(t.services, { router: t.services.router!, pki: t.services.pki, host: '127.0.0.1', port: 0 })
    tak = await testPki({ freshCa: true, hostname: 'tak-alpha.test', federateId: 'tak-alpha' })
  }, 60_000)

  afterAll(async () => {
    federate?.close()
    await phone?.close()
    await fed?.stop()
    await t?.stop()
    tak?.cleanup()
  })

  it('remembers at most MAX_SEEN arrivals and still relays the newest', async () => {
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
    const blue = (await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)).id
    const green = (await t.ok('createNetwork', { organizationId: org.id, name: 'Green' }, admin)).id
    const federation = await t.ok('federateWithinOrganization', { networkId: blue, otherNetworkId: green }, admin)
    await t.ok('updateFederationEnd', { federationId: federation.id, networkId: blue, relay: true }, admin)
    const fingerprint = tak.pki.federation!.fingerprint.replace(/:/g, '').toLowerCase()
    const peerId = (await t.ok('addExternalPeer', { networkId: blue, fingerprint, displayName: 'TAK Alpha' }, admin)).id
    const identity = await enrollIdentity(t, admin, green, 'GREEN-1')
    phone = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })

    federate = new TakFederate({
      port: fed.port,
      ca: t.services.pki.caCertPem,
      key: tak.pki.federation!.keyPem,
      certChain: `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
      name: 'tak-alpha-out',
      healthIntervalMs: 300
    }).start()
    await federate.serving()
    await until(() => fed.sessionsOf(peerId).length === 1, 5000, 'the session')

    const now = Date.now()
    const uid = (i: number): string => `${String(i).padStart(6, '0')}-${'u'.repeat(UID_CHARS)}`
    for (let i = 0; i < FLOOD; i++) {
      federate.send({
        event: {
          uid: uid(i),
          type: 'a-h-G',
          coordSource: 'm-g',
          sendTime: now,
          startTime: now,
          staleTime: now + 60_000,
          lat: 1,
          lon: 2,
          other: '<detail/>'
        },
        federateProvenance: [{ federationServerId: 'tak-alpha', federationServerName: 'tak-alpha' }],
        federateHops: { currentHops: 1, maxHops: -1 }
      })
      if (i % 2000 === 1999) await new Promise((r) => setImmediate(r))
    }
    await phone.waitFor((e) => e.uid === uid(FLOOD - 1), 60_000)
    expect(t.services.router!.seen.size).toBeLessThanOrEqual(MAX_SEEN)
  }, 120_000)
})
