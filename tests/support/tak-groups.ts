// TAK Server's group rule for the test emulations (docs/spec/tak-facts.md §1): a federate is put in exactly the groups
// of the <federate> entry whose id is its leaf fingerprint; an unknown fingerprint gets the groups of the first
// <federateCA> whose fingerprint is the second certificate of its chain (and that entry is then saved), else none.
// An event goes from a sender to a receiver only if one of the sender's IN groups is one of the receiver's OUT groups.

import { XMLParser } from 'fast-xml-parser'

export interface TakGroupSet {
  inbound: string[]
  outbound: string[]
}

/** A <federate> (id = leaf fingerprint) or <federateCA> (fingerprint of the CA) entry of CoreConfig.xml. */
export interface GroupEntry extends TakGroupSet {
  fingerprint: string
}

/** The federation part of a TAK Server's CoreConfig.xml that decides groups. */
export interface TakGroupConfig {
  federates: GroupEntry[]
  federateCAs: GroupEntry[]
}

/** A TAK user (an ATAK on that server): in each of its groups both ways, as TAK's authenticators put users. */
export interface TakUser {
  name: string
  groups: string[]
}

export const ANON: TakGroupSet = { inbound: ['__ANON__'], outbound: ['__ANON__'] }
export const DEFAULT_USERS: TakUser[] = [{ name: 'anon', groups: ['__ANON__'] }]

/**
 * The groups TAK gives a federate. `config` undefined stands for a TAK admin who pasted Fedgate's generic snippet for
 * whatever certificate connects (the emulations' default, so tests not about groups see traffic flow).
 */
export function federateGroups(
  config: TakGroupConfig | undefined,
  leafFingerprint: string,
  caFingerprint: string | undefined
): TakGroupSet {
  if (!config) return ANON
  const known = config.federates.find((f) => f.fingerprint === leafFingerprint)
  if (known) return known
  const ca = caFingerprint ? config.federateCAs.find((f) => f.fingerprint === caFingerprint) : undefined
  // TAK saves the new federate with what it copied: later edits of the <federateCA> no longer change it.
  const created = { fingerprint: leafFingerprint, inbound: [...(ca?.inbound ?? [])], outbound: [...(ca?.outbound ?? [])] }
  config.federates.push(created)
  return created
}

/** Users an event from a federate with these groups reaches. */
export function usersReached(federate: TakGroupSet, users: TakUser[]): TakUser[] {
  return users.filter((u) => federate.inbound.some((g) => u.groups.includes(g)))
}

/** Whether an event from `user` reaches a federate with these groups. */
export function reachesFederate(user: TakUser, federate: TakGroupSet): boolean {
  return user.groups.some((g) => federate.outbound.includes(g))
}

/** Reads what a TAK admin pasted (Fedgate's federate snippet) into the entries TAK would hold. */
export function groupConfigFromSnippet(xml: string): TakGroupConfig {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseTagValue: false,
    parseAttributeValue: false,
    isArray: (name) => name !== 'root'
  })
  const root = parser.parse(`<root>${xml}</root>`) as { root: Record<string, Record<string, unknown>[]> }
  const list = (node: Record<string, unknown>, key: string): string[] => ((node[key] as unknown[] | undefined) ?? []).map(String)
  const entries = (name: string, idAttribute: string): GroupEntry[] =>
    (root.root[name] ?? []).map((node) => ({
      fingerprint: String(node[idAttribute]),
      inbound: list(node, 'inboundGroup'),
      outbound: list(node, 'outboundGroup')
    }))
  return { federates: entries('federate', '@id'), federateCAs: entries('federateCA', '@fingerprint') }
}

/**
 * TAK's latest SA per user (`<buffer><latestSA enable="true"/>`, docs/spec/tak-facts.md §3): the last event a user sent
 * that carries `<contact callsign endpoint>` (CotEventContainer.isSituationalAwarenessMessage); markers, shapes and
 * chats are not kept. On a new federate session TAK sends each reachable user's one SA, never SAs it got from federates.
 */
export class LatestSaBuffer {
  private readonly byUser = new Map<string, { event?: { uid?: string; other?: string } | null }>()

  /** A user sent this: kept if it is the user's own situational-awareness report. */
  saw<M extends { event?: { uid?: string; other?: string } | null }>(userName: string, message: M): void {
    const contact = /<contact\b[^>]*>/.exec(message.event?.other ?? '')?.[0] ?? ''
    if (message.event?.uid && /\scallsign="[^"]+"/.test(contact) && /\sendpoint="[^"]+"/.test(contact)) {
      this.byUser.set(userName, message)
    }
  }

  /** The SAs a federate with these groups gets on joining: one per user whose groups reach it. */
  forFederate<M>(groups: TakGroupSet, users: TakUser[]): M[] {
    return users.flatMap((u) => (reachesFederate(u, groups) && this.byUser.has(u.name) ? [this.byUser.get(u.name) as M] : []))
  }
}
