// Contract methods for local federations: within an organization (immediately) and across organizations
// (single-use 8-character codes), each end's four toggles, and stopping.

import type { FederationCodeDto, Toggles } from '../api/contract.ts'
import { defineMethods } from '../services.ts'
import { ApiError, conflict, invalid, notFound, planLimit, rateLimited } from '../api/errors.ts'
import { randomId } from '../accounts/accounts.ts'
import { requireNetwork, requireVisibleNetwork } from '../accounts/networks.ts'
import type { Services } from '../services.ts'
import type { FederationCodeRecord, FederationEndRecord, FederationRecord, NetworkRecord } from '../store/schema.ts'
import { RELAY_DEFAULTS } from '../store/schema.ts'
import { formatCode, generateCode, normalizeCode } from '../access/codes.ts'
import { CodeGuesses, tooManyGuesses } from '../access/code-guesses.ts'
import { federationDto, findFederationBetween } from './local.ts'
import { normalFilter } from '../routing/traffic-filter.ts'

function requireFederation(gw: Services, id: string): FederationRecord {
  const f = gw.store.data.federations.find((x) => x.id === id)
  if (!f) throw notFound('That federation does not exist (it may have been stopped by the other side).')
  return f
}

/** The network must be one end of the federation: each side edits only its own end. */
function requireEnd(gw: Services, federationId: string, networkId: string): FederationRecord {
  const f = requireFederation(gw, federationId)
  if (!f.ends.some((e) => e.networkId === networkId)) throw invalid('That network is not an end of this federation.')
  return f
}

function requireFederatingPlan(gw: Services, network: NetworkRecord, whose: 'your' | 'their' = 'your'): void {
  const org = gw.store.data.organizations.find((o) => o.id === network.organizationId)
  if (org?.plan === 'free') {
    throw planLimit(
      whose === 'your'
        ? `The Free plan does not federate. A deployment administrator can upgrade '${org.name}' to federate.`
        : `The other organization is on the Free plan, which does not federate.`
    )
  }
}

function newEnd(networkId: string, toggles: Partial<Toggles>, defaults: Toggles): FederationEndRecord {
  return {
    networkId,
    incoming: toggles.incoming ?? defaults.incoming,
    outgoing: toggles.outgoing ?? defaults.outgoing,
    acceptPackages: toggles.acceptPackages ?? defaults.acceptPackages,
    sharePackages: toggles.sharePackages ?? defaults.sharePackages,
    ...RELAY_DEFAULTS,
    inFilter: null,
    outFilter: null
  }
}

const COT_ONLY: Toggles = { incoming: true, outgoing: true, acceptPackages: false, sharePackages: false }

function codeDto(record: FederationCodeRecord, code: string | null): FederationCodeDto {
  return {
    networkId: record.networkId,
    code: code === null ? null : formatCode(code),
    createdAt: record.createdAt,
    expiresAt: record.expiresAt
  }
}

function afterChange(gw: Services, networkIds: string[]): void {
  gw.internal.emit('federationsChanged')
  for (const networkId of networkIds) gw.events.emit({ type: 'changed', area: 'federations', networkId })
}

/** One counter per running gateway, without a slot in Services: only redeemFederationCode uses it. */
const perGateway = new WeakMap<Services, CodeGuesses>()

function codeGuessesOf(gw: Services): CodeGuesses {
  let guesses = perGateway.get(gw)
  if (!guesses) perGateway.set(gw, (guesses = new CodeGuesses()))
  return guesses
}

