// Ready-to-paste CoreConfig.xml snippets for a TAK Server admin (spec §6): a <federation-outgoing> that dials us
// over v2, and a <federate> entry for our certificate with the __ANON__ groups so traffic actually flows.
// Both go inside the TAK Server's <federation> element (outgoing before federate, and before <fileFilter>).

import { escapeAttr } from '../../cot/xml-scan.ts'

/** TAK's default inbound frame size (and ours), 256 MiB. */
export const MAX_FRAME_SIZE = 268_435_456
const RECONNECT_INTERVAL_SECONDS = 30

export function outgoingSnippet(o: { displayName: string; hostname: string; port: number }): string {
  return (
    `<federation-outgoing displayName="${escapeAttr(o.displayName)}" address="${escapeAttr(o.hostname)}" port="${o.port}" enabled="true"\n` +
    `                     protocolVersion="2" reconnectInterval="${RECONNECT_INTERVAL_SECONDS}" unlimitedRetries="true" maxRetries="0"\n` +
    `                     maxFrameSize="${MAX_FRAME_SIZE}" tls="true"/>\n`
  )
}

export function federateSnippet(o: { fingerprint: string; name: string; notes?: string }): string {
  return (
    `<federate id="${escapeAttr(o.fingerprint)}" name="${escapeAttr(o.name)}" notes="${escapeAttr(o.notes ?? 'Fedgate gateway')}"\n` +
    `          shareAlerts="true" archive="true" federatedGroupMapping="false" automaticGroupMapping="false"\n` +
    `          fallbackWhenNoGroupMappings="false" maxHops="-1">\n` +
    `  <inboundGroup>__ANON__</inboundGroup>\n` +
    `  <outboundGroup>__ANON__</outboundGroup>\n` +
    `</federate>\n`
  )
}
