// Relay settings through the contract (issue 20): off with limit 2 on new federation ends and peers, changed only
// with "Change federation" on that network, the limit bounded 1–8, audited in words, and kept by db.json's migration.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../../gateway/store/migrate.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

describe('relay settings', () => {
  let t: TestGateway
  let admin: string
  const ids: Record<string, string> = {}
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-r' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team', tokenLimit: 5 }, admin)
    ids.alpha = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
    ids.bravo = (await t.ok('createNetwork', { organizationId: org.id, name: 'Bravo' }, admin)).id
    ids.federation = (await t.ok('federateWithinOrganization', { networkId: ids.alpha, otherNetworkId: ids.bravo }, admin)).id
    ids.peer = (await t.ok('addExternalPeer', { networkId: ids.alpha, fingerprint: 'AB'.repeat(32), displayName: 'TAK HQ' }, admin)).id
    for (const permission of ['changeFederation', 'stopFederating'] as const) {
      const user = await t.ok('createUser', { username: `u-${permission}`, password: 'member-password', organizationId: org.id }, admin)
      const team = await t.ok('createTeam', { organizationId: org.id, name: `team-${permission}` }, admin)
      await t.ok('setTeamMembers', { teamId: team.id, memberIds: [user.id] }, admin)
      await t.ok('setTeamGrants', { teamId: team.id, grants: [{ networkId: ids.alpha, permissions: [permission] }] }, admin)
      tokens[permission] = await t.loginAs(`u-${permission}`, 'member-password')
    }
  })

  afterAll(async () => {
    await t?.stop()
  })

  it('are off with limit 2 on a new federation end and a new peer', async () => {
    const [federation] = await t.ok('listFederations', { networkId: ids.alpha }, admin)
    expect({ relay: federation!.ours.relay, maxHops: federation!.ours.maxHops }).toEqual({ relay: false, maxHops: 2 })
    const [peer] = await t.ok('listExternalPeers', { networkId: ids.alpha }, admin)
    expect({ relay: peer!.relay, maxHops: peer!.maxHops }).toEqual({ relay: false, maxHops: 2 })
  })

  it('are changed with "Change federation" only, the limit within 1–8, and the log says it in words', async () => {
    const end = { federationId: ids.federation, networkId: ids.alpha }
    expect((await t.call('updateFederationEnd', { ...end, relay: true }, tokens.stopFederating)).ok).toBe(false)
    expect((await t.call('updateExternalPeer', { id: ids.peer, relay: true }, tokens.stopFederating)).ok).toBe(false)
    for (const maxHops of [0, 9, 2.5]) expect((await t.call('updateFederationEnd', { ...end, maxHops }, admin)).ok).toBe(false)
    const updated = await t.ok('updateFederationEnd', { ...end, relay: true, maxHops: 3 }, tokens.changeFederation)
    expect({ relay: updated.ours.relay, maxHops: updated.ours.maxHops, theirs: updated.theirs.relay }).toEqual({
      relay: true,
      maxHops: 3,
      theirs: false
    })
    const peer = await t.ok('updateExternalPeer', { id: ids.peer, relay: true }, tokens.changeFederation)
    expect({ relay: peer.relay, maxHops: peer.maxHops }).toEqual({ relay: true, maxHops: 2 })
    await t.ok('updateExternalPeer', { id: ids.peer, maxHops: 5 }, tokens.changeFederation)
    const sentences = (await t.ok('listAuditLog', { limit: 50 }, admin)).entries.map((e) => e.sentence)
    expect(sentences).toContain('u-changeFederation turned relay on (up to 3 links) for Alpha ↔ Bravo')
    expect(sentences).toContain('u-changeFederation changed TAK Server peer TAK HQ on network Alpha: turned relay on (up to 2 links)')
    expect(sentences).toContain('u-changeFederation changed TAK Server peer TAK HQ on network Alpha: set the relay limit to 5 links')
  })

  it('db.json from before relay gets it off with limit 2 on every end and peer', () => {
    const doc = migrate({
      ...structuredClone(t.services.store.data),
      schemaVersion: 3,
      federations: [
        { id: 'f', kind: 'withinOrganization', createdAt: '2026-01-01T00:00:00.000Z', ends: [{ networkId: 'a' }, { networkId: 'b' }] }
      ],
      externalPeers: [{ id: 'p', networkId: 'a', takGroups: { inbound: ['__ANON__'], outbound: ['__ANON__'] } }]
    })
    expect(doc.federations[0]!.ends.map((e) => [e.relay, e.maxHops])).toEqual([
      [false, 2],
      [false, 2]
    ])
    expect([doc.externalPeers[0]!.relay, doc.externalPeers[0]!.maxHops]).toEqual([false, 2])
  })
})
