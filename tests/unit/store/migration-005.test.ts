// Migration 3 → 4: federation ends and external peers saved before filters by kind of traffic (issue 20) open with no
// filter either way (null: everything crosses, as before), and everything else they held unchanged.

import { describe, expect, it } from 'vitest'
import { migrate } from '../../../gateway/store/migrate.ts'
import { migration005 } from '../../../gateway/store/migrations/005-traffic-filters.ts'
import { SCHEMA_VERSION } from '../../../gateway/store/schema.ts'

const end = (networkId: string) => ({ networkId, incoming: true, outgoing: false, acceptPackages: true, sharePackages: false })
const peer = {
  id: 'peer_1',
  networkId: 'net_a',
  fingerprint: 'AA:BB',
  displayName: 'HQ',
  incoming: true,
  outgoing: true,
  acceptPackages: false,
  sharePackages: false,
  dial: null,
  takGroups: { inbound: ['__ANON__'], outbound: ['__ANON__'] },
  createdAt: '2026-01-01T00:00:00.000Z'
}
const versionThree = {
  schemaVersion: 3,
  organizations: [],
  users: [],
  teams: [],
  networks: [],
  devices: [],
  federations: [{ id: 'fed_1', kind: 'withinOrganization', createdAt: '2026-01-01T00:00:00.000Z', ends: [end('net_a'), end('net_b')] }],
  federationCodes: [],
  externalPeers: [peer],
  dataPackages: [],
  deviceEnrollments: [],
  meta: { deploymentId: 'dep-1', createdAt: '2026-01-01T00:00:00.000Z' }
}

describe('migration 005 (version 4 → 5)', () => {
  it('gives every federation end and peer no filter either way, and keeps the rest', () => {
    const out = migration005(structuredClone(versionThree)) as typeof versionThree
    expect(out.schemaVersion).toBe(5)
    expect(out.federations[0]!.ends).toEqual([
      { ...end('net_a'), inFilter: null, outFilter: null },
      { ...end('net_b'), inFilter: null, outFilter: null }
    ])
    expect(out.externalPeers).toEqual([{ ...peer, inFilter: null, outFilter: null }])
  })

  it('is part of the walk to the current version', () => {
    const doc = migrate(structuredClone(versionThree))
    expect(doc.schemaVersion).toBe(SCHEMA_VERSION)
    expect(doc.externalPeers[0]!.inFilter).toBeNull()
    expect(doc.federations[0]!.ends[1].outFilter).toBeNull()
  })
})
