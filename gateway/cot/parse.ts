// Parse one framed CoT event once into a CotEvent: the header fields routing needs, the detail as XML, and the bytes
// XML receivers get (the original bytes, or once-rewritten bytes when `<marti><dest>` elements had to be removed).

import type { CotEvent, CotPoint } from './event.ts'
import { attrOf, scanXml, XmlSyntaxError, type ScannedElement } from './xml-scan.ts'
import { hasDeclaration } from './framer.ts'

export class CotParseError extends Error {}

/** hae/ce/le for "unknown" (spec §1.5). */
export const UNKNOWN_METRIC = 999999

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
const ANON_GROUP = '__ANON__'

function childrenOf(elements: ScannedElement[], parent: number, name: string): number[] {
  const found: number[] = []
  for (let i = parent + 1; i < elements.length; i++) {
    const element = elements[i]!
    if (element.parent === parent && element.name === name) found.push(i)
  }
  return found
}

/** Parse a complete `<event>…</event>` (an XML declaration or whitespace around it is tolerated). Throws CotParseError. */
export function parseEvent(bytes: Buffer): CotEvent {
  if (hasDeclaration(bytes)) throw new CotParseError('Declarations are not accepted')
  const text = bytes.toString('utf8')
  let elements: ScannedElement[]
  try {
    elements = scanXml(text)
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw new CotParseError(error.message)
    throw error
  }
  const root = elements[0]!
  if (root.name !== 'event') throw new CotParseError('The root element is not <event>')
  const uid = attrOf(root, 'uid')
  const type = attrOf(root, 'type')
  if (!uid || !type) throw new CotParseError('The event has no uid or type')

  const pointIndex = childrenOf(elements, 0, 'point')[0]
  const pointElement = pointIndex === undefined ? undefined : elements[pointIndex]!
  const point: CotPoint = {
    lat: numberOr(pointElement && attrOf(pointElement, 'lat'), 0),
    lon: numberOr(pointElement && attrOf(pointElement, 'lon'), 0),
    hae: numberOr(pointElement && attrOf(pointElement, 'hae'), UNKNOWN_METRIC),
    ce: numberOr(pointElement && attrOf(pointElement, 'ce'), UNKNOWN_METRIC),
    le: numberOr(pointElement && attrOf(pointElement, 'le'), UNKNOWN_METRIC)
  }

  let callsign: string | null = null
  let endpoint: string | null = null
  const dest: CotEvent['dest'] = { callsigns: [], uids: [] }
  const destRanges: [number, number][] = []
  const detailIndex = childrenOf(elements, 0, 'detail')[0]
  if (detailIndex !== undefined) {
    const contactIndex = childrenOf(elements, detailIndex, 'contact')[0]
    if (contactIndex !== undefined) {
      const contact = elements[contactIndex]!
      callsign = attrOf(contact, 'callsign') ?? null
      endpoint = attrOf(contact, 'endpoint') ?? null
    }
    for (const martiIndex of childrenOf(elements, detailIndex, 'marti')) {
      for (const destIndex of childrenOf(elements, martiIndex, 'dest')) {
        const element = elements[destIndex]!
        const destCallsign = attrOf(element, 'callsign')
        const destUid = attrOf(element, 'uid')
        const scope = SCOPE_ATTRIBUTES.find((name) => attrOf(element, name) !== undefined)
        if (destCallsign === undefined && destUid === undefined && scope === undefined) continue
        if (destCallsign !== undefined) dest.callsigns.push(destCallsign)
        if (destUid !== undefined) dest.uids.push(destUid)
        // Everyone on a network shares TAK's default group, so naming it narrows nothing; any other scope does.
        if (scope !== undefined && !(scope === 'group' && attrOf(element, 'group') === ANON_GROUP)) dest.scoped = true
        const mission = attrOf(element, 'mission')
        if (mission) (dest.missions ??= []).push(mission)
        destRanges.push([element.start, element.end])
      }
    }
  }

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

  return {
    uid,
    type,
    how: attrOf(root, 'how') ?? '',
    time: attrOf(root, 'time') ?? '',
    start: attrOf(root, 'start') ?? '',
    stale: attrOf(root, 'stale') ?? '',
    point,
    detailXml,
    callsign,
    endpoint,
    dest,
    xml
  }
}

/** True for a situational-awareness report (a device's own position): uid + contact callsign + endpoint, `a-` type. */
export function isPositionReport(event: CotEvent): boolean {
  return event.type.startsWith('a-') && event.callsign !== null && Boolean(event.endpoint)
}

/** True when the event is a direct message (has `<marti><dest>` targets, or a scope only they may pass). */
export function isDirect(event: CotEvent): boolean {
  return event.dest.callsigns.length > 0 || event.dest.uids.length > 0 || event.dest.scoped === true
}
