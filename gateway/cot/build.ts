// Builders for the control events the gateway sends itself: pong, protocol offer and response, and the delete
// (`t-x-d-d`) other devices get when a device goes away.

import { randomUUID } from 'node:crypto'
import type { CotEvent } from './event.ts'
import { parseEvent } from './parse.ts'
import { attrOf, escapeAttr, scanXml, type ScannedElement } from './xml-scan.ts'

interface EventShape {
  uid: string
  type: string
  how: string
  staleSeconds: number
  point?: { lat: number; lon: number; hae: number; ce: number; le: number }
  detail?: string
  now?: Date
}

/** Serialise and parse once, so a built event has exactly the shape of a received one. */
export function buildEvent(shape: EventShape): CotEvent {
  const now = shape.now ?? new Date()
  const time = now.toISOString()
  const stale = new Date(now.getTime() + shape.staleSeconds * 1000).toISOString()
  const p = shape.point ?? { lat: 0, lon: 0, hae: 0, ce: 999999, le: 999999 }
  const xml =
    `<event version="2.0" uid="${escapeAttr(shape.uid)}" type="${escapeAttr(shape.type)}" how="${escapeAttr(shape.how)}" ` +
    `time="${time}" start="${time}" stale="${stale}">` +
    `<point lat="${p.lat}" lon="${p.lon}" hae="${p.hae}" ce="${p.ce}" le="${p.le}"/>` +
    (shape.detail === undefined ? '' : `<detail>${shape.detail}</detail>`) +
    '</event>'
  return parseEvent(Buffer.from(xml))
}

/** Answer to a ping (`t-x-c-t`), sent only to the pinging connection. */
export function pongEvent(now?: Date): CotEvent {
  return buildEvent({
    uid: 'takPong',
    type: 't-x-c-t-r',
    how: 'h-g-i-g-o',
    staleSeconds: 20,
    point: { lat: 0, lon: 0, hae: 0, ce: 9999999, le: 9999999 },
    now
  })
}

/** The server's offer of TAK protocol v1, sent once when a connection is up. */
export function protocolOfferEvent(serverVersion = 'fedgate', now?: Date): CotEvent {
  return buildEvent({
    uid: randomUUID(),
    type: 't-x-takp-v',
    how: 'm-g',
    staleSeconds: 60,
    detail: `<TakControl><TakProtocolSupport version="1"/><TakServerVersionInfo serverVersion="${escapeAttr(serverVersion)}" apiVersion="3"/></TakControl>`,
    now
  })
}

/** The client's request for a protocol version (what our test client sends). */
export function protocolRequestEvent(uid: string, version = 1, now?: Date): CotEvent {
  return buildEvent({
    uid,
    type: 't-x-takp-q',
    how: 'm-g',
    staleSeconds: 60,
    detail: `<TakControl><TakRequest version="${version}"/></TakControl>`,
    now
  })
}

/** The server's answer to a protocol request; after `true` both directions switch to protobuf. */
export function protocolResponseEvent(uid: string, accepted: boolean, now?: Date): CotEvent {
  return buildEvent({
    uid,
    type: 't-x-takp-r',
    how: 'm-g',
    staleSeconds: 60,
    detail: `<TakControl><TakResponse status="${accepted}"/></TakControl>`,
    now
  })
}

/** Tells other devices that `uid` (last seen with position type `type`) went away, so ATAK greys or removes it. */
export function deleteEvent(uid: string, type: string, now?: Date): CotEvent {
  return buildEvent({
    uid: randomUUID(),
    type: 't-x-d-d',
    how: 'h-g-i-g-o',
    staleSeconds: 20,
    detail: `<link uid="${escapeAttr(uid)}" relation="p-p" type="${escapeAttr(type)}"/>`,
    now
  })
}

/** The version a `t-x-takp-q` asks for, or null when the event is not a valid request. */
export function requestedProtocolVersion(event: CotEvent): number | null {
  // Read from the scanned detail, not a pattern over its text: a regular expression that spans up to the next '>'
  // cost the square of the detail's size on a comment full of "<TakRequest" (and matched inside comments).
  if (!event.detailXml.includes('TakRequest')) return null
  let elements: ScannedElement[]
  try {
    elements = scanXml(event.detailXml)
  } catch {
    return null
  }
  const request = elements.find((e) => e.name === 'TakRequest')
  const version = request && attrOf(request, 'version')
  return version !== undefined && /^\d+$/.test(version.trim()) ? Number(version) : null
}
