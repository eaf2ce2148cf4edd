// Ready-to-paste CoreConfig.xml snippets for a TAK Server admin (docs/spec/tak-facts.md §1, §2): a <federation-outgoing>
// that dials us over v2, and the <federate> + <federateCA> entries that put our federate in the peer's TAK groups.
// The comments inside the snippet say where each part goes in CoreConfig.xsd's order of <federation>'s children.

import { attributes, buildXml, type XmlNode } from '../../cot/xml-doc.ts'

/** TAK's default inbound frame size (and ours), 256 MiB. */
export const MAX_FRAME_SIZE = 268_435_456
const RECONNECT_INTERVAL_SECONDS = 30

/** The group TAK gives users it could not put in any other group (tak-facts §1.3): the default of a new peer. */
export const ANON_GROUP = '__ANON__'

export interface TakGroupNames {
  inbound: string[]
  outbound: string[]
}

export const DEFAULT_TAK_GROUPS: TakGroupNames = { inbound: [ANON_GROUP], outbound: [ANON_GROUP] }

/**
 * What else must hold on the TAK Server for a link to carry traffic, in the words of its CoreConfig and admin UI
 * (tak-facts §2). The snippet and the console's connection info both say these.
 */
export const TAK_SIDE_REQUIREMENTS: readonly string[] = [
  'Federation is on: <federation enableFederation="true"> (off by default; TAK starts no federation port without it).',
  'Federation v2 is on: <federation-server v2enabled="true" v2port="9001"> (the port we dial, or the one TAK dials out from).',
  "Our CA certificate (the 'CA certificate' download) is in the federation truststore, <federation-server><tls truststoreFile=...>, e.g. uploaded under Configuration > Federate Certificate Authorities.",
  'Our federate sits in groups that TAK users are in (see Administrative > Manage Users, or Monitoring > Client Dashboard): TAK only routes between a federate and users who share a group.'
]

export function outgoingSnippet(o: { displayName: string; hostname: string; port: number }): string {
  const outgoing = attributes([
    ['displayName', o.displayName],
    ['address', o.hostname],
    ['port', o.port],
    ['enabled', true],
    ['protocolVersion', 2],
    ['reconnectInterval', RECONNECT_INTERVAL_SECONDS],
    ['unlimitedRetries', true],
    ['maxRetries', 0],
    ['maxFrameSize', MAX_FRAME_SIZE],
    ['tls', true]
  ])
  return buildXml({ 'federation-outgoing': outgoing }, { indent: true })
}

/** Repeated elements that hold only text (the builder escapes it). */
const textNodes = (names: string[]): XmlNode[] => names.map((name) => ({ '#text': name }))

/** XML comment text: '--' may not occur inside a comment, and our own words never need it. */
const comment = (text: string): string => `<!-- ${text.replace(/--/g, '- -')} -->`

/**
 * The <federate> entry for our leaf certificate and a <federateCA> entry for our CA, both with the peer's groups:
 * TAK copies a <federateCA>'s groups to a federate whose fingerprint it does not know yet (a renewed leaf), so the
 * link keeps its groups across a certificate change (tak-facts §1.4).
 */
export function federateSnippet(o: {
  fingerprint: string
  caFingerprint: string
  name: string
  groups?: TakGroupNames
  notes?: string
}): string {
  const groups = o.groups ?? DEFAULT_TAK_GROUPS
  const federate = {
    ...attributes([
      ['id', o.fingerprint],
      ['name', o.name],
      ['notes', o.notes ?? 'Fedgate gateway'],
      ['shareAlerts', true],
      ['archive', true],
      ['federatedGroupMapping', false],
      ['automaticGroupMapping', false],
      ['fallbackWhenNoGroupMappings', false],
      ['maxHops', -1]
    ]),
    inboundGroup: textNodes(groups.inbound),
    outboundGroup: textNodes(groups.outbound)
  }
  const federateCA = {
    ...attributes([['fingerprint', o.caFingerprint]]),
    inboundGroup: textNodes(groups.inbound),
    outboundGroup: textNodes(groups.outbound)
  }
  return [
    comment(`Fedgate federate '${o.name}' for TAK Server federation v2. Both parts go inside <federation> in CoreConfig.xml.`),
    comment('Also needed on this TAK Server:'),
    ...TAK_SIDE_REQUIREMENTS.map((line) => comment(line)),
    comment(
      'Part 1: paste after <federation-server>, any <federation-outgoing> and <mission-disruption-tolerance>, with the other <federate> entries, before <fileFilter>.'
    ),
    comment('inboundGroup: the TAK groups our traffic reaches. outboundGroup: the TAK groups whose traffic we receive.'),
    buildXml({ federate }, { indent: true }).trim(),
    comment('Part 2: paste after <fileFilter>, with the other <federateCA> entries (the last children of <federation>).'),
    comment('It gives the same groups to a renewed Fedgate certificate from the same CA, so the link keeps flowing.'),
    buildXml({ federateCA }, { indent: true }).trim(),
    ''
  ].join('\n')
}