export const localFederationMethods = defineMethods({
  listFederations: {
    auth: 'user',
    run({ gw, args, user }) {
      requireVisibleNetwork(gw, user, args.networkId)
      return gw.store.data.federations
        .filter((f) => f.ends.some((e) => e.networkId === args.networkId))
        .map((f) => federationDto(gw, f, args.networkId, gw.router))
    }
  },

  federateWithinOrganization: {
    auth: { anyOf: ['federateWithinOrganization'], networks: (a) => [a.networkId, a.otherNetworkId] },
    async run({ gw, args, audit }) {
      const a = requireNetwork(gw, args.networkId)
      const b = requireNetwork(gw, args.otherNetworkId)
      if (a.id === b.id) throw invalid('A network cannot federate with itself.')
      if (a.organizationId !== b.organizationId)
        throw invalid(`'${b.name}' belongs to another organization; federate with it using a code.`)
      requireFederatingPlan(gw, a)
      const federation: FederationRecord = {
        id: randomId('fed'),
        kind: 'withinOrganization',
        createdAt: new Date().toISOString(),
        ends: [newEnd(a.id, {}, COT_ONLY), newEnd(b.id, {}, COT_ONLY)]
      }
      await gw.store.update((doc) => {
        if (findFederationBetween(doc, a.id, b.id)) throw conflict(`Network '${a.name}' already federates with '${b.name}'.`)
        doc.federations.push(federation)
      })
      audit('federateWithinOrganization', `networks ${a.name} and ${b.name}`, { federationId: federation.id }, a.organizationId)
      afterChange(gw, [a.id, b.id])
      return federationDto(gw, federation, a.id, gw.router)
    }
  },

  generateFederationCode: {
    auth: { anyOf: ['federateAcrossOrganizations'], networks: (a) => [a.networkId] },
    async run({ gw, args, user, audit }) {
      const network = requireNetwork(gw, args.networkId)
      requireFederatingPlan(gw, network)
      const code = generateCode()
      const now = new Date()
      const record: FederationCodeRecord = {
        id: randomId('code'),
        networkId: network.id,
        codeHash: gw.codeHasher.hash(code),
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + gw.settings.Federation.CodeLifetimeSeconds * 1000).toISOString(),
        createdBy: user.id,
        status: 'active',
        closedAt: null
      }
      await gw.store.update((doc) => {
        pruneExpiredCodes(doc.federationCodes, now)
        for (const c of doc.federationCodes) {
          if (c.networkId === network.id && c.status === 'active') Object.assign(c, { status: 'replaced', closedAt: now.toISOString() })
        }
        doc.federationCodes.push(record)
      })
      audit('generateFederationCode', `network ${network.name}`, { expiresAt: record.expiresAt }, network.organizationId)
      gw.events.emit({ type: 'changed', area: 'federations', networkId: network.id })
      return codeDto(record, code)
    }
  },

  getFederationCode: {
    auth: 'user',
    run({ gw, args, user }) {
      requireVisibleNetwork(gw, user, args.networkId)
      const now = Date.now()
      const active = gw.store.data.federationCodes.find(
        (c) => c.networkId === args.networkId && c.status === 'active' && Date.parse(c.expiresAt) > now
      )
      return active ? codeDto(active, null) : null
    }
  },

  clearFederationCode: {
    auth: { anyOf: ['federateAcrossOrganizations'], networks: (a) => [a.networkId] },
    async run({ gw, args, audit }) {
      const network = requireNetwork(gw, args.networkId)
      const cleared = await gw.store.update((doc) => {
        let n = 0
        const now = new Date().toISOString()
        for (const c of doc.federationCodes) {
          if (c.networkId === network.id && c.status === 'active') {
            Object.assign(c, { status: 'cleared', closedAt: now })
            n++
          }
        }
        return n
      })
      if (cleared > 0) {
        audit('clearFederationCode', `network ${network.name}`, {}, network.organizationId)
        gw.events.emit({ type: 'changed', area: 'federations', networkId: network.id })
      }
      return null
    }
  },

  redeemFederationCode: {
    auth: { anyOf: ['federateAcrossOrganizations'], networks: (a) => [a.networkId] },
    async run({ gw, args, user, caller, audit }) {
      const ours = requireNetwork(gw, args.networkId)
      const guesses = codeGuessesOf(gw)
      const guesser = { userId: user.id, networkId: ours.id, organizationId: ours.organizationId, address: caller.address }
      const wait = guesses.retryIn(guesser)
      if (wait.ms > 0) throw rateLimited(tooManyGuesses(wait.scope, wait.ms))
      requireFederatingPlan(gw, ours)
      const code = normalizeCode(args.code)
      if (!code) {
        guesses.recordFailure(guesser)
        throw invalid('A federation code has 8 letters and digits (no 0, 1, I, L or O). Check what the other organization read out.')
      }
      const hash = gw.codeHasher.hash(code)
      const record = gw.store.data.federationCodes.find((c) => c.codeHash === hash)
      if (!record) {
        guesses.recordFailure(guesser)
        throw notFound('No network has that code. Check it with the other organization; codes are single-use.')
      }
      if (record.status === 'redeemed')
        throw new ApiError('conflict', 'That code has already been used. Ask the other organization for a new one.')
      if (record.status === 'cleared') throw invalid('That code was cleared by the other organization. Ask them for a new one.')
      if (record.status === 'replaced')
        throw invalid('That code was replaced by a newer one. Ask the other organization for the current code.')
      if (Date.parse(record.expiresAt) <= Date.now()) throw invalid('The code has expired; ask the other organization for a new one.')
      const theirs = gw.store.data.networks.find((n) => n.id === record.networkId)
      if (!theirs) throw notFound('The network that issued this code no longer exists.')
      if (theirs.id === ours.id) throw invalid('That code belongs to this network; give it to the other organization instead.')
      if (theirs.organizationId === ours.organizationId) {
        throw invalid(`That code belongs to '${theirs.name}' in your own organization; use Federate within organization instead.`)
      }
      requireFederatingPlan(gw, theirs, 'their')
      guesses.clearUser(user.id)
      const federation: FederationRecord = {
        id: randomId('fed'),
        kind: 'acrossOrganizations',
        createdAt: new Date().toISOString(),
        // The issuing end starts with In and Out on and packages off; the redeemer's end is what they chose.
        ends: [newEnd(theirs.id, {}, COT_ONLY), newEnd(ours.id, args, COT_ONLY)]
      }
      await gw.store.update((doc) => {
        const live = doc.federationCodes.find((c) => c.id === record.id)
        if (!live || live.status !== 'active')
          throw conflict('That code has just been used or cleared. Ask the other organization for a new one.')
        if (findFederationBetween(doc, ours.id, theirs.id))
          throw conflict(`Network '${ours.name}' already federates with '${theirs.name}'.`)
        Object.assign(live, { status: 'redeemed', closedAt: new Date().toISOString() })
        doc.federations.push(federation)
      })
      const details = { federationId: federation.id, with: theirs.name, toggles: federation.ends[1] }
      audit('redeemFederationCode', `network ${ours.name}`, details, ours.organizationId)
      audit('federationAccepted', `network ${theirs.name}`, { federationId: federation.id, with: ours.name }, theirs.organizationId)
      afterChange(gw, [ours.id, theirs.id])
      return federationDto(gw, federation, ours.id, gw.router)
    }
  },

  updateFederationEnd: {
    auth: { anyOf: ['changeFederation'], networks: (a) => [a.networkId] },
    async run({ gw, args, audit }) {
      requireEnd(gw, args.federationId, args.networkId)
      const network = requireNetwork(gw, args.networkId)
      const updated = await gw.store.update((doc) => {
        const f = doc.federations.find((x) => x.id === args.federationId)
        if (!f) throw notFound('That federation does not exist (it may have been stopped by the other side).')
        const end = f.ends.find((e) => e.networkId === args.networkId)!
        for (const key of ['incoming', 'outgoing', 'acceptPackages', 'sharePackages'] as const) {
          if (args[key] !== undefined) end[key] = args[key]
        }
        if (args.relay !== undefined) end.relay = args.relay
        if (args.maxHops !== undefined) end.maxHops = args.maxHops
        if (args.inFilter !== undefined) end.inFilter = normalFilter(args.inFilter)
        if (args.outFilter !== undefined) end.outFilter = normalFilter(args.outFilter)
        return structuredClone(f)
      })
      const end = updated.ends.find((e) => e.networkId === args.networkId)!
      const { networkId: _ignored, ...toggles } = end
      // `changed`: the switches this call set, so the log can say "turned DP-In on" rather than list all four.
      const changed = (
        ['incoming', 'outgoing', 'acceptPackages', 'sharePackages', 'relay', 'maxHops', 'inFilter', 'outFilter'] as const
      ).filter((k) => args[k] !== undefined)
      audit('updateFederationEnd', `network ${network.name}`, { federationId: updated.id, ...toggles, changed }, network.organizationId)
      afterChange(
        gw,
        updated.ends.map((e) => e.networkId)
      )
      return federationDto(gw, updated, args.networkId, gw.router)
    }
  },

  stopFederating: {
    auth: { anyOf: ['stopFederating'], networks: (a) => [a.networkId] },
    async run({ gw, args, audit }) {
      const f = requireEnd(gw, args.federationId, args.networkId)
      const names = f.ends.map((e) => gw.store.data.networks.find((n) => n.id === e.networkId)?.name ?? e.networkId)
      const network = requireNetwork(gw, args.networkId)
      await gw.store.update((doc) => {
        doc.federations = doc.federations.filter((x) => x.id !== f.id)
      })
      audit('stopFederating', `networks ${names.join(' and ')}`, { federationId: f.id }, network.organizationId)
      afterChange(
        gw,
        f.ends.map((e) => e.networkId)
      )
      return null
    }
  }
})

/**
 * How long a code's record outlives its expiry, so that a code read out yesterday still gets "expired" (not "no network
 * has that code", which also counts as a wrong guess) after someone somewhere generated a new one.
 */
const EXPIRED_CODE_KEPT_MS = 7 * 86_400_000

/** Closed or expired codes are kept a week past their expiry: enough for precise errors, no growth. */
function pruneExpiredCodes(codes: FederationCodeRecord[], now: Date): void {
  for (let i = codes.length - 1; i >= 0; i--)
    if (Date.parse(codes[i]!.expiresAt) + EXPIRED_CODE_KEPT_MS <= now.getTime()) codes.splice(i, 1)
}
