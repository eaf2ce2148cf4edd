// Ready-to-paste CoreConfig.xml snippets for a TAK Server admin (spec §6): a <federation-outgoing> that dials us
// over v2, and a <federate> entry for our certificate with the __ANON__ groups so traffic actually flows.
// Both go inside the TAK Server's <federation> element (outgoing before federate, and before <fileFilter>).

import { attributes, buildXml } from '../../cot/xml-doc.ts'

/** TAK's default inbound frame size (and ours), 256 MiB. */
export const MAX_FRAME_SIZE = 268_435_456
const RECONNECT_INTERVAL_SECONDS = 30

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

export function federateSnippet(o: { fingerprint: string; name: string; notes?: string }): string {
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
    inboundGroup: '__ANON__',
    outboundGroup: '__ANON__'
  }
  return buildXml({ federate }, { indent: true })
}
