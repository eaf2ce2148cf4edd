// CoT ↔ TAK federation v2 messages (spec §4): a CotEvent becomes a FederatedEvent the way TAK Server's own sender
// builds one (detail XML in `other`, <track>/<status>/<precisionlocation>/<image> moved to their fields, flow tags
// kept, our provenance stamped), and an inbound FederatedEvent is rebuilt into CoT XML the way TAK's receiver does.
// Pure functions: no I/O, no state.

import type { CotEvent } from '../../cot/event.ts'
import { parseEvent } from '../../cot/parse.ts'
import { attrOf, escapeAttr, scanXml, XmlSyntaxError, type ScannedElement } from '../../cot/xml-scan.ts'
import type { ContactListEntryMessage, ContactOperation, FederatedEventMessage, GeoEventMessage } from './proto.ts'

/** Who we are in provenance: Federation:OurFederateId (and a display name). */
export interface OurIdentity {
  federateId: string
  name: string
}

/** TAK's "unknown" circular / linear error. */
const UNKNOWN_ERROR = 999999
const DELETE_TYPE = 't-x-d-d'
/** Mission change notices are never federated (spec §4.1). */
const MISSION_CHANGE_PREFIX = 't-x-m'

// ─── outbound: CotEvent → FederatedEvent ─────────────────────────────────────

/**
 * The FederatedEvent for one event of ours, or null when the type is not federated.
 * A `t-x-d-d` becomes a ContactListEntry DELETE for the linked uid (TAK puts the link's type in `callsign`).
 */
export function toFederatedEvent(event: CotEvent, us: OurIdentity): FederatedEventMessage | null {
  if (event.type.startsWith(MISSION_CHANGE_PREFIX)) return null
  let elements: ScannedElement[]
  const text = event.xml.toString('utf8')
  try {
    elements = scanXml(text)
  } catch {
    return null
  }
  const root = elements[0]!
  const detailIndex = childIndexes(elements, 0, 'detail')[0]
  const stamp = stampOf(us)

  if (event.type === DELETE_TYPE) {
    const linkIndex = detailIndex === undefined ? undefined : childIndexes(elements, detailIndex, 'link')[0]
    const link = linkIndex === undefined ? undefined : elements[linkIndex]!
    const uid = (link && attrOf(link, 'uid')) || event.uid
    return { contact: contactEntry('DELETE', uid, (link && attrOf(link, 'type')) ?? ''), ...stamp }
  }

  const geo: Partial<GeoEventMessage> = {
    sendTime: millis(event.time),
    startTime: millis(event.start || event.time),
    staleTime: millis(event.stale),
    lat: event.point.lat,
    lon: event.point.lon,
    hae: event.point.hae,
    ce: event.point.ce,
    le: event.point.le,
    uid: event.uid,
    type: event.type,
    coordSource: event.how,
    other: '',
    speed: 0,
    course: 0,
    ptpUids: [...event.dest.uids],
    ptpCallsigns: [...event.dest.callsigns]
  }
  for (const [name, field] of [['access', 'access'], ['caveat', 'caveat'], ['releasableTo', 'releaseableTo']] as const) {
    const value = attrOf(root, name)
    if (value !== undefined) geo[field] = value
  }
  if (detailIndex !== undefined) geo.other = detailForTak(text, elements, detailIndex, geo)
  return { event: geo, ...stamp }
}

function stampOf(us: OurIdentity): Pick<FederatedEventMessage, 'federateProvenance' | 'federateHops'> {
  return {
    federateProvenance: [{ federationServerId: us.federateId, federationServerName: us.name }],
    federateHops: { currentHops: 1, maxHops: -1 }
  }
}

