// Contract methods for our federation certificate (issue 16 §2): what it is and when it ends, preparing the next one
// (published before it is used) and switching to it. Deployment admins only: every network's federation shares it.

import type { FederationCertificateDto } from '../../api/contract.ts'
import { conflict, unavailable } from '../../api/errors.ts'
import { AUTO_SWITCH_BEFORE_MS, isoEnd } from '../../pki/federation-rotation.ts'
import { defineMethods, type Services } from '../../services.ts'
import { takFederationArea } from './index.ts'

function certificateDto(gw: Services): FederationCertificateDto {
  const { federation } = gw.pki
  const { federationNext, federationPrevious } = gw.pki.rotation
  const facts = (identity: { fingerprint: string; certPem: string } | null): FederationCertificateDto['current'] =>
    identity ? { fingerprint: identity.fingerprint, notAfter: isoEnd(identity.certPem) } : null
  return {
    current: facts(federation),
    next: facts(federationNext),
    previous: federationPrevious,
    autoSwitchAt: federation ? new Date(Date.parse(isoEnd(federation.certPem)) - AUTO_SWITCH_BEFORE_MS).toISOString() : null
  }
}

function requireCurrent(gw: Services): void {
  if (!gw.pki.federation)
    throw unavailable(
      "Federation has no certificate yet: set Federation:AdvertisedHostname and Federation:OurFederateId in the gateway's appsettings.json and restart Fedgate."
    )
}

export const federationCertificateMethods = defineMethods({
  getFederationCertificate: {
    auth: 'deploymentAdmin',
    run: ({ gw }) => certificateDto(gw)
  },

  prepareNextFederationCertificate: {
    auth: 'deploymentAdmin',
    async run({ gw, audit }) {
      requireCurrent(gw)
      const had = gw.pki.rotation.federationNext
      const next = await gw.pki.rotation.prepareNextFederationIdentity()
      if (!had) {
        audit('prepareNextFederationCertificate', 'federation certificate', { nextFingerprint: next.fingerprint }, null)
        gw.events.emit({ type: 'changed', area: 'peers' })
      }
      return certificateDto(gw)
    }
  },

  switchFederationCertificate: {
    auth: 'deploymentAdmin',
    run({ gw, audit }) {
      requireCurrent(gw)
      const switched = gw.pki.rotation.switchFederationIdentity()
      if (!switched)
        throw conflict('There is no next certificate to switch to: prepare one first, and give its fingerprint to the partners.')
      takFederationArea(gw)?.useCurrentIdentity()
      audit('switchFederationCertificate', 'federation certificate', { from: switched.from, to: switched.to }, null)
      gw.events.emit({ type: 'changed', area: 'peers' })
      return certificateDto(gw)
    }
  }
})
