// Every audited action as a sentence an operator reads ("Ops Admin turned DP-In on for Alpha North ↔ Bravo Main"),
// built from the names the entry kept when it was written, so a later rename or delete does not turn it into ids.

import type { AuditKind } from '../api/audit-words.ts'
import { PERMISSION_LABELS, type Permission } from '../api/vocabulary.ts'
import type { AuditRecord } from './record.ts'

interface Said {
  kind: AuditKind
  say(e: Reader): string
}

/** What a sentence may ask of an entry: its fields with the names stored beside the ids. */
class Reader {
  constructor(readonly record: AuditRecord) {}
  get who(): string {
    if (this.record.actor === 'system') return 'The gateway'
    return this.record.actorName ?? this.record.actor
  }
  get d(): Record<string, unknown> {
    return this.record.details
  }
  /** The name an id had when the entry was written; older entries without names say `otherwise`. */
  name(id: unknown, otherwise: string): string {
    return (typeof id === 'string' && this.record.names?.[id]) || otherwise
  }
  /** The target without its leading word ("device VIPER-1" → "VIPER-1"). */
  targetAfter(word: string): string {
    const t = this.record.target
    return t.startsWith(`${word} `) ? t.slice(word.length + 1) : t
  }
  network(): string {
    return this.name(this.d.networkId, 'a network')
  }
  /** A federation as "Ours ↔ Theirs", the network the entry is about first. */
  federation(): string {
    const label = this.name(this.d.federationId, '')
    if (!label) return 'a federation'
    const ours = this.targetAfter('network')
    const [a, b] = label.split(' ↔ ')
    return b === ours && a !== undefined ? `${b} ↔ ${a}` : label
  }
}

const TOGGLE_WORDS: Record<string, string> = { incoming: 'In', outgoing: 'Out', acceptPackages: 'DP-In', sharePackages: 'DP-Out' }
const VARIANTS: Record<string, string> = { atak: 'ATAK', itak: 'iTAK', wintak: 'WinTAK' }
const onOff = (v: unknown): string => (v ? 'on' : 'off')
const time = (iso: unknown): string => (typeof iso === 'string' ? iso.replace('T', ' ').slice(0, 16) + ' UTC' : 'later')
const str = (v: unknown, otherwise: string): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : otherwise)
const list = (items: string[]): string => (items.length === 0 ? 'nothing' : items.join(', '))

/** Relay (issue 20) in words: "turned relay on (up to 3 links)", "set the relay limit to 3 links". */
function relayWords(key: string, value: unknown, maxHops: unknown): string | null {
  if (key === 'relay') return value ? `turned relay on (up to ${str(maxHops, '?')} links)` : 'turned relay off'
  if (key === 'maxHops') return `set the relay limit to ${str(value, '?')} links`
  return null
}

const KIND_WORDS: Record<string, string> = {
  positions: 'positions',
  chat: 'chat',
  markers: 'markers and shapes',
  emergencies: 'emergencies',
  packages: 'data-package announcements',
  other: 'other traffic'
}

/** A filter by kind of traffic (issue 20) in words: "everything", or what it lets cross. */
function filterWords(filter: unknown): string {
  const f = filter as { kinds?: unknown; typePrefixes?: unknown } | null
  if (!f) return 'everything'
  const kinds = Array.isArray(f.kinds) ? (f.kinds as string[]).map((k) => KIND_WORDS[k] ?? k) : []
  const prefixes = Array.isArray(f.typePrefixes) ? (f.typePrefixes as string[]) : []
  const parts = [...kinds, ...(prefixes.length ? [`CoT types starting ${prefixes.join(', ')}`] : [])]
  return parts.length === 0 ? 'nothing' : `only ${parts.join(', ')}`
}

const FILTER_WORDS: Record<string, string> = { inFilter: 'in', outFilter: 'out' }

function toggleChanges(d: Record<string, unknown>, keys: string[]): string[] {
  const words = keys
    .filter((k) => (k in TOGGLE_WORDS || k in FILTER_WORDS) && k in d)
    .map((k) => (k in TOGGLE_WORDS ? `turned ${TOGGLE_WORDS[k]} ${onOff(d[k])}` : `let ${filterWords(d[k])} ${FILTER_WORDS[k]}`))
  // Turning relay on already names the limit; a limit set in the same call is not said twice.
  if (keys.includes('relay')) words.push(relayWords('relay', d.relay, d.maxHops)!)
  else if (keys.includes('maxHops')) words.push(relayWords('maxHops', d.maxHops, null)!)
  return words
}

