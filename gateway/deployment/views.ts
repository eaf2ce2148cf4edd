// The deployment-wide views: its settings and ports, the audit log, and the gateway's health figures.

import { forbidden } from '../api/errors.ts'
import { missingSettings } from '../config/settings.ts'
import { deviceAddresses } from '../devices/addresses.ts'
import { healthForUser } from '../events.ts'
import { refreshServerIdentity } from '../pki/server-identity.ts'
import { defineMethods, type Services } from '../services.ts'

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
    run({ gw, args, user }) {
      const orgId = args?.organizationId
      if (orgId === undefined) {
        if (!user.deploymentAdmin) throw forbidden('Only a deployment administrator can read the whole audit log; pick an organization.')
        return gw.audit.list({ limit: args?.limit })
      }
      if (!gw.accounts.isOrganizationMember(user, orgId)) throw forbidden('You are not a member of that organization.')
      return gw.audit.list({ organizationId: orgId, limit: args?.limit })
    }
  },

  getHealth: {
    auth: 'user',
    run({ gw, user }) {
      return healthForUser(gw.health(), gw, user)
    }
  }
})

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
