// Contract methods for external TAK Servers (docs/ARCHITECTURE.md §4, §5): our connection info and downloads for the remote
// admin, and peers registered per network by the SHA-256 fingerprint of their federation certificate.

import { X509Certificate } from 'node:crypto'
import type { ArtifactKind, ConnectionInfo, DownloadDto, ExternalPeerDto, PeerStatusDto, Toggles } from '../../api/contract.ts'
import { defineMethods } from '../../services.ts'
import { invalid, notFound, planLimit, unavailable } from '../../api/errors.ts'
import { randomId } from '../../accounts/accounts.ts'
import { requireNetwork, requireVisibleNetwork } from '../../accounts/networks.ts'
import { missingSettings } from '../../config/settings.ts'
import { peerRemoval, revokeThen } from '../../pki/revocations.ts'
import type { Services } from '../../services.ts'
import type { ExternalPeerRecord, NetworkRecord } from '../../store/schema.ts'
import { RELAY_DEFAULTS } from '../../store/schema.ts'
import { DEFAULT_TAK_GROUPS, federateSnippet, outgoingSnippet, TAK_SIDE_REQUIREMENTS, type TakGroupNames } from './coreconfig.ts'
import { takFederationArea } from './index.ts'
import { downSince } from './status.ts'
import { offlineDiagnosis } from './diagnosis.ts'
import { fingerprintTaken } from './fingerprint-owner.ts'
import { normalFilter } from '../../routing/traffic-filter.ts'

/** New peers exchange CoT both ways; packages only when an operator turns them on. */
const DEFAULT_TOGGLES: Toggles = { incoming: true, outgoing: true, acceptPackages: false, sharePackages: false }

/** A peer while TAK federation is off: down, with what was saved of its last contact. */
function offline(peer: ExternalPeerRecord): PeerStatusDto {
  const saved = peer.lastContact
  return {
    peerId: peer.id,
    connected: false,
    since: saved ? downSince(saved) : null,
    inPerSecond: 0,
    outPerSecond: 0,
    lastHeard: saved?.lastHeard ?? null,
    lastError: saved?.lastError ?? null,
    inFiltered: 0,
    outFiltered: 0,
    history: { in: [], out: [] }
  }
}

function externalPeerDto(gw: Services, peer: ExternalPeerRecord): ExternalPeerDto {
  const area = takFederationArea(gw)
  const status = area?.status(peer.id) ?? offline(peer)
  return {
    id: peer.id,
    networkId: peer.networkId,
    fingerprint: peer.fingerprint,
    nextFingerprint: peer.nextFingerprint ?? null,
    displayName: peer.displayName,
    incoming: peer.incoming,
    outgoing: peer.outgoing,
    acceptPackages: peer.acceptPackages,
    sharePackages: peer.sharePackages,
    relay: peer.relay,
    maxHops: peer.maxHops,
    inFilter: peer.inFilter ?? null,
    outFilter: peer.outFilter ?? null,
    dial: peer.dial ? { address: peer.dial.address, port: peer.dial.port, ...(peer.dial.caPem ? { caPem: peer.dial.caPem } : {}) } : null,
    takGroups: { inbound: [...peer.takGroups.inbound], outbound: [...peer.takGroups.outbound] },
    createdAt: peer.createdAt,
    status,
    diagnosis: area ? area.diagnosis(peer) : offlineDiagnosis(peer, status, gw.pki.federation?.fingerprint ?? ''),
    clockSkewSeconds: area?.clockSkewSeconds(peer.id) ?? null
  }
}

function requirePeer(gw: Services, id: string): ExternalPeerRecord {
  const peer = gw.store.data.externalPeers.find((p) => p.id === id)
  if (!peer) throw notFound('That TAK Server peer does not exist (it may have been removed).')
  return peer
}

const networkOfPeer = (gw: Services, id: string): string[] => {
  const peer = gw.store.data.externalPeers.find((p) => p.id === id)
  return peer ? [peer.networkId] : []
}

function checkCaPem(caPem: string | undefined): string | undefined {
  if (caPem === undefined) return undefined
  try {
    new X509Certificate(caPem)
  } catch {
    throw invalid("The remote TAK Server's CA must be a PEM certificate (-----BEGIN CERTIFICATE-----).")
  }
  return caPem.trim() + '\n'
}