function peerChanges(d: Record<string, unknown>): string[] {
  const out: string[] = []
  for (const [key, value] of Object.entries(d)) {
    const to = (value as { to?: unknown } | null)?.to
    if (key in TOGGLE_WORDS) out.push(`turned ${TOGGLE_WORDS[key]} ${onOff(to)}`)
    else if (key === 'relay' || key === 'maxHops') {
      const hops = (d.maxHops as { to?: unknown } | undefined)?.to
      if (key === 'relay') out.push(relayWords(key, to, hops ?? d.maxHopsNow)!)
      else if (!('relay' in d)) out.push(relayWords(key, to, null)!)
    } else if (key === 'displayName') out.push(`renamed it to ${str(to, '?')}`)
    else if (key === 'dial') out.push(value ? `set its address to ${str(value, '?')}` : 'stopped dialing it')
    else if (key === 'nextFingerprint') out.push(to ? `accepted its next certificate ${str(to, '?')}` : 'forgot its next certificate')
    else if (key === 'takGroups') out.push(`set the TAK groups it joins on that server to ${takGroupWords(to)}`)
    else if (key === 'inFilter') out.push(`let ${filterWords(to)} in from it`)
    else if (key === 'outFilter') out.push(`let ${filterWords(to)} out to it`)
  }
  return out
}

function takGroupWords(groups: unknown): string {
  const g = groups as { inbound?: unknown; outbound?: unknown } | null
  const names = (v: unknown): string => (Array.isArray(v) ? list(v as string[]) : '?')
  return `in: ${names(g?.inbound)}; out: ${names(g?.outbound)}`
}

function grantWords(e: Reader): string {
  const grants = Array.isArray(e.d.grants) ? (e.d.grants as { networkId?: unknown; permissions?: unknown }[]) : []
  const parts = grants.map((g) => {
    const labels = (Array.isArray(g.permissions) ? (g.permissions as string[]) : []).map((p) => PERMISSION_LABELS[p as Permission] ?? p)
    return `${e.name(g.networkId, 'a network')}: ${labels.join(', ') || 'nothing'}`
  })
  return parts.length === 0 ? 'nothing' : parts.join('; ')
}

function userRole(e: Reader): string {
  if (e.d.deploymentAdmin) return ' as a deployment administrator'
  const org = e.name(e.d.organizationId, 'an organization')
  return e.d.organizationAdmin ? ` as an administrator of ${org}` : e.d.organizationId ? ` in ${org}` : ''
}

function orgChanges(e: Reader): string {
  const parts: string[] = []
  if (typeof e.d.name === 'string') parts.push(`named it ${e.d.name}`)
  if (typeof e.d.plan === 'string') parts.push(`set its plan to ${e.d.plan}`)
  if (typeof e.d.tokenLimit === 'number') parts.push(`set its token limit to ${e.d.tokenLimit}`)
  return parts.length ? `: ${parts.join(', ')}` : ''
}

function deletedWith(d: Record<string, unknown>): string {
  const words: Record<string, string> = {
    devices: 'devices',
    federations: 'federations',
    externalPeers: 'TAK Server peers',
    dataPackages: 'data packages'
  }
  const parts = Object.entries(words)
    .filter(([k]) => typeof d[k] === 'number' && (d[k] as number) > 0)
    .map(([k, w]) => `${d[k] as number} ${w}`)
  return parts.length ? ` with its ${parts.join(', ')}` : ''
}

function bytes(size: unknown): string {
  if (typeof size !== 'number') return ''
  return size >= 1048576 ? ` (${(size / 1048576).toFixed(1)} MB)` : ` (${Math.max(1, Math.round(size / 1024))} KB)`
}

