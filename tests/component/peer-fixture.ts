// One TAK Server peer as the gateway lists it, and a signed-in network lead, for component tests: every field the contract requires, with the
// defaults a freshly added peer has, so a new field of ExternalPeerDto is added here once, not in every test.

import { createPinia, setActivePinia } from 'pinia'
import type { ExternalPeerDto, OrganizationDto, PeerStatusDto } from '../../gateway/api/contract.ts'
import { PERMISSIONS } from '../../gateway/api/contract.ts'
import { useOrganizationsStore } from '../../renderer/src/stores/organizations.ts'
import { useSessionStore } from '../../renderer/src/stores/session.ts'

export const FIXTURE_TIME = '2026-11-26T10:00:00.000Z'

export function peerDto(
  name: string,
  fields: Partial<Omit<ExternalPeerDto, 'status'>> = {},
  status: Partial<PeerStatusDto> = {}
): ExternalPeerDto {
  const id = fields.id ?? `peer_${name}`
  return {
    id,
    networkId: 'net_alpha',
    fingerprint: Array.from({ length: 32 }, () => 'AB').join(':'),
    nextFingerprint: null,
    displayName: name,
    dial: null,
    takGroups: { inbound: ['__ANON__'], outbound: ['__ANON__'] },
    createdAt: FIXTURE_TIME,
    diagnosis: null,
    clockSkewSeconds: null,
    incoming: true,
    outgoing: true,
    acceptPackages: false,
    sharePackages: false,
    relay: false,
    maxHops: 2,
    inFilter: null,
    outFilter: null,
    ...fields,
    status: {
      peerId: id,
      connected: true,
      since: FIXTURE_TIME,
      inPerSecond: 0,
      outPerSecond: 0,
      lastHeard: null,
      lastError: null,
      history: { in: [], out: [] },
      ...status
    }
  }
}

/**
 * A fresh Pinia with a signed-in network lead: every permission on `networkId`, member (not admin) of
 * `organizationId` (team plan, 2 of 5 tokens used), which is the organization on show.
 */
export function signInAsNetworkLead(networkId: string, organizationId: string): void {
  setActivePinia(createPinia())
  useSessionStore().me = {
    user: {
      id: 'u1',
      username: 'lead',
      displayName: 'Lead',
      deploymentAdmin: false,
      memberships: [{ organizationId, admin: false }],
      createdAt: FIXTURE_TIME
    },
    networkPermissions: { [networkId]: [...PERMISSIONS] },
    adminOf: []
  }
  const organizations = useOrganizationsStore()
  const organization: OrganizationDto = {
    id: organizationId,
    name: '2-5 Recon',
    plan: 'team',
    tokenLimit: 5,
    tokensUsed: 2,
    createdAt: FIXTURE_TIME
  }
  organizations.list = [organization]
  organizations.select(organizationId)
}
