// Contract methods for networks: an organization's CoT broadcast domains, and what goes with one when it is deleted.

import type { NetworkDto } from '../api/contract.ts'
import { defineMethods } from '../services.ts'
import { conflict, forbidden, notFound } from '../api/errors.ts'
import { deviceRevocation, peerRemoval, revokeThen } from '../pki/revocations.ts'
import type { Services } from '../services.ts'
import type { DbDocument, NetworkRecord, UserRecord } from '../store/schema.ts'
import { randomId } from './accounts.ts'
import { requireOrganization } from './methods.ts'

export function requireNetwork(gw: Services, id: string): NetworkRecord {
  const network = gw.store.data.networks.find((n) => n.id === id)
  if (!network) throw notFound('That network does not exist.')
  return network
}

/** The network, for a caller who may see it (a member of its organization); what a list method checks first. */
export function requireVisibleNetwork(gw: Services, user: UserRecord, id: string): NetworkRecord {
  const network = requireNetwork(gw, id)
  if (!gw.accounts.canSeeNetwork(user, id)) throw forbidden('You are not a member of the organization that owns this network.')
  return network
}

function networkDto(gw: Services, network: NetworkRecord): NetworkDto {
  const devices = gw.store.data.devices.filter((d) => d.networkId === network.id && !d.revokedAt)
  const online = gw.presence ? devices.filter((d) => gw.presence!(d.id)?.online).length : 0
  return {
    id: network.id,
    organizationId: network.organizationId,
    name: network.name,
    createdAt: network.createdAt,
    deviceCount: devices.length,
    onlineCount: online
  }
}

export const networkMethods = defineMethods({
  listNetworks: {
    auth: 'user',
    run({ gw, args, user }) {
      requireOrganization(gw, args.organizationId)
      if (!gw.accounts.isOrganizationMember(user, args.organizationId)) throw forbidden('You are not a member of that organization.')
      return gw.store.data.networks.filter((n) => n.organizationId === args.organizationId).map((n) => networkDto(gw, n))
    }
  },

  createNetwork: {
    auth: { organizationAdmin: (a) => a.organizationId },
    async run({ gw, args, audit }) {
      requireOrganization(gw, args.organizationId)
      const network: NetworkRecord = {
        id: randomId('net'),
        organizationId: args.organizationId,
        name: args.name,
        createdAt: new Date().toISOString()
      }
      await gw.store.update((doc) => {
        if (doc.networks.some((n) => n.organizationId === args.organizationId && n.name.toLowerCase() === args.name.toLowerCase())) {
          throw conflict(`A network named '${args.name}' already exists in this organization.`)
        }
        doc.networks.push(network)
      })
      audit('createNetwork', `network ${network.name}`, {}, network.organizationId)
      gw.events.emit({ type: 'changed', area: 'networks' })
      return networkDto(gw, network)
    }
  },

  renameNetwork: {
    auth: { organizationAdmin: (a, gw) => requireNetwork(gw, a.id).organizationId },
    async run({ gw, args, audit }) {
      const before = requireNetwork(gw, args.id)
      const updated = await gw.store.update((doc) => {
        const n = doc.networks.find((x) => x.id === args.id)!
        if (
          doc.networks.some(
            (x) => x.id !== n.id && x.organizationId === n.organizationId && x.name.toLowerCase() === args.name.toLowerCase()
          )
        ) {
          throw conflict(`A network named '${args.name}' already exists in this organization.`)
        }
        n.name = args.name
        return { ...n }
      })
      audit('renameNetwork', `network ${before.name}`, { from: before.name, to: updated.name }, updated.organizationId)
      gw.events.emit({ type: 'changed', area: 'networks', networkId: updated.id })
      return networkDto(gw, updated)
    }
  },

  deleteNetwork: {
    auth: { organizationAdmin: (a, gw) => requireNetwork(gw, a.id).organizationId },
    async run({ gw, args, audit }) {
      const network = requireNetwork(gw, args.id)
      const removed = await removeNetworks(gw, [network.id])
      audit('deleteNetwork', `network ${network.name}`, removed, network.organizationId)
      gw.events.emit({ type: 'changed', area: 'networks', networkId: network.id })
      return null
    }
  }
})

/**
 * Removes networks and everything that exists only because of them, and tells the live parts (connections close,
 * links and peer sessions stop). The package files stay on disk (content-addressed, possibly shared) until no index
 * entry points at them. `alsoInDoc` runs in the same write, for a caller that removes more (an organization).
 */
export async function removeNetworks(
  gw: Services,
  networkIds: string[],
  alsoInDoc: (doc: DbDocument) => void = () => undefined
): Promise<{ devices: number; federations: number; externalPeers: number; dataPackages: number }> {
  const ids = new Set(networkIds)
  const at = new Date().toISOString()
  // Its devices' certificates and its peers' trust end with it, for good: a restored db.json must not bring them back.
  const revoked = [
    ...gw.store.data.devices.filter((d) => ids.has(d.networkId)).map((d) => deviceRevocation(d, d.revokedAt ?? at)),
    ...gw.store.data.externalPeers.filter((p) => ids.has(p.networkId)).map((p) => peerRemoval(p, at))
  ]
  const removed = await revokeThen(gw.pki.revocations, revoked, () =>
    gw.store.update((doc) => {
      const counts = {
        devices: doc.devices.filter((d) => ids.has(d.networkId)).length,
        federations: doc.federations.filter((f) => f.ends.some((e) => ids.has(e.networkId))).length,
        externalPeers: doc.externalPeers.filter((p) => ids.has(p.networkId)).length,
        dataPackages: doc.dataPackages.filter((p) => ids.has(p.networkId)).length
      }
      doc.networks = doc.networks.filter((n) => !ids.has(n.id))
      doc.devices = doc.devices.filter((d) => !ids.has(d.networkId))
      // A federation goes whole, both ends, even the end on a network of another organization.
      doc.federations = doc.federations.filter((f) => !f.ends.some((e) => ids.has(e.networkId)))
      doc.federationCodes = doc.federationCodes.filter((c) => !ids.has(c.networkId))
      doc.deviceEnrollments = doc.deviceEnrollments.filter((e) => !ids.has(e.networkId))
      doc.externalPeers = doc.externalPeers.filter((p) => !ids.has(p.networkId))
      doc.dataPackages = doc.dataPackages.filter((p) => !ids.has(p.networkId))
      for (const team of doc.teams) team.grants = team.grants.filter((g) => !ids.has(g.networkId))
      alsoInDoc(doc)
      return counts
    })
  )
  for (const id of networkIds) gw.internal.emit('networkDeleted', id)
  gw.internal.emit('federationsChanged')
  return removed
}