/** The operator's lists in their order, each name once (TAK would list a repeated group twice in its UI). */
function takGroupsOf(groups: TakGroupNames | undefined): TakGroupNames {
  if (!groups) return { inbound: [...DEFAULT_TAK_GROUPS.inbound], outbound: [...DEFAULT_TAK_GROUPS.outbound] }
  return { inbound: [...new Set(groups.inbound)], outbound: [...new Set(groups.outbound)] }
}

function afterChange(gw: Services, peer: ExternalPeerRecord): void {
  gw.internal.emit('peersChanged', peer.id)
  gw.events.emit({ type: 'changed', area: 'peers', networkId: peer.networkId })
}

function organizationOf(gw: Services, network: NetworkRecord): { name: string; plan: string; tokenLimit: number } {
  const org = gw.store.data.organizations.find((o) => o.id === network.organizationId)
  if (!org) throw notFound('The organization of this network does not exist.')
  return org
}

function requireFederationReady(gw: Services): { hostname: string; federateId: string; fingerprint: string; certPem: string } {
  const missing = missingSettings(gw.settings)
  const identity = gw.pki.federation
  if (missing.length > 0 || !identity) {
    const keys = missing.length > 0 ? missing.join(' and ') : 'Federation:AdvertisedHostname and Federation:OurFederateId'
    throw unavailable(`Set ${keys} in the gateway's appsettings.json and restart Fedgate first.`)
  }
  return {
    hostname: gw.settings.Federation.AdvertisedHostname,
    federateId: gw.settings.Federation.OurFederateId,
    fingerprint: identity.fingerprint,
    certPem: identity.certPem
  }
}

function download(filename: string, mimeType: string, content: string): DownloadDto {
  return { filename, mimeType, contentBase64: Buffer.from(content, 'utf8').toString('base64') }
}

/** A file-name-safe form of our federate id. */
function fileStem(federateId: string): string {
  return federateId.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'fedgate'
}

