// The deployment-wide views: its settings and ports, the audit log, and the gateway's health figures.

import { forbidden, notFound } from '../api/errors.ts'
import { requireVisibleNetwork } from '../accounts/networks.ts'
import { exportAudit } from '../audit/export.ts'
import { missingSettings } from '../config/settings.ts'
import { deviceAddresses } from '../devices/addresses.ts'
import { federationLinkKey, healthForUser, peerLinkKey } from '../events.ts'
import { refreshServerIdentity } from '../pki/server-identity.ts'
import { defineMethods, type Services } from '../services.ts'
import type { UserRecord } from '../store/schema.ts'

export const deploymentMethods = defineMethods({
  getDeploymentSettings: {
    auth: 'user',
    async run({ gw, user }) {
      // A network joined since the last check is put in the server certificate now, so it is offered to devices.
      await refreshServerIdentity(gw).catch((err: unknown) =>
        gw.log.warn(`could not renew the server certificate: ${(err as Error).message}`)
      )
      // Where the deployment keeps its keys and database is for those who run it.
      const admin = user.deploymentAdmin
      return {
        dataDir: admin ? gw.dataDir : null,
        settingsPath: admin ? gw.settingsPath : null,
        settings: structuredClone(gw.settings) as unknown as Record<string, unknown>,
        missingSettings: missingSettings(gw.settings),
        ports: { ...gw.ports },
        deviceAddresses: deviceAddresses(gw.settings.Federation.AdvertisedHostname, gw.pki.server.certPem)
      }
    }
  },

  listAuditLog: {
    auth: 'user',
    async run({ gw, args, user }) {
      const { cursor, limit, ...filter } = args ?? {}
      return gw.audit.page({ ...auditScope(gw, user, filter), limit: limit ?? 100, cursor })
    }
  },

  exportAuditLog: {
    auth: 'user',
    async run({ gw, args, user }) {
      const { format, ...filter } = args
      return exportAudit(gw.audit, auditScope(gw, user, filter), format)
    }
  },

  getHealth: {
    auth: 'user',
    run({ gw, user }) {
      return healthForUser(gw.health(), gw, user)
    }
  },

  getHealthHistory: {
    auth: 'user',
    run({ gw, user }) {
      return gw.history.healthHistory((networkId) => gw.accounts.canSeeNetwork(user, networkId))
    }
  },

  getLinkHistory: {
    auth: 'user',
    run({ gw, args, user }) {
      if ('peerId' in args) {
        const peer = gw.store.data.externalPeers.find((p) => p.id === args.peerId)
        if (!peer) throw notFound('That TAK Server peer does not exist (it may have been removed).')
        requireVisibleNetwork(gw, user, peer.networkId)
        return gw.history.linkHistory(peerLinkKey(peer.id))
      }
      const federation = gw.store.data.federations.find((f) => f.id === args.federationId)
      if (!federation?.ends.some((e) => e.networkId === args.networkId)) {
        throw notFound('That federation does not exist, or that network is not one of its ends.')
      }
      requireVisibleNetwork(gw, user, args.networkId)
      return gw.history.linkHistory(federationLinkKey(federation.id, args.networkId))
    }
  }
})

/** A deployment admin reads everything; anyone else one organization they belong to (the house rule, kept). */
function auditScope<F extends { organizationId?: string }>(gw: Services, user: UserRecord, filter: F): F {
  if (filter.organizationId === undefined) {
    if (!user.deploymentAdmin) throw forbidden('Only a deployment administrator can read the whole audit log; pick an organization.')
    return filter
  }
  if (!gw.accounts.isOrganizationMember(user, filter.organizationId)) throw forbidden('You are not a member of that organization.')
  return filter
}

export function baseHealth(gw: Services): ReturnType<Services['health']> {
  const mem = process.memoryUsage()
  return {
    uptimeSeconds: Math.round((Date.now() - gw.startedAt) / 1000),
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    connections: { devices: 0, peers: 0 },
    eventsInPerSecond: 0,
    eventsOutPerSecond: 0,
    dropsByReason: {},
    queueDepths: [],
    staleOnArrival: 0,
    laptopClockOffsetSeconds: null
  }
}