/** The detail as TAK sends it in `other`: the elements with their own fields cut out, the rest (flow tags too) verbatim. */
function detailForTak(text: string, elements: ScannedElement[], detailIndex: number, geo: Partial<GeoEventMessage>): string {
  const detail = elements[detailIndex]!
  const cuts: [number, number, string][] = []
  for (const i of childIndexes(elements, detailIndex)) {
    const element = elements[i]!
    if (element.name === 'track') {
      const speed = numberAttr(element, 'speed')
      const course = numberAttr(element, 'course')
      if (speed !== null && course !== null) {
        geo.speed = speed
        geo.course = course
        cuts.push([element.start, element.end, ''])
      }
    } else if (element.name === 'status') {
      const battery = numberAttr(element, 'battery')
      if (battery !== null && attrOf(element, 'readiness') === undefined) {
        geo.battery = Math.round(battery)
        cuts.push([element.start, element.end, ''])
      }
    } else if (element.name === 'precisionlocation') {
      const ploc = attrOf(element, 'geopointsrc')
      const palt = attrOf(element, 'altsrc')
      if (ploc !== undefined && palt !== undefined) {
        geo.ploc = ploc
        geo.palt = palt
        cuts.push([element.start, element.end, ''])
      }
    } else if (element.name === 'image' && element.contentEnd > element.contentStart) {
      const base64 = text.slice(element.contentStart, element.contentEnd).replace(/\s+/g, '')
      if (base64 && /^[A-Za-z0-9+/=]+$/.test(base64)) {
        geo.binary = { type: 'IMAGE', data: Buffer.from(base64, 'base64') }
        cuts.push([element.contentStart, element.contentEnd, ''])
      }
    }
  }
  let out = ''
  let at = detail.start
  for (const [start, end, replacement] of cuts.sort((a, b) => a[0] - b[0])) {
    out += text.slice(at, start) + replacement
    at = end
  }
  return out + text.slice(at, detail.end)
}

export function contactEntry(operation: ContactOperation, uid: string, callsign: string): ContactListEntryMessage {
  return { operation, uid, callsign, phone: '', sip: '', directConnect: '' }
}

/** A contact message for one of our devices, stamped like events. */
export function contactMessage(operation: ContactOperation, uid: string, callsign: string, us: OurIdentity): FederatedEventMessage {
  return { contact: contactEntry(operation, uid, callsign), ...stampOf(us) }
}

// ─── inbound: FederatedEvent → CotEvent ──────────────────────────────────────

/** True when our federate id is already in the message's provenance (an echo of something we sent). */
export function carriesOurProvenance(message: Pick<FederatedEventMessage, 'federateProvenance'>, ourFederateId: string): boolean {
  return (message.federateProvenance ?? []).some((p) => p.federationServerId === ourFederateId)
}

/**
 * Rebuild CoT from a GeoEvent as TAK's receiver does (spec §4.2): header and point from the fields, `other` parsed
 * and used as the detail, then <track> from speed/course, <status battery>, <precisionlocation> and <image> restored
 * when absent, and destinations (ptpUids/ptpCallsigns/missionNames) as <marti><dest>. Null when the event is unusable.
 */
export function fromGeoEvent(geo: Partial<GeoEventMessage>): CotEvent | null {
  const uid = geo.uid ?? ''
  const type = geo.type ?? ''
  if (!uid || !type || type.startsWith(MISSION_CHANGE_PREFIX)) return null
  const time = isoOf(geo.sendTime) ?? new Date().toISOString()
  const start = isoOf(geo.startTime) ?? time
  const stale = isoOf(geo.staleTime) ?? new Date(Date.parse(time) + 60_000).toISOString()
  let head = `<event version="2.0" uid="${escapeAttr(uid)}" type="${escapeAttr(type)}" how="${escapeAttr(geo.coordSource || 'h-g-i-g-o')}"`
  head += ` time="${time}" start="${start}" stale="${stale}"`
  if (geo.access) head += ` access="${escapeAttr(geo.access)}"`
  if (geo.caveat) head += ` caveat="${escapeAttr(geo.caveat)}"`
  if (geo.releaseableTo) head += ` releasableTo="${escapeAttr(geo.releaseableTo)}"`
  head += '>'
  const point =
    `<point lat="${num(geo.lat, 0)}" lon="${num(geo.lon, 0)}" hae="${num(geo.hae, 0)}" ` +
    `ce="${num(geo.ce, UNKNOWN_ERROR)}" le="${num(geo.le, UNKNOWN_ERROR)}"/>`
  const detail = geo.other ? rebuildDetail(geo.other, geo) : ''
  try {
    return parseEvent(Buffer.from(`${head}${point}${detail}</event>`))
  } catch {
    return null
  }
}

