// CoT ↔ TAK federation v2 messages (spec §4): a CotEvent becomes a FederatedEvent the way TAK Server's own sender
// builds one (detail XML in `other`, <track>/<status>/<precisionlocation>/<image> moved to their fields, flow tags
// kept, our provenance stamped), and an inbound FederatedEvent is rebuilt into CoT XML the way TAK's receiver does.
// Pure functions: no I/O, no state.

import type { CotEvent, CotPoint } from '../../cot/event.ts'
import { CotLimitError, parseEvent } from '../../cot/parse.ts'
import { attrOf, escapeAttr, MAX_ELEMENTS, scanXml, XmlLimitError, XmlSyntaxError, type ScannedElement } from '../../cot/xml-scan.ts'
import { isoOfMillis, millisOfIso } from '../../cot/time.ts'
import type { ContactListEntryMessage, ContactOperation, FederatedEventMessage, FederateProvenance, GeoEventMessage } from './proto.ts'

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
  // Only the detail needs scanning (parsing kept it as text); the root's attributes only for the rare security marks.
  let elements: ScannedElement[] | null = null
  if (event.detailXml) {
    try {
      elements = scanXml(event.detailXml)
    } catch {
      return null
    }
    if (elements[0]!.name !== 'detail') return null
  }
  const stamp = stampOf(us)

  if (event.type === DELETE_TYPE) {
    const linkIndex = elements ? childIndexes(elements, 0, 'link')[0] : undefined
    const link = linkIndex === undefined ? undefined : elements![linkIndex]!
    const uid = (link && attrOf(link, 'uid')) || event.uid
    return { contact: contactEntry('DELETE', uid, (link && attrOf(link, 'type')) ?? ''), ...stamp }
  }

  const sendTime = millis(event.time)
  const geo: Partial<GeoEventMessage> = {
    sendTime,
    // ATAK's start is its time: parsed once.
    startTime: !event.start || event.start === event.time ? sendTime : millis(event.start),
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
    ptpCallsigns: [...event.dest.callsigns],
    missionNames: [...(event.dest.missions ?? [])]
  }
  const marks = securityMarks(event.xml)
  if (marks) {
    for (const [name, field] of [
      ['access', 'access'],
      ['caveat', 'caveat'],
      ['releasableTo', 'releaseableTo']
    ] as const) {
      const value = attrOf(marks, name)
      if (value !== undefined) geo[field] = value
    }
  }
  if (elements) geo.other = detailForTak(event.detailXml, elements, 0, geo)
  return { event: geo, ...stamp }
}

const SECURITY_MARKS = ['access=', 'caveat=', 'releasableTo='].map((name) => Buffer.from(name))

