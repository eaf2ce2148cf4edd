// Parse one framed CoT event once into a CotEvent: the header fields routing needs, the detail as XML, and the bytes
// XML receivers get (the original bytes, or once-rewritten bytes when `<marti><dest>` elements had to be removed).

import type { CotEvent, CotPoint } from './event.ts'
import { attrOf, scanXml, XmlLimitError, XmlSyntaxError, type ScannedElement } from './xml-scan.ts'
import { hasDeclaration } from './framer.ts'

export class CotParseError extends Error {}
/** Well-formed, but over the scanner's caps (elements per event, attributes per element): counted as oversize. */
export class CotLimitError extends CotParseError {}

/** hae/ce/le for "unknown" (spec §1.5). */
const UNKNOWN_METRIC = 999999

function numberOr(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback
  const n = Number(value)
  return Number.isFinite(n) ? n : fallback
}

/**
 * `<dest>` targets besides callsign and uid (spec tak-devices.md §1.10): TAK Server removes every dest and delivers
 * to the subscribers named, so a mission or group target reaches that mission's or group's subscribers only, never
 * everyone. Fedgate has no missions or TAK groups: such an event goes to the callsigns and uids named with it, if any,
 * and a mission's name on to TAK federates (which may have it).
 */
const SCOPE_ATTRIBUTES = ['mission', 'mission-guid', 'group', 'publish'] as const
type ScopeAttribute = (typeof SCOPE_ATTRIBUTES)[number]
const isScopeAttribute = (name: string): name is ScopeAttribute => (SCOPE_ATTRIBUTES as readonly string[]).includes(name)
const ANON_GROUP = '__ANON__'

/** The parts of an event parsing reads, found in one pass over the elements (a child's index is past its parent's). */
function findParts(elements: ScannedElement[]): { point?: number; detail?: number; contact?: number; dests: number[] } {
  const parts: { point?: number; detail?: number; contact?: number; dests: number[] } = { dests: [] }
  // Elements that are a <marti> of the detail: a dest counts only as their child (a search per <marti> cost the square).
  const martis = new Set<number>()
  for (let i = 1; i < elements.length; i++) {
    const { parent, name } = elements[i]!
    if (parent === 0) {
      if (name === 'point') parts.point ??= i
      else if (name === 'detail') parts.detail ??= i
    } else if (parent === parts.detail) {
      if (name === 'contact') parts.contact ??= i
      else if (name === 'marti') martis.add(i)
    } else if (name === 'dest' && martis.has(parent)) {
      parts.dests.push(i)
    }
  }
  return parts
}

/** Parse a complete `<event>…</event>` (an XML declaration or whitespace around it is tolerated). Throws CotParseError. */
export function parseEvent(bytes: Buffer): CotEvent {
  if (hasDeclaration(bytes)) throw new CotParseError('Declarations are not accepted')
  const text = bytes.toString('utf8')
  const elements = scanEvent(text)
  const root = elements[0]!
  if (root.name !== 'event') throw new CotParseError('The root element is not <event>')
  const uid = attrOf(root, 'uid')
  const type = attrOf(root, 'type')
  if (!uid || !type) throw new CotParseError('The event has no uid or type')

  const parts = findParts(elements)
  let callsign: string | null = null
  let endpoint: string | null = null
  if (parts.contact !== undefined) {
    const contact = elements[parts.contact]!
    callsign = attrOf(contact, 'callsign') ?? null
    endpoint = attrOf(contact, 'endpoint') ?? null
  }
  const dest: CotEvent['dest'] = { callsigns: [], uids: [] }
  const destRanges = readDests(elements, parts.dests, dest)
  const { xml, detailXml } = eventBytes(bytes, text, elements, parts.detail, destRanges)

  return {
    uid,
    type,
    how: attrOf(root, 'how') ?? '',
    time: attrOf(root, 'time') ?? '',
    start: attrOf(root, 'start') ?? '',
    stale: attrOf(root, 'stale') ?? '',
    point: readPoint(parts.point === undefined ? undefined : elements[parts.point]!),
    detailXml,
    callsign,
    endpoint,
    dest,
    xml
  }
}

/** The scanner's errors as the parse errors callers count. */
function scanEvent(text: string): ScannedElement[] {
  try {
    return scanXml(text)
  } catch (error) {
    if (error instanceof XmlLimitError) throw new CotLimitError(error.message)
    if (error instanceof XmlSyntaxError) throw new CotParseError(error.message)
    throw error
  }
}

function readPoint(pointElement: ScannedElement | undefined): CotPoint {
  return {
    lat: numberOr(pointElement && attrOf(pointElement, 'lat'), 0),
    lon: numberOr(pointElement && attrOf(pointElement, 'lon'), 0),
    hae: numberOr(pointElement && attrOf(pointElement, 'hae'), UNKNOWN_METRIC),
    ce: numberOr(pointElement && attrOf(pointElement, 'ce'), UNKNOWN_METRIC),
    le: numberOr(pointElement && attrOf(pointElement, 'le'), UNKNOWN_METRIC)
  }
}