/** One sentence per audited action; tests/unit/audit/sentences.test.ts fails when an action in gateway/ has none. */
export const SENTENCES: Record<string, Said> = {
  createFirstAdmin: { kind: 'users', say: (e) => `${e.who} created the first deployment administrator, ${e.targetAfter('user')}` },
  setupFirstAdmin: { kind: 'users', say: (e) => `${e.who} set up the gateway and became its first deployment administrator` },
  createUser: { kind: 'users', say: (e) => `${e.who} created user ${e.targetAfter('user')}${userRole(e)}` },
  createOrganization: {
    kind: 'organizations',
    say: (e) => `${e.who} created organization ${e.targetAfter('organization')} on the ${str(e.d.plan, 'default')} plan`
  },
  updateOrganization: {
    kind: 'organizations',
    say: (e) => `${e.who} changed organization ${e.targetAfter('organization')}${orgChanges(e)}`
  },
  updateUser: {
    kind: 'users',
    say: (e) => `${e.who} changed the display name of ${e.targetAfter('user')} from ${str(e.d.from, '?')} to ${str(e.d.to, '?')}`
  },
  resetUserPassword: {
    kind: 'users',
    say: (e) => `${e.who} reset the password of ${e.targetAfter('user')} (a one-time password; their sessions ended)`
  },
  changeMyPassword: { kind: 'users', say: (e) => `${e.who} changed their own password` },
  disableUser: { kind: 'users', say: (e) => `${e.who} disabled user ${e.targetAfter('user')} and ended their sessions` },
  enableUser: { kind: 'users', say: (e) => `${e.who} enabled user ${e.targetAfter('user')} again` },
  deleteUser: { kind: 'users', say: (e) => `${e.who} deleted user ${e.targetAfter('user')}` },
  deleteOrganization: {
    kind: 'organizations',
    say: (e) => {
      const networks = Array.isArray(e.d.networks) ? (e.d.networks as string[]) : []
      return `${e.who} deleted organization ${e.targetAfter('organization')} with everything under it (networks: ${list(networks)})`
    }
  },
  createTeam: { kind: 'teams', say: (e) => `${e.who} created team ${e.targetAfter('team')}` },
  renameTeam: {
    kind: 'teams',
    say: (e) => `${e.who} renamed team ${str(e.d.from, e.targetAfter('team'))} to ${str(e.d.to, 'a new name')}`
  },
  deleteTeam: { kind: 'teams', say: (e) => `${e.who} deleted team ${e.targetAfter('team')} and what it was allowed to do` },
  setTeamMembers: {
    kind: 'teams',
    say: (e) =>
      `${e.who} set the members of team ${e.targetAfter('team')}: ${list(Array.isArray(e.d.members) ? (e.d.members as string[]) : [])}`
  },
  setTeamGrants: { kind: 'teams', say: (e) => `${e.who} set what team ${e.targetAfter('team')} may do: ${grantWords(e)}` },
  prepareNextFederationCertificate: {
    kind: 'federation',
    say: (e) => `${e.who} prepared the next federation certificate (fingerprint ${str(e.d.nextFingerprint, '?')}), published before use`
  },
  switchFederationCertificate: {
    kind: 'federation',
    say: (e) => `${e.who} switched the federation certificate from ${str(e.d.from, '?')} to ${str(e.d.to, '?')}`
  },
  createNetwork: { kind: 'networks', say: (e) => `${e.who} created network ${e.targetAfter('network')}` },
  renameNetwork: {
    kind: 'networks',
    say: (e) => `${e.who} renamed network ${str(e.d.from, e.targetAfter('network'))} to ${str(e.d.to, 'a new name')}`
  },
  deleteNetwork: { kind: 'networks', say: (e) => `${e.who} deleted network ${e.targetAfter('network')}${deletedWith(e.d)}` },
  federateWithinOrganization: { kind: 'federation', say: (e) => `${e.who} federated ${e.federation()}` },
  redeemFederationCode: {
    kind: 'federation',
    say: (e) => `${e.who} used a federation code: ${e.targetAfter('network')} now federates with ${str(e.d.with, 'another network')}`
  },
  federationAccepted: {
    kind: 'federation',
    say: (e) =>
      `${e.who} used this network's federation code: ${e.targetAfter('network')} now federates with ${str(e.d.with, 'another network')}`
  },
  stopFederating: { kind: 'federation', say: (e) => `${e.who} stopped federating ${e.targetAfter('networks')}` },
  updateFederationEnd: {
    kind: 'toggles',
    say(e) {
      const changed = Array.isArray(e.d.changed) ? (e.d.changed as string[]) : null
      const words = changed ? toggleChanges(e.d, changed) : []
      if (words.length > 0) return `${e.who} ${words.join(', ')} for ${e.federation()}`
      const all = Object.keys(TOGGLE_WORDS)
        .filter((k) => k in e.d)
        .map((k) => `${TOGGLE_WORDS[k]} ${onOff(e.d[k])}`)
      return `${e.who} set the switches of ${e.targetAfter('network')} for ${e.federation()}: ${list(all)}`
    }
  },
  generateFederationCode: {
    kind: 'codes',
    say: (e) => `${e.who} made a federation code for ${e.targetAfter('network')}, valid until ${time(e.d.expiresAt)}`
  },
  clearFederationCode: { kind: 'codes', say: (e) => `${e.who} cleared the federation code of ${e.targetAfter('network')}` },
  addExternalPeer: { kind: 'peers', say: (e) => `${e.who} added TAK Server ${e.record.target}` },
  updateExternalPeer: {
    kind: 'peers',
    say: (e) => `${e.who} changed TAK Server ${e.record.target}${peerChanges(e.d).length ? `: ${peerChanges(e.d).join(', ')}` : ''}`
  },
  removeExternalPeer: { kind: 'peers', say: (e) => `${e.who} removed TAK Server ${e.record.target}` },
  externalPeerConflict: {
    kind: 'peers',
    say(e) {
      const refused = (e.d.refused ?? {}) as Record<string, unknown>
      const kept = (e.d.registered ?? {}) as Record<string, unknown>
      return (
        `${e.who} could not add TAK Server ${str(refused.peer, 'a peer')} to ${str(refused.network, 'a network')} (${str(refused.organization, '?')}): ` +
        `its certificate is already registered as ${str(kept.peer, 'a peer')} on ${str(kept.network, 'a network')} (${str(kept.organization, '?')})`
      )
    }
  },
  enrollDevice: { kind: 'devices', say: (e) => `${e.who} enrolled device ${e.targetAfter('device')} on ${e.network()}` },
  createDeviceEnrollment: {
    kind: 'devices',
    say: (e) => `${e.who} let device ${e.targetAfter('device')} enroll itself on ${e.network()} until ${time(e.d.expiresAt)}`
  },
  cancelDeviceEnrollment: {
    kind: 'devices',
    say: (e) => `${e.who} cancelled the self-enrollment of device ${e.targetAfter('device')} on ${e.network()}`
  },
  deviceEnrolledItself: {
    kind: 'devices',
    say: (e) =>
      `Device ${e.targetAfter('device')} enrolled itself on ${e.network()}${/\((.+)\)$/.exec(e.record.actor)?.[0].replace('(', '(from ') ?? ''}`
  },
  downloadDevicePackage: {
    kind: 'devices',
    say: (e) => `${e.who} downloaded the ${VARIANTS[String(e.d.variant)] ?? 'connection'} package of device ${e.targetAfter('device')}`
  },
  revokeDevice: { kind: 'devices', say: (e) => `${e.who} revoked device ${e.targetAfter('device')} on ${e.network()}` },
  uploadDataPackage: {
    kind: 'packages',
    say: (e) => `${e.who} uploaded data package ${e.record.target} to ${e.network()}${bytes(e.d.size)}`
  },
  deleteDataPackage: { kind: 'packages', say: (e) => `${e.who} deleted data package ${e.record.target} from ${e.network()}` }
}

/** "deleteUser" → "delete user": an action this table does not know yet still reads as words. */
const words = (action: string): string => action.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()

export function kindOf(action: string): AuditKind {
  return SENTENCES[action]?.kind ?? 'other'
}

export function sentenceFor(record: AuditRecord): string {
  const said = Object.hasOwn(SENTENCES, record.action) ? SENTENCES[record.action] : undefined
  const reader = new Reader(record)
  if (said) return said.say(reader)
  return `${reader.who}: ${words(record.action)} (${record.target})`
}
