// One TAK Server peer as the gateway lists it, for component tests: every field the contract requires, with the
// defaults a freshly added peer has, so a new field of ExternalPeerDto is added here once, not in every test.

import type { ExternalPeerDto, PeerStatusDto } from '../../gateway/api/contract.ts'

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