export const takFederationMethods = defineMethods({
  getConnectionInfo: {
    auth: 'user',
    run({ gw, user }): ConnectionInfo {
      return {
        hostname: gw.settings.Federation.AdvertisedHostname || null,
        port: takFederationArea(gw)?.port || gw.ports.federation || gw.settings.Federation.Port,
        fingerprint: gw.pki.federation?.fingerprint ?? null,
        nextFingerprint: gw.pki.federation ? (gw.pki.rotation.federationNext?.fingerprint ?? null) : null,
        ourFederateId: gw.settings.Federation.OurFederateId || null,
        missingSettings: missingSettings(gw.settings),
        // Where the deployment keeps its files is for those who run it (as getDeploymentSettings).
        settingsPath: user.deploymentAdmin ? gw.settingsPath : null,
        takSideRequirements: [...TAK_SIDE_REQUIREMENTS]
      }
    }
  },

  downloadArtifact: {
    auth: 'user',
    run({ gw, args, user }): DownloadDto {
      const ready = requireFederationReady(gw)
      const stem = fileStem(ready.federateId)
      const port = takFederationArea(gw)?.port || gw.ports.federation || gw.settings.Federation.Port
      const kind: ArtifactKind = args.kind
      switch (kind) {
        case 'federation-cert':
          return download(`${stem}-federation.pem`, 'application/x-pem-file', ready.certPem.trim() + '\n')
        case 'federation-cert-next': {
          const next = gw.pki.rotation.federationNext
          if (!next) throw notFound('No next federation certificate is prepared (Federation certificate: Prepare next certificate).')
          return download(`${stem}-federation-next.pem`, 'application/x-pem-file', next.certPem.trim() + '\n')
        }
        case 'ca-cert':
          return download(`${stem}-ca.pem`, 'application/x-pem-file', gw.pki.caCertPem.trim() + '\n')
        case 'coreconfig-outgoing':
          return download(
            `${stem}-federation-outgoing.xml`,
            'application/xml',
            outgoingSnippet({ displayName: ready.federateId, hostname: ready.hostname, port })
          )
        case 'coreconfig-federate': {
          // A peer's snippet names the groups its operator chose; only those who may see its network may read them.
          const peer = args.peerId === undefined ? null : requirePeer(gw, args.peerId)
          if (peer) requireVisibleNetwork(gw, user, peer.networkId)
          const snippet = federateSnippet({
            fingerprint: ready.fingerprint,
            caFingerprint: gw.pki.caFingerprint,
            name: ready.federateId,
            ...(peer ? { groups: peer.takGroups } : {})
          })
          return download(peer ? `${stem}-federate-${fileStem(peer.displayName)}.xml` : `${stem}-federate.xml`, 'application/xml', snippet)
        }
      }
    }
  },

  listExternalPeers: {
    auth: 'user',
    run({ gw, args, user }) {
      requireVisibleNetwork(gw, user, args.networkId)
      return gw.store.data.externalPeers.filter((p) => p.networkId === args.networkId).map((p) => externalPeerDto(gw, p))
    }
  },

  addExternalPeer: {
    auth: { anyOf: ['federateAcrossOrganizations'], networks: (a) => [a.networkId] },
    async run({ gw, args, audit }) {
      const network = requireNetwork(gw, args.networkId)
      const org = organizationOf(gw, network)
      if (org.plan === 'free')
        throw planLimit(`The Free plan does not federate. A deployment administrator can upgrade '${org.name}' to add TAK Server peers.`)
      const caPem = checkCaPem(args.dial?.caPem)
      const peer: ExternalPeerRecord = {
        id: randomId('peer'),
        networkId: network.id,
        fingerprint: args.fingerprint,
        nextFingerprint: args.nextFingerprint ?? null,
        displayName: args.displayName,
        incoming: args.incoming ?? DEFAULT_TOGGLES.incoming,
        outgoing: args.outgoing ?? DEFAULT_TOGGLES.outgoing,
        acceptPackages: args.acceptPackages ?? DEFAULT_TOGGLES.acceptPackages,
        sharePackages: args.sharePackages ?? DEFAULT_TOGGLES.sharePackages,
        ...RELAY_DEFAULTS,
        inFilter: normalFilter(args.inFilter ?? null),
        outFilter: normalFilter(args.outFilter ?? null),
        dial: args.dial ? { address: args.dial.address, port: args.dial.port, ...(caPem ? { caPem } : {}) } : null,
        takGroups: takGroupsOf(args.takGroups),
        createdAt: new Date().toISOString()
      }
      await gw.store.update((doc) => {
        for (const fingerprint of [peer.fingerprint, peer.nextFingerprint]) {
          const taken = fingerprint ? fingerprintTaken(doc, network, fingerprint, peer.displayName, audit) : null
          if (taken) throw taken
        }
        const orgNetworks = new Set(doc.networks.filter((n) => n.organizationId === network.organizationId).map((n) => n.id))
        const used = doc.externalPeers.filter((p) => orgNetworks.has(p.networkId)).length
        if (used >= org.tokenLimit) {
          throw planLimit(
            `'${org.name}' uses all ${org.tokenLimit} of its tokens; each TAK Server peer takes one. Remove a peer or ask a deployment administrator for more tokens.`
          )
        }
        doc.externalPeers.push(peer)
      })
      audit(
        'addExternalPeer',
        `peer ${peer.displayName} on network ${network.name}`,
        {
          peerId: peer.id,
          fingerprint: peer.fingerprint,
          nextFingerprint: peer.nextFingerprint,
          dial: peer.dial ? `${peer.dial.address}:${peer.dial.port}` : null,
          takGroups: peer.takGroups,
          ...togglesOf(peer),
          inFilter: peer.inFilter,
          outFilter: peer.outFilter
        },
        network.organizationId
      )
      afterChange(gw, peer)
      return externalPeerDto(gw, peer)
    }
  },

  updateExternalPeer: {
    auth: { anyOf: ['changeFederation'], networks: (a, gw) => networkOfPeer(gw, a.id) },
    async run({ gw, args, audit }) {
      const before = requirePeer(gw, args.id)
      const network = requireNetwork(gw, before.networkId)
      const caPem = args.dial ? checkCaPem(args.dial.caPem) : undefined
      let after: ExternalPeerRecord | null = null
      await gw.store.update((doc) => {
        const peer = doc.externalPeers.find((p) => p.id === args.id)
        if (!peer) throw notFound('That TAK Server peer does not exist (it may have been removed).')
        if (args.displayName !== undefined) peer.displayName = args.displayName
        if (args.nextFingerprint !== undefined && args.nextFingerprint !== peer.nextFingerprint) {
          const taken = args.nextFingerprint ? fingerprintTaken(doc, network, args.nextFingerprint, peer.displayName, audit, peer.id) : null
          if (taken) throw taken
          peer.nextFingerprint = args.nextFingerprint
        }
        for (const key of ['incoming', 'outgoing', 'acceptPackages', 'sharePackages'] as const) {
          if (args[key] !== undefined) peer[key] = args[key]
        }
        if (args.relay !== undefined) peer.relay = args.relay
        if (args.maxHops !== undefined) peer.maxHops = args.maxHops
        if (args.dial !== undefined)
          peer.dial = args.dial ? { address: args.dial.address, port: args.dial.port, ...(caPem ? { caPem } : {}) } : null
        if (args.takGroups !== undefined) peer.takGroups = takGroupsOf(args.takGroups)
        if (args.inFilter !== undefined) peer.inFilter = normalFilter(args.inFilter)
        if (args.outFilter !== undefined) peer.outFilter = normalFilter(args.outFilter)
        after = { ...peer }
      })
      const peer = after as unknown as ExternalPeerRecord
      const changes: Record<string, unknown> = {}
      for (const key of [
        'displayName',
        'nextFingerprint',
        'incoming',
        'outgoing',
        'acceptPackages',
        'sharePackages',
        'relay',
        'maxHops'
      ] as const) {
        if ((before[key] ?? null) !== (peer[key] ?? null)) changes[key] = { from: before[key], to: peer[key] }
      }
      // Relay turned on without a new limit: the log still says which limit applies.
      if (changes.relay && !changes.maxHops) changes.maxHopsNow = peer.maxHops
      if (JSON.stringify(before.dial) !== JSON.stringify(peer.dial))
        changes.dial = peer.dial ? `${peer.dial.address}:${peer.dial.port}` : null
      for (const key of ['inFilter', 'outFilter'] as const)
        if (JSON.stringify(before[key] ?? null) !== JSON.stringify(peer[key] ?? null))
          changes[key] = { from: before[key] ?? null, to: peer[key] ?? null }
      if (JSON.stringify(before.takGroups) !== JSON.stringify(peer.takGroups))
        changes.takGroups = { from: before.takGroups, to: peer.takGroups }
      audit(
        'updateExternalPeer',
        `peer ${peer.displayName} on network ${network.name}`,
        { peerId: peer.id, ...changes },
        network.organizationId
      )
      afterChange(gw, peer)
      return externalPeerDto(gw, peer)
    }
  },

  removeExternalPeer: {
    auth: { anyOf: ['stopFederating', 'federateAcrossOrganizations'], networks: (a, gw) => networkOfPeer(gw, a.id) },
    async run({ gw, args, audit }) {
      const peer = requirePeer(gw, args.id)
      const network = requireNetwork(gw, peer.networkId)
      await revokeThen(gw.pki.revocations, [peerRemoval(peer, new Date().toISOString())], () =>
        gw.store.update((doc) => {
          doc.externalPeers = doc.externalPeers.filter((p) => p.id !== peer.id)
        })
      )
      audit(
        'removeExternalPeer',
        `peer ${peer.displayName} on network ${network.name}`,
        { peerId: peer.id, fingerprint: peer.fingerprint },
        network.organizationId
      )
      // The live connection goes down now (peersChanged → the federation ends it with an error status).
      afterChange(gw, peer)
      return null
    }
  },

  listRejectedPeers: {
    auth: 'user',
    run({ gw, user }) {
      // Nobody is told that the list exists but is hidden from them: the Add peer flow is theirs only with the permission.
      if (!gw.accounts.mayReviewRejectedPeers(user)) return []
      return takFederationArea(gw)?.rejected() ?? []
    }
  }
})

function togglesOf(peer: ExternalPeerRecord): Toggles {
  return { incoming: peer.incoming, outgoing: peer.outgoing, acceptPackages: peer.acceptPackages, sharePackages: peer.sharePackages }
}