/** Adds the targets of the `<dest>` elements to `dest`; returns the text ranges of those that named any, to cut out. */
function readDests(elements: ScannedElement[], destIndexes: number[], dest: CotEvent['dest']): [number, number][] {
  const destRanges: [number, number][] = []
  for (const destIndex of destIndexes) {
    const element = elements[destIndex]!
    // One pass over the attributes (up to MAX_ATTRIBUTES of them), the first of each name as attrOf reads it.
    let destCallsign: string | undefined
    let destUid: string | undefined
    let mission: string | undefined
    let group: string | undefined
    let scope: string | undefined
    for (const [name, value] of element.attrs) {
      if (name === 'callsign') destCallsign ??= value
      else if (name === 'uid') destUid ??= value
      else if (isScopeAttribute(name)) {
        if (name === 'mission') mission ??= value
        if (name === 'group') group ??= value
        if (scope === undefined || SCOPE_ATTRIBUTES.indexOf(name) < SCOPE_ATTRIBUTES.indexOf(scope as ScopeAttribute)) scope = name
      }
    }
    if (destCallsign === undefined && destUid === undefined && scope === undefined) continue
    if (destCallsign !== undefined) dest.callsigns.push(destCallsign)
    if (destUid !== undefined) dest.uids.push(destUid)
    // Everyone on a network shares TAK's default group, so naming it narrows nothing; any other scope does.
    if (scope !== undefined && !(scope === 'group' && group === ANON_GROUP)) dest.scoped = true
    if (mission) (dest.missions ??= []).push(mission)
    destRanges.push([element.start, element.end])
  }
  return destRanges
}

/** The bytes XML receivers get and the detail's XML, with the dest elements cut out of both. */
function eventBytes(
  bytes: Buffer,
  text: string,
  elements: ScannedElement[],
  detailIndex: number | undefined,
  destRanges: [number, number][]
): { xml: Buffer; detailXml: string } {
  const root = elements[0]!
  // Rewrite once: cut the dest elements out of the text (they are not nested in each other).
  let xmlText = text.slice(root.start, root.end)
  // A framed event is often a slice of a large socket chunk; copy it so a kept event (latest positions) does not pin the chunk.
  const unchanged = root.start === 0 && root.end === text.length
  const pinsChunk = bytes.buffer.byteLength > Math.max(16_384, bytes.length * 4)
  let xml = unchanged ? (pinsChunk ? Buffer.from(bytes) : bytes) : Buffer.from(xmlText)
  let detailXml = ''
  if (detailIndex !== undefined) {
    const detail = elements[detailIndex]!
    let removedInDetail = 0
    if (destRanges.length > 0) {
      let rewritten = ''
      let at = root.start
      for (const [start, end] of destRanges) {
        rewritten += text.slice(at, start)
        removedInDetail += end - start
        at = end
      }
      rewritten += text.slice(at, root.end)
      xmlText = rewritten
      xml = Buffer.from(rewritten)
    }
    detailXml = xmlText.slice(detail.start - root.start, detail.end - root.start - removedInDetail)
  }
  return { xml, detailXml }
}

/** True for a situational-awareness report (a device's own position): uid + contact callsign + endpoint, `a-` type. */
export function isPositionReport(event: CotEvent): boolean {
  return event.type.startsWith('a-') && event.callsign !== null && Boolean(event.endpoint)
}

/** True when the event is a direct message (has `<marti><dest>` targets, or a scope only they may pass). */
export function isDirect(event: CotEvent): boolean {
  return event.dest.callsigns.length > 0 || event.dest.uids.length > 0 || event.dest.scoped === true
}

/** Up to this many names a receiver is looked up in the dest arrays; past it, in Sets built once per event. */
const LINEAR_DEST_LOOKUP = 8
const destSets = new WeakMap<CotEvent['dest'], { callsigns: Set<string>; uids: Set<string> }>()

/**
 * True when the event's dest names this receiver's callsign or uid. A direct message may name thousands: searching
 * the arrays once per receiver cost names × receivers.
 */
export function namesReceiver(dest: CotEvent['dest'], callsign: string | null, uid: string | null): boolean {
  if (dest.callsigns.length + dest.uids.length <= LINEAR_DEST_LOOKUP) {
    return (callsign !== null && dest.callsigns.includes(callsign)) || (uid !== null && dest.uids.includes(uid))
  }
  let sets = destSets.get(dest)
  if (!sets) {
    sets = { callsigns: new Set(dest.callsigns), uids: new Set(dest.uids) }
    destSets.set(dest, sets)
  }
  return (callsign !== null && sets.callsigns.has(callsign)) || (uid !== null && sets.uids.has(uid))
}
