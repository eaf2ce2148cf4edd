// The in-memory CoT event: the header fields routing needs, parsed once, plus the original bytes so XML
// receivers get exactly what was sent (re-serialised only when the gateway had to change the event).

export interface CotPoint {
  lat: number
  lon: number
  hae: number
  ce: number
  le: number
}

export interface CotEvent {
  uid: string
  type: string
  how: string
  /** ISO times as they appeared on the wire. */
  time: string
  start: string
  stale: string
  point: CotPoint
  /** The whole `<detail>…</detail>` element as XML text, or '' when the event has none. */
  detailXml: string
  /** `<contact callsign>` if present. */
  callsign: string | null
  /** `<contact endpoint>` if present: with a callsign it marks a situational-awareness (position) report. */
  endpoint?: string | null
  /**
   * `<marti><dest callsign|uid>` targets; empty when the event is not a direct message. `scoped`: a dest also named a
   * mission, group or publish target, which has no subscribers here, so only the named callsigns and uids get it (and
   * TAK federates, which may have the `missions` named: they get those names as GeoEvent missionNames).
   */
  dest: { callsigns: string[]; uids: string[]; scoped?: boolean; missions?: string[] }
  /** `<_flow-tags_>` and federation provenance are carried inside detailXml / the federation layer. */
  /** The complete `<event>…</event>` as UTF-8 bytes, ready to write to XML receivers. */
  xml: Buffer
}

/** CoT types the gateway answers itself and never routes. */
export const CONTROL_TYPES = new Set([
  't-x-c-t',
  't-x-c-t-r',
  't-x-takp-v',
  't-x-takp-q',
  't-x-takp-r',
  // subscriptions, filters, metrics and incognito: TAK Server consumes these too (spec §1.9)
  't-b',
  't-b-a',
  't-b-c',
  't-b-q',
  't-x-c-f',
  't-x-c-m',
  't-x-c-i-e',
  't-x-c-i-d'
])
