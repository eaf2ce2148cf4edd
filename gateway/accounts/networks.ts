// Contract methods for networks: an organization's CoT broadcast domains, and what goes with one when it is deleted.

import type { NetworkDto } from '../api/contract.ts'
import { defineMethods } from '../services.ts'
import { conflict, forbidden, notFound } from '../api/errors.ts'
import { deviceRevocation, peerRemoval, revokeThen } from '../pki/revocations.ts'
import type { Services } from '../services.ts'
import type { NetworkRecord, UserRecord } from '../store/schema.ts'
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
      // Everything that exists only because of the network goes with it; the package files stay on disk
      // (content-addressed, possibly shared) until no index entry points at them.
      const at = new Date().toISOString()
      // Its devices' certificates and its peers' trust end with it, for good: a restored db.json must not bring them back.
      const revoked = [
        ...gw.store.data.devices.filter((d) => d.networkId === network.id).map((d) => deviceRevocation(d, d.revokedAt ?? at)),
        ...gw.store.data.externalPeers.filter((p) => p.networkId === network.id).map((p) => peerRemoval(p, at))
      ]
      const removed = await revokeThen(gw.pki.revocations, revoked, () =>
        gw.store.update((doc) => {
          const counts = {
            devices: doc.devices.filter((d) => d.networkId === network.id).length,
            federations: doc.federations.filter((f) => f.ends.some((e) => e.networkId === network.id)).length,
            externalPeers: doc.externalPeers.filter((p) => p.networkId === network.id).length,
            dataPackages: doc.dataPackages.filter((p) => p.networkId === network.id).length
          }
          doc.networks = doc.networks.filter((n) => n.id !== network.id)
          doc.devices = doc.devices.filter((d) => d.networkId !== network.id)
          doc.federations = doc.federations.filter((f) => !f.ends.some((e) => e.networkId === network.id))
          doc.federationCodes = doc.federationCodes.filter((c) => c.networkId !== network.id)
          doc.deviceEnrollments = doc.deviceEnrollments.filter((e) => e.networkId !== network.id)
          doc.externalPeers = doc.externalPeers.filter((p) => p.networkId !== network.id)
          doc.dataPackages = doc.dataPackages.filter((p) => p.networkId !== network.id)
          for (const team of doc.teams) team.grants = team.grants.filter((g) => g.networkId !== network.id)
          return counts
        })
      )
      audit('deleteNetwork', `network ${network.name}`, removed, network.organizationId)
      gw.internal.emit('networkDeleted', network.id)
      gw.internal.emit('federationsChanged')
      gw.events.emit({ type: 'changed', area: 'networks', networkId: network.id })
      return null
    }
  }
})