function rebuildDetail(other: string, geo: Partial<GeoEventMessage>): string {
  let elements: ScannedElement[]
  try {
    elements = scanXml(other)
  } catch (err) {
    if (err instanceof XmlSyntaxError) return ''
    throw err
  }
  const root = elements[0]!
  if (root.name !== 'detail') return ''
  const has = (name: string): ScannedElement | undefined => {
    const i = childIndexes(elements, 0, name)[0]
    return i === undefined ? undefined : elements[i]
  }
  // The inner content of <detail> (empty for <detail/>), then what TAK appends.
  let inner = root.contentEnd > root.contentStart ? other.slice(root.contentStart, root.contentEnd) : ''
  const image = has('image')
  if (image && geo.binary && geo.binary.data && geo.binary.data.length > 0 && image.contentEnd === image.contentStart) {
    const base64 = Buffer.from(geo.binary.data).toString('base64')
    const imageText = other.slice(image.start, image.end)
    const rebuilt = imageText.endsWith('/>') ? `${imageText.slice(0, -2)}>${base64}</image>` : imageText.replace(/><\/image>$/, `>${base64}</image>`)
    inner = inner.replace(imageText, rebuilt)
  }
  if (!has('track')) inner += `<track speed="${num(geo.speed, 0)}" course="${num(geo.course, 0)}"/>`
  if (!has('status') && geo.battery) inner += `<status battery="${Math.round(geo.battery)}"/>`
  if (!has('precisionlocation') && (geo.ploc || geo.palt)) {
    inner += `<precisionlocation geopointsrc="${escapeAttr(geo.ploc ?? '')}" altsrc="${escapeAttr(geo.palt ?? '')}"/>`
  }
  const dests = [
    ...(geo.ptpCallsigns ?? []).map((c) => `<dest callsign="${escapeAttr(c)}"/>`),
    ...(geo.ptpUids ?? []).map((u) => `<dest uid="${escapeAttr(u)}"/>`),
    ...(geo.missionNames ?? []).map((m) => `<dest mission="${escapeAttr(m)}"/>`)
  ]
  if (dests.length > 0) inner += `<marti>${dests.join('')}</marti>`
  return `<detail>${inner}</detail>`
}

// ─── helpers ─────────────────────────────────────────────────────────────────

function childIndexes(elements: ScannedElement[], parent: number, name?: string): number[] {
  const found: number[] = []
  for (let i = parent + 1; i < elements.length; i++) {
    const element = elements[i]!
    if (element.parent === parent && (name === undefined || element.name === name)) found.push(i)
  }
  return found
}

function numberAttr(element: ScannedElement, name: string): number | null {
  const raw = attrOf(element, name)
  if (raw === undefined || raw.trim() === '') return null
  const n = Number(raw)
  return Number.isFinite(n) ? n : null
}

function millis(iso: string): number {
  const ms = Date.parse(iso)
  return Number.isFinite(ms) ? ms : 0
}

function isoOf(ms: number | undefined): string | null {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return null
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? null : date.toISOString()
}

/** A number as CoT prints it; non-finite values fall back. */
function num(value: number | undefined, fallback: number): string {
  return String(value !== undefined && Number.isFinite(value) ? value : fallback)
}
