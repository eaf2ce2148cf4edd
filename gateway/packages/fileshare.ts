// Fileshare CoT (`b-f-t-r`, "here is a data package, fetch it from senderUrl"): reading its <fileshare> element,
// pointing senderUrl at our Marti API on the address a receiving device uses, and building one (TAK's layout).

import type { CotEvent } from '../cot/event.ts'
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

const FILESHARE_ELEMENT = /<fileshare\b([^>]*?)\/?>/

export function isFileshare(event: Pick<CotEvent, 'type'>): boolean {
  return event.type === FILESHARE_TYPE
}

/** The <fileshare> of a b-f-t-r event, or null when there is none or it names no SHA-256. */
export function parseFileshare(event: Pick<CotEvent, 'type' | 'detailXml'>): Fileshare | null {
  if (!isFileshare(event)) return null
  const m = FILESHARE_ELEMENT.exec(event.detailXml)
  if (!m) return null
  const attrs = parseAttributes(m[1] ?? '')
  const sha256 = (attrs.sha256 ?? '').toLowerCase()
  if (!SHA256_HEX.test(sha256)) return null
  const size = Number(attrs.sizeInBytes)
  return {
    sha256,
    filename: attrs.filename ?? '',
    name: attrs.name ?? attrs.filename ?? '',
    senderUrl: attrs.senderUrl ?? '',
    sizeInBytes: Number.isSafeInteger(size) && size >= 0 ? size : -1,
    senderUid: attrs.senderUid ?? '',
    senderCallsign: attrs.senderCallsign ?? ''
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
  const replace = (xml: string): string =>
    xml.replace(FILESHARE_ELEMENT, (element) => {
      const escaped = escapeAttr(url)
      if (/\ssenderUrl\s*=/.test(element)) return element.replace(/(\ssenderUrl\s*=\s*)("[^"]*"|'[^']*')/, `$1"${escaped}"`)
      return element.replace(/^<fileshare\b/, `<fileshare senderUrl="${escaped}"`)
    })
  return { ...event, detailXml: replace(event.detailXml), xml: Buffer.from(replace(event.xml.toString('utf8')), 'utf8') }
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
  const detailXml =
    `<detail><fileshare filename="${escapeAttr(spec.filename)}" senderUrl="${escapeAttr(spec.senderUrl)}" ` +
    `sizeInBytes="${spec.sizeInBytes}" sha256="${spec.sha256}" senderUid="${escapeAttr(spec.senderUid)}" ` +
    `senderCallsign="${escapeAttr(spec.senderCallsign)}" name="${escapeAttr(spec.name)}"/></detail>`
  const point = { lat: 0, lon: 0, hae: 9999999, ce: 9999999, le: 9999999 }
  const xml =
    `<event version="2.0" uid="${spec.sha256}" type="${FILESHARE_TYPE}" how="h-e" time="${time}" start="${time}" stale="${stale}">` +
    `<point lat="0" lon="0" hae="9999999" ce="9999999" le="9999999"/>${detailXml}</event>`
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

function parseAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of text.matchAll(/([A-Za-z_][\w.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    out[m[1] as string] = unescapeXml(m[2] ?? m[3] ?? '')
  }
  return out
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

function unescapeXml(value: string): string {
  return value.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) => {
    if (e === 'lt') return '<'
    if (e === 'gt') return '>'
    if (e === 'quot') return '"'
    if (e === 'apos') return "'"
    if (e === 'amp') return '&'
    const code = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ''
  })
}
