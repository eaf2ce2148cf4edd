// TAK's group rule biting (issue 16 §1, §2): our gateway dials a TAK-like server (tests/support/tak-server.ts) whose
// admin pasted our federate snippet. With groups its users are not in, the link is up and nothing passes either way;
// with the per-peer snippet naming their group, traffic flows both ways. A renewed leaf unknown to TAK gets its groups
// from the snippet's <federateCA>; without one it gets none and nothing flows.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceClient } from '../../../support/device-client.ts'
import { enrollIdentity, pli, until } from '../../../support/devices.ts'
import { testPki, type TestPki } from '../../../support/pki.ts'
import { startFederatingGateway, type FederatingGateway } from '../../../support/tak-gateway.ts'
import { geoEvent } from '../../../support/tak-federate.ts'
import { groupConfigFromSnippet, type TakGroupConfig, type TakUser } from '../../../support/tak-groups.ts'
import { TakServer } from '../../../support/tak-server.ts'

const REDIAL = { baseDelayMs: 200, maxDelayMs: 1000, afterDropMs: 500 }
const USERS: TakUser[] = [{ name: 'ops', groups: ['Blue Force'] }]
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe("TAK's group rule against our federate", () => {
  let gw: FederatingGateway
  let takPki: TestPki
  let device: DeviceClient
  let peerId = ''
  const servers: TakServer[] = []

  beforeAll(async () => {
    ;[gw, takPki] = await Promise.all([
      startFederatingGateway('fedgate-groups', REDIAL),
      testPki({ freshCa: true, hostname: 'tak-groups.test', federateId: 'tak-groups' })
    ])
    const identity = await enrollIdentity(gw.t, gw.admin, gw.networkId, 'BLUE-1')
    device = await DeviceClient.connect({ port: gw.t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
    // The operator names a group the TAK Server's users are not in; the link gets a dial target per server below.
    const args = { networkId: gw.networkId, fingerprint: takPki.pki.federation!.fingerprint, displayName: 'TAK HQ' }
    peerId = (await gw.t.ok('addExternalPeer', { ...args, takGroups: { inbound: ['Red Cell'], outbound: ['Red Cell'] } }, gw.admin)).id
  }, 30_000)

  afterAll(async () => {
    await device?.close()
    await gw?.fed.stop()
    await gw?.t.stop()
    for (const s of servers) s.close()
    takPki?.cleanup()
  })

  const snippetFor = async (id: string): Promise<string> =>
    Buffer.from(
      (await gw.t.ok('downloadArtifact', { kind: 'coreconfig-federate', peerId: id }, gw.admin)).contentBase64,
      'base64'
    ).toString()

  /** A TAK Server with these entries, and our peer dialing it (a new server each time: TAK sets groups on connect). */
  async function takWith(groupConfig: TakGroupConfig): Promise<TakServer> {
    const identity = takPki.pki.federation!
    const tak = await new TakServer({
      key: identity.keyPem,
      certChain: `${identity.certPem.trim()}\n${takPki.pki.caCertPem.trim()}\n`,
      clientCa: gw.t.services.pki.caCertPem,
      groupConfig,
      users: USERS
    }).start()
    servers.push(tak)
    await gw.t.ok(
      'updateExternalPeer',
      { id: peerId, dial: { address: '127.0.0.1', port: tak.port, caPem: takPki.pki.caCertPem } },
      gw.admin
    )
    await until(() => tak.calls.some((c) => c.method === 'ClientEventStream') && gw.fed.status(peerId).connected, 10_000, 'the link up')
    await settle(300)
    return tak
  }

  /** Sends one event each way and says which arrived. */
  async function exchange(tak: TakServer, tag: string): Promise<{ toTak: boolean; fromTak: boolean }> {
    device.send(pli(`blue-${tag}`, 'BLUE-1'))
    const sent = tak.sendAs('ops', { event: geoEvent(`ops-${tag}`) })
    const toTak = (): boolean => (tak.delivered.get('ops') ?? []).some((m) => m.event?.uid === `blue-${tag}`)
    const fromTak = (): boolean => device.received.some((e) => e.uid === `ops-${tag}`)
    await until(
      () => (toTak() && fromTak()) || tak.dropped.some((m) => m.event?.uid === `blue-${tag}`),
      5000,
      'our event at the TAK side'
    ).catch(() => {})
    await settle(sent > 0 ? 500 : 300)
    return { toTak: toTak(), fromTak: fromTak() }
  }

  it('passes nothing when the snippet puts our federate in groups the TAK users are not in, though the link is up', async () => {
    const tak = await takWith(groupConfigFromSnippet(await snippetFor(peerId)))
    expect(tak.groupsOf(gw.t.services.pki.federation!.fingerprint)).toMatchObject({ inbound: ['Red Cell'], outbound: ['Red Cell'] })
    expect(await exchange(tak, 'red')).toEqual({ toTak: false, fromTak: false })
    expect(tak.dropped.some((m) => m.event?.uid === 'blue-red')).toBe(true)
    expect(gw.fed.status(peerId).connected).toBe(true)
  }, 30_000)

  it("flows both ways once the per-peer snippet names the TAK users' group", async () => {
    await gw.t.ok('updateExternalPeer', { id: peerId, takGroups: { inbound: ['Blue Force'], outbound: ['Blue Force'] } }, gw.admin)
    const tak = await takWith(groupConfigFromSnippet(await snippetFor(peerId)))
    expect(await exchange(tak, 'blue')).toEqual({ toTak: true, fromTak: true })
  }, 30_000)

  it("gives a leaf TAK does not know the groups of the snippet's <federateCA>, and none without it", async () => {
    const pasted = groupConfigFromSnippet(await snippetFor(peerId))
    // As after our certificate was renewed: TAK has no <federate> for the fingerprint that now connects.
    const renewed = await takWith({ federates: [], federateCAs: pasted.federateCAs })
    expect(await exchange(renewed, 'ca')).toEqual({ toTak: true, fromTak: true })
    const unknown = await takWith({ federates: [], federateCAs: [] })
    expect(unknown.groupsOf(gw.t.services.pki.federation!.fingerprint)).toEqual({
      fingerprint: gw.t.services.pki.federation!.fingerprint,
      inbound: [],
      outbound: []
    })
    expect(await exchange(unknown, 'none')).toEqual({ toTak: false, fromTak: false })
  }, 40_000)
})
