// Fileshare CoT (`b-f-t-r`, "here is a data package, fetch it from senderUrl"): reading its <fileshare> element,
// pointing senderUrl at our Marti API on the address a receiving device uses, and building one (TAK's layout).

import type { CotEvent } from '../cot/event.ts'
import { attributeOf, attributes, buildXml, childElements, parseXml, type XmlNode } from '../cot/xml-doc.ts'
import { scanXml, XmlSyntaxError, type ScannedElement } from '../cot/xml-scan.ts'
import { SHA256_HEX } from './store.ts'

export const FILESHARE_TYPE = 'b-f-t-r'

export interface Fileshare {
  sha256: string
  filename: string
  name: string
  senderUrl: string
  sizeInBytes: number
  senderUid: string
  senderCallsign: string
}

export function isFileshare(event: Pick<CotEvent, 'type'>): boolean {
  return event.type === FILESHARE_TYPE
}

/** The <fileshare> of a b-f-t-r event (the first one directly in <detail>), or null when there is none or it names no SHA-256. */
export function parseFileshare(event: Pick<CotEvent, 'type' | 'detailXml'>): Fileshare | null {
  if (!isFileshare(event)) return null
  let detail: XmlNode | undefined
  try {
    detail = childElements(parseXml(event.detailXml), 'detail')[0]
  } catch (error) {
    if (error instanceof XmlSyntaxError) return null
    throw error
  }
  const element = childElements(detail, 'fileshare')[0]
  if (!element) return null
  const attr = (name: string): string | undefined => attributeOf(element, name)
  const sha256 = (attr('sha256') ?? '').toLowerCase()
  if (!SHA256_HEX.test(sha256)) return null
  const size = Number(attr('sizeInBytes'))
  return {
    sha256,
    filename: attr('filename') ?? '',
    name: attr('name') ?? attr('filename') ?? '',
    senderUrl: attr('senderUrl') ?? '',
    sizeInBytes: Number.isSafeInteger(size) && size >= 0 ? size : -1,
    senderUid: attr('senderUid') ?? '',
    senderCallsign: attr('senderCallsign') ?? ''
  }
}

/** The URL a device fetches a package from on our Marti API. `host` is a name or address ([v6] bracketed or not). */
export function martiContentUrl(host: string, port: number, sha256: string): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return `https://${h}:${port}/Marti/sync/content?hash=${sha256}`
}

/**
 * The same event with `senderUrl` pointing at our Marti API on `host` (the address the receiving device connected to).
 * Events that are not fileshares, or already point there, come back unchanged (same object).
 */
export function rewriteSenderUrl(event: CotEvent, host: string, martiPort: number): CotEvent {
  const share = parseFileshare(event)
  if (!share) return event
  const url = martiContentUrl(host, martiPort, share.sha256)
  if (share.senderUrl === url) return event
  const rewritten = withSenderUrl(event.xml.toString('utf8'), url)
  if (!rewritten) return event
  return { ...event, detailXml: rewritten.detailXml, xml: Buffer.from(rewritten.text, 'utf8') }
}

/**
 * The event text with its fileshare's senderUrl replaced (or added first), and the new <detail>; null when it has no
 * <detail><fileshare>. Only the start tag is written again: the rest of the bytes a device sent stay as they were.
 */
function withSenderUrl(text: string, url: string): { text: string; detailXml: string } | null {
  let elements: ScannedElement[]
  try {
    elements = scanXml(text)
  } catch (error) {
    if (error instanceof XmlSyntaxError) return null
    throw error
  }
  const detailIndex = elements.findIndex((e) => e.parent === 0 && e.name === 'detail')
  const share = detailIndex < 0 ? undefined : elements.find((e) => e.parent === detailIndex && e.name === 'fileshare')
  if (!share) return null
  const hasUrl = share.attrs.some(([name]) => name === 'senderUrl')
  const attrs = hasUrl
    ? share.attrs.map(([name, value]) => [name, name === 'senderUrl' ? url : value] as const)
    : [['senderUrl', url] as const, ...share.attrs]
  // The builder writes a whole element, empty here so ending in '/>': kept when the original closed itself too.
  const element = buildXml({ fileshare: attributes(attrs) })
  const startTag = share.contentStart === share.end ? element : `${element.slice(0, -2)}>`
  const result = text.slice(0, share.start) + startTag + text.slice(share.contentStart)
  const detail = elements[detailIndex]!
  const grown = startTag.length - (share.contentStart - share.start)
  return { text: result, detailXml: result.slice(detail.start, detail.end + grown) }
}

export interface FileshareSpec {
  sha256: string
  filename: string
  name: string
  sizeInBytes: number
  senderUrl: string
  senderUid: string
  senderCallsign: string
  dest?: { callsigns: string[]; uids: string[] }
  now?: Date
}

/** A b-f-t-r event as TAK Server writes one (uid = sha256, h-e, point 0/0, stale +100 s); `dest` for the router. */
export function buildFileshareEvent(spec: FileshareSpec): CotEvent {
  const now = spec.now ?? new Date()
  const time = now.toISOString()
  const stale = new Date(now.getTime() + 100_000).toISOString()
  const dest = spec.dest ?? { callsigns: [], uids: [] }
  // Recipients travel in `dest` only: like parsed events, the bytes carry no <marti><dest> (TAK removes them too).
  const detail: XmlNode = {
    fileshare: attributes([
      ['filename', spec.filename],
      ['senderUrl', spec.senderUrl],
      ['sizeInBytes', spec.sizeInBytes],
      ['sha256', spec.sha256],
      ['senderUid', spec.senderUid],
      ['senderCallsign', spec.senderCallsign],
      ['name', spec.name]
    ])
  }
  const point = { lat: 0, lon: 0, hae: 9999999, ce: 9999999, le: 9999999 }
  const header = attributes([
    ['version', '2.0'],
    ['uid', spec.sha256],
    ['type', FILESHARE_TYPE],
    ['how', 'h-e'],
    ['time', time],
    ['start', time],
    ['stale', stale]
  ])
  const detailXml = buildXml({ detail })
  const xml = buildXml({ event: { ...header, point: attributes(Object.entries(point)), detail } })
  return {
    uid: spec.sha256,
    type: FILESHARE_TYPE,
    how: 'h-e',
    time,
    start: time,
    stale,
    point,
    detailXml,
    callsign: null,
    dest: { callsigns: [...dest.callsigns], uids: [...dest.uids] },
    xml: Buffer.from(xml, 'utf8')
  }
}
