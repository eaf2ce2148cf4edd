// Who sees which console event (eventForUser, used by both the SSE and the IPC transport): organization-scoped
// events reach that organization's members only; a federation across organizations reaches both; the TAK Servers
// refused at the federation port reach only those who may add a peer; audit entries of no organization only
// deployment admins.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConsoleEvent } from '../../gateway/api/contract.ts'
import { eventForUser } from '../../gateway/events.ts'
import type { UserRecord } from '../../gateway/store/schema.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'

describe('eventForUser', () => {
  let t: TestGateway
  const users: Record<'admin' | 'alphaLead' | 'alphaViewer' | 'bravoMember' | 'charlieMember', UserRecord> = {} as never
  const ids = { a: '', b: '', c: '', federation: '', peer: '' }

  beforeAll(async () => {
    t = await startTestGateway()
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = async (name: string): Promise<string> => (await t.ok('createOrganization', { name, plan: 'team' }, admin)).id
    const [alpha, bravo, charlie] = [await org('Alpha'), await org('Bravo'), await org('Charlie')]
    ids.a = (await t.ok('createNetwork', { organizationId: alpha, name: 'A' }, admin)).id
    ids.b = (await t.ok('createNetwork', { organizationId: bravo, name: 'B' }, admin)).id
    ids.c = (await t.ok('createNetwork', { organizationId: charlie, name: 'C' }, admin)).id
    const code = await t.ok('generateFederationCode', { networkId: ids.a }, admin)
    ids.federation = (await t.ok('redeemFederationCode', { networkId: ids.b, code: code.code }, admin)).id
    const fingerprint = Array.from({ length: 32 }, () => 'AB').join(':')
    ids.peer = (await t.ok('addExternalPeer', { networkId: ids.c, fingerprint, displayName: 'HQ' }, admin)).id
    const user = async (username: string, organizationId: string, organizationAdmin = false): Promise<UserRecord> => {
      await t.ok('createUser', { username, password: `${username}-password`, organizationId, organizationAdmin }, admin)
      return t.services.store.data.users.find((u) => u.username === username)!
    }
    users.admin = t.services.store.data.users.find((u) => u.username === 'admin')!
    users.alphaLead = await user('alpha-lead', alpha, true)
    users.alphaViewer = await user('alpha-viewer', alpha)
    users.bravoMember = await user('bravo-member', bravo)
    users.charlieMember = await user('charlie-member', charlie)
  })

  afterAll(async () => {
    await t?.stop()
  })

  const who = (event: ConsoleEvent): string[] =>
    Object.entries(users)
      .filter(([, user]) => eventForUser(event, t.services, user) !== null)
      .map(([name]) => name)
      .sort()

  it('a federation across organizations: its rates reach the members of both ends, no one else', () => {
    const stats = { federationId: ids.federation, networkId: ids.a, inPerSecond: 1, outPerSecond: 2, lastActivity: null }
    expect(who({ type: 'federationStats', federations: [stats] })).toEqual(['admin', 'alphaLead', 'alphaViewer', 'bravoMember'])
    // Mixed with a federation nobody here knows, each user gets only what is theirs.
    const unknown = { ...stats, federationId: 'fed_gone' }
    expect(eventForUser({ type: 'federationStats', federations: [stats, unknown] }, t.services, users.bravoMember)).toEqual({
      type: 'federationStats',
      federations: [stats]
    })
    expect(eventForUser({ type: 'federationStats', federations: [unknown] }, t.services, users.admin)).toBeNull()
  })

  it('refused TAK Servers reach deployment admins and whoever may add a peer somewhere', () => {
    const peer = {
      fingerprint: 'CD:'.repeat(31) + 'CD',
      subject: 'CN=stranger',
      address: '10.0.0.9',
      firstSeen: new Date().toISOString(),
      lastSeen: new Date().toISOString(),
      count: 1
    }
    expect(who({ type: 'rejectedPeer', peer } as ConsoleEvent)).toEqual(['admin', 'alphaLead'])
  })

  it("audit entries: an organization's reach its members; the deployment's own (no organization) only deployment admins", () => {
    const entry = (organizationId: string | null): ConsoleEvent => ({
      type: 'auditAppended',
      entry: {
        id: '0',
        at: new Date().toISOString(),
        actor: 'admin',
        who: 'Administrator',
        action: 'externalPeerConflict',
        kind: 'peers',
        sentence: 'Administrator could not add a TAK Server',
        target: 'fingerprint AB',
        organizationId,
        details: {},
        names: {}
      }
    })
    const alpha = t.services.store.data.networks.find((n) => n.id === ids.a)!.organizationId
    expect(who(entry(alpha))).toEqual(['admin', 'alphaLead', 'alphaViewer'])
    expect(who(entry(null))).toEqual(['admin'])
    const bravo = t.services.store.data.networks.find((n) => n.id === ids.b)!.organizationId
    expect(who(entry(bravo))).toEqual(['admin', 'bravoMember'])
  })

  it('device status, peer status and network changes stay within the organization', () => {
    expect(who({ type: 'deviceStatus', networkId: ids.b, devices: [] })).toEqual(['admin', 'bravoMember'])
    expect(who({ type: 'changed', area: 'devices', networkId: ids.c })).toEqual(['admin', 'charlieMember'])
    const status = { peerId: ids.peer, connected: false, since: null, inPerSecond: 0, outPerSecond: 0, lastHeard: null }
    expect(who({ type: 'peerStatus', peers: [status] } as ConsoleEvent)).toEqual(['admin', 'charlieMember'])
  })

  it('health: machine-wide figures for everyone, each receiver backlog only for its organization', async () => {
    const health = {
      ...t.services.health(),
      queueDepths: [
        { id: 'c1', label: 'VIPER-1 (device)', bytes: 10, networkId: ids.a },
        { id: 's1', label: 'HQ (federation peer)', bytes: 20, networkId: ids.c }
      ]
    }
    const labels = (user: UserRecord): string[] => {
      const seen = eventForUser({ type: 'health', health }, t.services, user)
      expect(seen).toMatchObject({ type: 'health', health: { uptimeSeconds: health.uptimeSeconds, connections: health.connections } })
      return (seen as { health: typeof health }).health.queueDepths.map((q) => q.label)
    }
    expect(labels(users.admin)).toEqual(['VIPER-1 (device)', 'HQ (federation peer)'])
    expect(labels(users.alphaViewer)).toEqual(['VIPER-1 (device)'])
    expect(labels(users.bravoMember)).toEqual([])
    expect(labels(users.charlieMember)).toEqual(['HQ (federation peer)'])
    // getHealth answers with the same cut.
    const bravo = await t.loginAs('bravo-member', 'bravo-member-password')
    expect((await t.ok('getHealth', {}, bravo)).queueDepths).toEqual([])
  })
})
