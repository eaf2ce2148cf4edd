// TAK protocol v1: our takmessage.proto loaded with protobufjs, CotEvent <-> TakMessage conversion, and the encoded
// stream frame cached per event so a protobuf receiver costs one conversion per event, not one per receiver.

import path from 'node:path'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import type { CotEvent } from './event.ts'
import { frameTakMessage } from './framer.ts'
import { parseEvent } from './parse.ts'
import { attrOf, escapeAttr, scanXml, type ScannedElement } from './xml-scan.ts'

const PROTO_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'proto', 'takmessage.proto')
const root = protobuf.loadSync(PROTO_FILE)
const TakMessageType = root.lookupType('atakmap.commoncommo.protobuf.v1.TakMessage')

export interface TakContactProto {
  endpoint?: string
  callsign?: string
}
export interface TakDetailProto {
  xmlDetail?: string
  contact?: TakContactProto
  group?: { name?: string; role?: string }
  precisionLocation?: { geopointsrc?: string; altsrc?: string }
  status?: { battery?: number }
  takv?: { device?: string; platform?: string; os?: string; version?: string }
  track?: { speed?: number; course?: number }
}
export interface TakCotEventProto {
  type?: string
  access?: string
  qos?: string
  opex?: string
  uid?: string
  sendTime?: number
  startTime?: number
  staleTime?: number
  how?: string
  lat?: number
  lon?: number
  hae?: number
  ce?: number
  le?: number
  detail?: TakDetailProto
  caveat?: string
  /** The XML attribute is spelled releasableTo. */
  releaseableTo?: string
}
export interface TakMessageProto {
  takControl?: { minProtoVersion?: number; maxProtoVersion?: number; contactUid?: string }
  cotEvent?: TakCotEventProto
  submissionTime?: number
  creationTime?: number
}

const isDecimal = (value: string): boolean => /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.trim())

type TypedKey = Exclude<keyof TakDetailProto, 'xmlDetail'>

/**
 * Detail elements with a typed field: the attributes its message holds, which of them it needs, and how a value is
 * read. Spec tak-devices.md §1.5 "an element goes either fully into its typed field or fully into xmlDetail"; TAK's
 * .proto files: "All items are required unless otherwise noted! ... if they are missing on send, the conversion ...
 * will be rejected and fall back to opaque XML representation", and only Contact notes "Endpoint is optional".
 */
const TYPED: Record<string, { key: TypedKey; attrs: string[]; optional?: string[]; value?: (raw: string) => number | null }> = {
  contact: { key: 'contact', attrs: ['endpoint', 'callsign'], optional: ['endpoint'] },
  __group: { key: 'group', attrs: ['name', 'role'] },
  precisionlocation: { key: 'precisionLocation', attrs: ['geopointsrc', 'altsrc'] },
  // uint32 in the .proto; commo reads and writes it as 0..INT_MAX
  status: { key: 'status', attrs: ['battery'], value: (raw) => (/^\d+$/.test(raw) && Number(raw) <= 0x7fffffff ? Number(raw) : null) },
  takv: { key: 'takv', attrs: ['device', 'platform', 'os', 'version'] },
  track: { key: 'track', attrs: ['speed', 'course'], value: (raw) => (isDecimal(raw) && Number.isFinite(Number(raw)) ? Number(raw) : null) }
}
const TYPED_ELEMENT_OF: Record<TypedKey, string> = {
  contact: 'contact',
  group: '__group',
  precisionLocation: 'precisionlocation',
  status: 'status',
  takv: 'takv',
  track: 'track'
}

/**
 * The typed form of a detail child, or null when it must travel whole in xmlDetail: the message must represent it
 * completely (§1.5), so every attribute the message needs is there and non-empty (proto3 cannot tell "" from absent),
 * the element has no other attribute, and no content (children, text, comments).
 */
function typedField(text: string, element: ScannedElement): { key: TypedKey; value: Record<string, string | number> } | null {
  if (!Object.hasOwn(TYPED, element.name) || text.slice(element.contentStart, element.contentEnd).trim() !== '') return null
  const spec = TYPED[element.name]!
  const value: Record<string, string | number> = {}
  for (const [name, raw] of element.attrs) {
    if (!spec.attrs.includes(name) || raw === '') return null
    const typed = spec.value ? spec.value(raw) : raw
    if (typed === null) return null
    value[name] = typed
  }
  for (const name of spec.attrs) if (!Object.hasOwn(value, name) && !spec.optional?.includes(name)) return null
  return { key: spec.key, value }
}

function millis(iso: string): number {
  const ms = Date.parse(iso)
  return Number.isFinite(ms) && ms > 0 ? ms : 0
}

