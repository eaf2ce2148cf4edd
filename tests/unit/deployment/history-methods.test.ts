// getHealthHistory and getLinkHistory over a real gateway: devices stream over mutual TLS across a local federation,
// the charts count what was sent, pushed samples reach only who may see them, and strangers are refused.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConsoleEvent } from '../../../gateway/api/contract.ts'
import { eventForUser } from '../../../gateway/events.ts'
import { eventsOver } from '../../../gateway/routing/history.ts'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity, pli, until } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

const SENT = 12

describe('chart history methods', () => {
  let t: TestGateway
  let admin: string
  let alphaLead: string
  let bravoMember: string
  const ids: Record<string, string> = {}
  const clients: DeviceClient[] = []
  const pushed: ConsoleEvent[] = []

  beforeAll(async () => {
    t = await startTestGateway({ env: { Console__ChartSampleSeconds: '1' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const alpha = (await t.ok('createOrganization', { name: 'Alpha', plan: 'team' }, admin)).id
    const bravo = (await t.ok('createOrganization', { name: 'Bravo', plan: 'team' }, admin)).id
    ids.a1 = (await t.ok('createNetwork', { organizationId: alpha, name: 'A1' }, admin)).id
    ids.a2 = (await t.ok('createNetwork', { organizationId: alpha, name: 'A2' }, admin)).id
    ids.b = (await t.ok('createNetwork', { organizationId: bravo, name: 'B' }, admin)).id
    ids.federation = (await t.ok('federateWithinOrganization', { networkId: ids.a1, otherNetworkId: ids.a2 }, admin)).id
    const fingerprint = Array.from({ length: 32 }, () => 'CD').join(':')
    ids.peer = (await t.ok('addExternalPeer', { networkId: ids.a1, fingerprint, displayName: 'HQ' }, admin)).id
    await t.ok(
      'createUser',
      { username: 'alpha-lead', password: 'alpha-lead-password', organizationId: alpha, organizationAdmin: true },
      admin
    )
    await t.ok(
      'createUser',
      { username: 'bravo-member', password: 'bravo-member-password', organizationId: bravo, organizationAdmin: true },
      admin
    )
    alphaLead = await t.loginAs('alpha-lead', 'alpha-lead-password')
    bravoMember = await t.loginAs('bravo-member', 'bravo-member-password')
    t.services.events.subscribe((event) => pushed.push(event))

    const port = t.services.ports.streaming
    const sender = await DeviceClient.connect({ port, ...(await enrollIdentity(t, admin, ids.a1, 'SENDER')) })
    const receiver = await DeviceClient.connect({ port, ...(await enrollIdentity(t, admin, ids.a2, 'RECEIVER')) })
    clients.push(sender, receiver)
    await until(() => t.services.router.stats().endpoints.devices === 2, 5000, 'both devices attached')
    for (let i = 0; i < SENT; i++) sender.send(pli(`SENDER-${i}`, `SENDER-${i}`))
    await until(() => receiver.events.length >= SENT, 5000, 'the receiver got every position')
    // The points after the traffic hold all of it.
    await until(
      () => {
        const history = t.services.history.healthHistory(() => true)
        return eventsOver(history.eventsInPerSecond, history.periodSeconds) >= SENT
      },
      8000,
      'the health history counted the traffic'
    )
  }, 30_000)

  afterAll(async () => {
    for (const c of clients) c.socket.destroy()
    await t?.stop()
  })

  it('keeps the last hour of health figures, one point per sample period, counting what devices sent', async () => {
    const history = await t.ok('getHealthHistory', undefined, alphaLead)
    expect(history.periodSeconds).toBe(1)
    expect(history.times.length).toBeGreaterThan(0)
    expect(history.times.length).toBeLessThanOrEqual(3600)
    for (const series of [history.eventsInPerSecond, history.rssBytes, history.devices, history.backlogBytes]) {
      expect(series.length).toBe(history.times.length)
    }
    expect(eventsOver(history.eventsInPerSecond, 1)).toBe(SENT)
    // Each position reached one device across the federation.
    expect(eventsOver(history.eventsOutPerSecond, 1)).toBe(SENT)
    expect(Math.max(...history.devices.map((d) => d ?? 0))).toBe(2)
    expect(Math.max(...history.rssBytes.map((d) => d ?? 0))).toBeGreaterThan(10_000_000)
  })

  it('gives each federation end its traffic both ways, as its own network sees it', async () => {
    const fromA1 = await t.ok('getLinkHistory', { federationId: ids.federation, networkId: ids.a1 }, alphaLead)
    expect(fromA1.last15Minutes).toEqual({ in: 0, out: SENT, drops: null })
    expect(fromA1.lastHour).toEqual({ in: 0, out: SENT, drops: null })
    expect(fromA1.outPerSecond.length).toBe(fromA1.times.length)
    const intoA2 = await t.ok('getLinkHistory', { federationId: ids.federation, networkId: ids.a2 }, admin)
    expect(intoA2.lastHour).toEqual({ in: SENT, out: 0, drops: null })
  })

  it('gives a TAK peer its traffic and drops (zero for a peer that never connected)', async () => {
    const peer = await t.ok('getLinkHistory', { peerId: ids.peer }, alphaLead)
    expect(peer.key).toBe(`peer:${ids.peer}`)
    expect(peer.times.length).toBeGreaterThan(0)
    expect(peer.lastHour).toEqual({ in: 0, out: 0, drops: 0 })
  })

  it('refuses a link to a user of another organization, and names what does not exist', async () => {
    const peer = await t.call('getLinkHistory', { peerId: ids.peer }, bravoMember)
    expect(peer.ok ? null : peer.error.code).toBe('forbidden')
    const end = await t.call('getLinkHistory', { federationId: ids.federation, networkId: ids.a1 }, bravoMember)
    expect(end.ok ? null : end.error.code).toBe('forbidden')
    const wrongEnd = await t.call('getLinkHistory', { federationId: ids.federation, networkId: ids.b }, admin)
    expect(wrongEnd.ok ? null : wrongEnd.error.code).toBe('not_found')
    const anonymous = await t.call('getHealthHistory', undefined, null)
    expect(anonymous.ok ? null : anonymous.error.code).toBe('unauthenticated')
  })

  it("pushes each new point live, with only the links and backlogs of the user's networks", () => {
    const samples = pushed.filter((e) => e.type === 'historySample')
    expect(samples.length).toBeGreaterThan(0)
    const last = samples.at(-1)!
    const users = t.services.store.data.users
    const asAlpha = eventForUser(
      last,
      t.services,
      users.find((u) => u.username === 'alpha-lead')!
    )
    const asBravo = eventForUser(
      last,
      t.services,
      users.find((u) => u.username === 'bravo-member')!
    )
    if (asAlpha?.type !== 'historySample' || asBravo?.type !== 'historySample') throw new Error('a sample was withheld')
    expect(asAlpha.links.map((l) => l.key).sort()).toEqual(
      [`fed:${ids.federation}:${ids.a1}`, `fed:${ids.federation}:${ids.a2}`, `peer:${ids.peer}`].sort()
    )
    expect(asBravo.links).toEqual([])
    expect(asBravo.health.rssBytes).toBeGreaterThan(0)
    expect(Object.keys(asBravo.health.backlogByNetwork)).toEqual([])
  })
})