/** The root element (its attributes) when its start tag carries access / caveat / releasableTo, else null. */
function securityMarks(xml: Buffer): ScannedElement | null {
  // A '<' cannot occur inside an attribute value, so the start tag ends before the next one.
  const tagEnd = xml.indexOf(0x3c, 1)
  const head = tagEnd === -1 ? xml : xml.subarray(0, tagEnd)
  if (!SECURITY_MARKS.some((mark) => head.includes(mark))) return null
  try {
    const text = head.toString('utf8').trimEnd()
    if (text.startsWith('<event') && text.endsWith('>') && !text.endsWith('/>')) return scanXml(`${text.slice(0, -1)}/>`)[0]!
    return scanXml(xml.toString('utf8'))[0]!
  } catch {
    return null
  }
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

function contactEntry(operation: ContactOperation, uid: string, callsign: string): ContactListEntryMessage {
  return { operation, uid, callsign, phone: '', sip: '', directConnect: '' }
}

/** A contact message for one of our devices, stamped like events. */
export function contactMessage(operation: ContactOperation, uid: string, callsign: string, us: OurIdentity): FederatedEventMessage {
  return { contact: contactEntry(operation, uid, callsign), ...stampOf(us) }
}

/**
 * A relayed event (issue 20) as TAK's federation hub passes one on: the provenance it came with plus ours, the hop count
 * one more than the links it crossed, and the limit of the end it leaves by (a TAK hub stops it beyond that).
 */
export function relayedFederatedEvent(
  event: CotEvent,
  us: OurIdentity,
  trail: { hops: number; federates: readonly FederateProvenance[] },
  maxHops: number
): FederatedEventMessage | null {
  const message = toFederatedEvent(event, us)
  if (!message) return null
  message.federateProvenance = [...trail.federates, ...message.federateProvenance!]
  message.federateHops = { currentHops: trail.hops + 1, maxHops }
  return message
}

// ─── inbound: FederatedEvent → CotEvent ──────────────────────────────────────

/** True when our federate id is already in the message's provenance (an echo of something we sent). */
export function carriesOurProvenance(message: Pick<FederatedEventMessage, 'federateProvenance'>, ourFederateId: string): boolean {
  return (message.federateProvenance ?? []).some((p) => p.federationServerId === ourFederateId)
}

/**
 * Rebuild CoT from a GeoEvent as TAK's receiver does (spec §4.2): header and point from the fields, `other` parsed
 * and used as the detail, then <track> from speed/course, <status battery>, <precisionlocation> and <image> restored
 * when absent, and destinations (ptpUids/ptpCallsigns/missionNames) as <marti><dest>. Null when the event is unusable;
 * throws CotLimitError when it is over the caps a device's event has (elements, attributes; destinations count as
 * the <dest> elements they become), so the session counts it as oversize.
 */
export function fromGeoEvent(geo: Partial<GeoEventMessage>): CotEvent | null {
  const destinations = (geo.ptpUids?.length ?? 0) + (geo.ptpCallsigns?.length ?? 0) + (geo.missionNames?.length ?? 0)
  if (destinations > MAX_ELEMENTS) throw new CotLimitError(`More than ${MAX_ELEMENTS} destinations`)
  const uid = geo.uid ?? ''
  const type = geo.type ?? ''
  if (!uid || !type || type.startsWith(MISSION_CHANGE_PREFIX)) return null
  const how = geo.coordSource || 'h-g-i-g-o'
  const time = isoOf(geo.sendTime) ?? new Date().toISOString()
  const start = geo.startTime === geo.sendTime ? time : (isoOf(geo.startTime) ?? time)
  const stale = isoOf(geo.staleTime) ?? new Date(Date.parse(time) + 60_000).toISOString()
  let head = `<event version="2.0" uid="${escapeAttr(uid)}" type="${escapeAttr(type)}" how="${escapeAttr(how)}"`
  head += ` time="${time}" start="${start}" stale="${stale}"`
  if (geo.access) head += ` access="${escapeAttr(geo.access)}"`
  if (geo.caveat) head += ` caveat="${escapeAttr(geo.caveat)}"`
  if (geo.releaseableTo) head += ` releasableTo="${escapeAttr(geo.releaseableTo)}"`
  head += '>'
  const point: CotPoint = {
    lat: finite(geo.lat, 0),
    lon: finite(geo.lon, 0),
    hae: finite(geo.hae, 0),
    ce: finite(geo.ce, UNKNOWN_ERROR),
    le: finite(geo.le, UNKNOWN_ERROR)
  }
  const pointXml = `<point lat="${point.lat}" lon="${point.lon}" hae="${point.hae}" ce="${point.ce}" le="${point.le}"/>`
  const detail = geo.other ? rebuildDetail(geo.other, geo) : null
  const text = `${head}${pointXml}${detail?.xml ?? ''}</event>`
  // The event is built here from known parts, so it is not parsed again, except when parsing would change something:
  // destinations (parsing moves them out of the bytes), declarations (refused), or header text that is not plain.
  const plain = !detail || (!detail.xml.includes('<dest') && !detail.xml.includes('<!'))
  if (!plain || !PLAIN_TEXT.test(uid) || !PLAIN_TEXT.test(type) || !PLAIN_TEXT.test(how)) {
    try {
      return parseEvent(Buffer.from(text))
    } catch (err) {
      if (err instanceof CotLimitError) throw err
      return null
    }
  }
  return {
    uid,
    type,
    how,
    time,
    start,
    stale,
    point,
    detailXml: detail?.xml ?? '',
    callsign: detail?.contact ? (attrOf(detail.contact, 'callsign') ?? null) : null,
    endpoint: detail?.contact ? (attrOf(detail.contact, 'endpoint') ?? null) : null,
    // Without a detail the addressees are only in the fields (TAK: "explicit-delivery context").
    dest: destOf(geo),
    xml: Buffer.from(text)
  }
}

/** The addressees a GeoEvent names; a mission's subscribers are nobody here (cot/parse.ts, SCOPE_ATTRIBUTES). */
function destOf(geo: Partial<GeoEventMessage>): CotEvent['dest'] {
  const dest: CotEvent['dest'] = { callsigns: [...(geo.ptpCallsigns ?? [])], uids: [...(geo.ptpUids ?? [])] }
  if ((geo.missionNames ?? []).length > 0) {
    dest.scoped = true
    dest.missions = [...geo.missionNames!]
  }
  return dest
}

/** Elements an event rebuilt from a GeoEvent has besides its detail's: event, point, track, status, precisionlocation, marti. */
const REBUILT_ELEMENTS = 6

/** Text that reads back unchanged from an XML attribute (no markup, entities or characters XML normalises). */
const PLAIN_TEXT = /^[^&<>"\u0000-\u001f]*$/

/** The detail TAK's receiver rebuilds from `other` and the GeoEvent fields, and its first <contact>; null when unusable. */
function rebuildDetail(other: string, geo: Partial<GeoEventMessage>): { xml: string; contact: ScannedElement | undefined } | null {
  let elements: ScannedElement[]
  try {
    elements = scanXml(other)
  } catch (err) {
    if (err instanceof XmlLimitError) throw new CotLimitError(err.message)
    if (err instanceof XmlSyntaxError) return null
    throw err
  }
  // The event built around it (not always parsed again) must fit the same cap: <event>, <point> and what TAK appends.
  if (elements.length + REBUILT_ELEMENTS > MAX_ELEMENTS) throw new CotLimitError(`More than ${MAX_ELEMENTS} elements`)
  const root = elements[0]!
  if (root.name !== 'detail') return null
  let image: ScannedElement | undefined
  let contact: ScannedElement | undefined
  let track = false
  let status = false
  let precision = false
  for (let i = 1; i < elements.length; i++) {
    const element = elements[i]!
    if (element.parent !== 0) continue
    const name = element.name
    if (name === 'contact') contact ??= element
    else if (name === 'image') image ??= element
    else if (name === 'track') track = true
    else if (name === 'status') status = true
    else if (name === 'precisionlocation') precision = true
  }
  // The inner content of <detail> (empty for <detail/>), then what TAK appends.
  let inner = root.contentEnd > root.contentStart ? other.slice(root.contentStart, root.contentEnd) : ''
  if (image && geo.binary && geo.binary.data && geo.binary.data.length > 0 && image.contentEnd === image.contentStart) {
    const base64 = Buffer.from(geo.binary.data).toString('base64')
    const imageText = other.slice(image.start, image.end)
    const rebuilt = imageText.endsWith('/>')
      ? `${imageText.slice(0, -2)}>${base64}</image>`
      : imageText.replace(/><\/image>$/, `>${base64}</image>`)
    // Spliced in at its offset: a search for the element's text in the detail is not bounded by the detail's size.
    const at = image.start - root.contentStart
    inner = inner.slice(0, at) + rebuilt + inner.slice(at + imageText.length)
  }
  if (!track) inner += `<track speed="${num(geo.speed, 0)}" course="${num(geo.course, 0)}"/>`
  if (!status && geo.battery) inner += `<status battery="${Math.round(geo.battery)}"/>`
  if (!precision && (geo.ploc || geo.palt)) {
    inner += `<precisionlocation geopointsrc="${escapeAttr(geo.ploc ?? '')}" altsrc="${escapeAttr(geo.palt ?? '')}"/>`
  }
  const dests = [
    ...(geo.ptpCallsigns ?? []).map((c) => `<dest callsign="${escapeAttr(c)}"/>`),
    ...(geo.ptpUids ?? []).map((u) => `<dest uid="${escapeAttr(u)}"/>`),
    ...(geo.missionNames ?? []).map((m) => `<dest mission="${escapeAttr(m)}"/>`)
  ]
  if (dests.length > 0) inner += `<marti>${dests.join('')}</marti>`
  return { xml: `<detail>${inner}</detail>`, contact }
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
  const ms = millisOfIso(iso)
  return Number.isFinite(ms) ? ms : 0
}

/** Beyond ±8.64e15 ms a Date is invalid. */
const MAX_DATE_MS = 8.64e15

function isoOf(ms: number | undefined): string | null {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > MAX_DATE_MS) return null
  return isoOfMillis(ms)
}

/** A finite number (never -0), or the fallback. */
function finite(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? value + 0 : fallback
}

/** A number as CoT prints it; non-finite values fall back. */
function num(value: number | undefined, fallback: number): string {
  return String(finite(value, fallback))
}