/** CotEvent -> TakMessage fields (scans the event's XML once more; callers cache through protoFrameOf). */
export function toTakMessage(event: CotEvent): TakMessageProto {
  const text = event.xml.toString('utf8')
  const elements = scanXml(text)
  const rootElement = elements[0]!
  const detail: TakDetailProto = {}
  let xmlDetail = ''
  const detailIndex = elements.findIndex((e) => e.parent === 0 && e.name === 'detail')
  if (detailIndex !== -1) {
    const children = elements.filter((e) => e.parent === detailIndex)
    // TAK's detail.proto: "If the same child element appears more times than an associated message field(s) is
    // intended to encompass ... do not remove the element(s) in question and do not populate the message equivalent."
    const count = new Map<string, number>()
    for (const child of children) count.set(child.name, (count.get(child.name) ?? 0) + 1)
    for (const child of children) {
      const typed = count.get(child.name) === 1 ? typedField(text, child) : null
      if (typed) (detail as Record<string, unknown>)[typed.key] = typed.value
      else xmlDetail += text.slice(child.start, child.end)
    }
  }
  if (xmlDetail !== '') detail.xmlDetail = xmlDetail
  const cotEvent: TakCotEventProto = {
    type: event.type,
    uid: event.uid,
    how: event.how,
    sendTime: millis(event.time),
    startTime: millis(event.start),
    staleTime: millis(event.stale),
    lat: event.point.lat,
    lon: event.point.lon,
    hae: event.point.hae,
    ce: event.point.ce,
    le: event.point.le
  }
  for (const name of ['access', 'qos', 'opex', 'caveat'] as const) {
    const value = attrOf(rootElement, name)
    if (value) cotEvent[name] = value
  }
  const releasableTo = attrOf(rootElement, 'releasableTo')
  if (releasableTo) cotEvent.releaseableTo = releasableTo
  if (detailIndex !== -1) cotEvent.detail = detail
  return { cotEvent }
}

export function encodeTakMessage(message: TakMessageProto): Uint8Array {
  return TakMessageType.encode(TakMessageType.fromObject(message)).finish()
}

export function decodeTakMessage(payload: Uint8Array): TakMessageProto {
  return TakMessageType.toObject(TakMessageType.decode(payload), { longs: Number, defaults: false }) as TakMessageProto
}

const isoOf = (ms: number | undefined): string => new Date(ms && ms > 0 ? ms : Date.now()).toISOString()

function attrsXml(values: Record<string, unknown>, order: string[]): string {
  let out = ''
  for (const name of order) {
    const value = values[name]
    if (value === undefined || value === null || value === '') continue
    out += ` ${name}="${escapeAttr(String(value))}"`
  }
  return out
}

/** Numbers a typed detail element always carries: proto3 leaves out a zero, which still means 0 (a unit at rest). */
const NUMERIC_ATTRS: Partial<Record<TypedKey, string[]>> = { status: ['battery'], track: ['speed', 'course'] }

/**
 * TakMessage's cotEvent -> the XML bytes and a CotEvent, built once on arrival. Throws on an invalid event. Proto3
 * sends no zero, so a number that is absent is 0, as TAK Server's own conversion writes it (hae 0 is sea level, not
 * "unknown": unknown travels as 999999 itself).
 */
export function fromTakCotEvent(cot: TakCotEventProto): CotEvent {
  const detail = cot.detail
  let detailXml = ''
  if (detail) {
    const inXml = namesInXmlDetail(detail.xmlDetail)
    for (const key of Object.keys(TYPED_ELEMENT_OF) as TypedKey[]) {
      const value = detail[key]
      if (!value) continue
      const name = TYPED_ELEMENT_OF[key]
      // TAK's detail.proto: when xmlDetail holds the element too, the typed field is ignored (never two copies).
      if (inXml.has(name)) continue
      const withZeros: Record<string, unknown> = { ...value }
      for (const attr of NUMERIC_ATTRS[key] ?? []) withZeros[attr] ??= 0
      detailXml += `<${name}${attrsXml(withZeros, TYPED[name]!.attrs)}/>`
    }
    detailXml += detail.xmlDetail ?? ''
  }
  const num = (n: number | undefined): number => (typeof n === 'number' && Number.isFinite(n) ? n : 0)
  const xml =
    `<event version="2.0"${attrsXml({ ...cot, releasableTo: cot.releaseableTo }, ['uid', 'type', 'how', 'access', 'qos', 'opex', 'caveat', 'releasableTo'])}` +
    ` time="${isoOf(cot.sendTime)}" start="${isoOf(cot.startTime)}" stale="${isoOf(cot.staleTime)}">` +
    `<point lat="${num(cot.lat)}" lon="${num(cot.lon)}" hae="${num(cot.hae)}" ce="${num(cot.ce)}" le="${num(cot.le)}"/>` +
    (detail ? `<detail>${detailXml}</detail>` : '') +
    '</event>'
  return parseEvent(Buffer.from(xml))
}

/** Names of the top-level elements of an xmlDetail (the inner XML of <detail>); none when it is empty or not XML. */
function namesInXmlDetail(xmlDetail: string | undefined): Set<string> {
  if (!xmlDetail || !Object.values(TYPED_ELEMENT_OF).some((name) => xmlDetail.includes(`<${name}`))) return new Set()
  try {
    return new Set(
      scanXml(`<detail>${xmlDetail}</detail>`)
        .filter((e) => e.parent === 0)
        .map((e) => e.name)
    )
  } catch {
    return new Set() // parseEvent refuses the whole event below
  }
}

const frames = new WeakMap<CotEvent, Buffer>()

/** The event as one protobuf stream frame (0xBF + varint + TakMessage), encoded at most once per event. */
export function protoFrameOf(event: CotEvent): Buffer {
  let frame = frames.get(event)
  if (!frame) {
    frame = frameTakMessage(encodeTakMessage(toTakMessage(event)))
    frames.set(event, frame)
  }
  return frame
}
