import { describe, expect, it } from 'vitest'
import {
  deleteEvent,
  pongEvent,
  protocolOfferEvent,
  protocolRequestEvent,
  protocolResponseEvent,
  requestedProtocolVersion
} from '../../../gateway/cot/build.ts'
import { CotParseError, isPositionReport, parseEvent } from '../../../gateway/cot/parse.ts'

const chat =
  '<?xml version="1.0"?><event version="2.0" uid="GeoChat.A.B.1" type="b-t-f" how="h-g-i-g-o" time="2026-01-01T00:00:00Z" ' +
  'start="2026-01-01T00:00:00Z" stale="2026-01-02T00:00:00Z"><point lat="0" lon="0" hae="9999999" ce="9999999" le="9999999"/>' +
  '<detail><__chat chatroom="Bravo" senderCallsign="Alpha &amp; Co"/><marti><dest callsign="Bravo"/> <dest uid="ANDROID-C"/></marti>' +
  '<remarks>hi &lt;there&gt;</remarks></detail></event>\n'

describe('CoT parser', () => {
  it('reads the header, point, contact and dest list, and removes the dest elements once', () => {
    const event = parseEvent(Buffer.from(chat))
    expect(event).toMatchObject({
      uid: 'GeoChat.A.B.1',
      type: 'b-t-f',
      how: 'h-g-i-g-o',
      time: '2026-01-01T00:00:00Z',
      stale: '2026-01-02T00:00:00Z'
    })
    expect(event.point).toEqual({ lat: 0, lon: 0, hae: 9999999, ce: 9999999, le: 9999999 })
    expect(event.dest).toEqual({ callsigns: ['Bravo'], uids: ['ANDROID-C'] })
    const xml = event.xml.toString()
    expect(xml.startsWith('<event ')).toBe(true)
    expect(xml.endsWith('</event>')).toBe(true)
    expect(xml).not.toContain('<dest')
    expect(xml).toContain('<marti> </marti>')
    expect(event.detailXml).toBe(
      '<detail><__chat chatroom="Bravo" senderCallsign="Alpha &amp; Co"/><marti> </marti><remarks>hi &lt;there&gt;</remarks></detail>'
    )
    // the rewritten bytes parse again to the same event without targets
    expect(parseEvent(event.xml).dest).toEqual({ callsigns: [], uids: [] })
  })

  it('keeps the original bytes when nothing changes', () => {
    const bytes = Buffer.from(
      '<event version="2.0" uid="u1" type="a-f-G" how="m-g" time="t" start="t" stale="t"><point lat="1" lon="2" hae="3" ce="4" le="5"/><detail><contact callsign="C1" endpoint="*:-1:stcp"/></detail></event>'
    )
    const event = parseEvent(bytes)
    expect(event.xml).toBe(bytes)
    expect(event.callsign).toBe('C1')
    expect(isPositionReport(event)).toBe(true)
  })

  it.each([
    ['unclosed element', '<event uid="a" type="b"><detail></event>'],
    ['no uid', '<event type="b"></event>'],
    ['wrong root', '<foo uid="a" type="b"></foo>'],
    ['unknown entity', '<event uid="a&bogus;" type="b"></event>'],
    ['doctype', '<!DOCTYPE x><event uid="a" type="b"></event>'],
    ['entity inside', '<event uid="a" type="b"><!ENTITY x "y"></event>'],
    ['duplicate attribute', '<event uid="a" uid="c" type="b"></event>'],
    ['two roots', '<event uid="a" type="b"></event><event uid="c" type="d"></event>']
  ])('rejects %s', (_, xml) => {
    expect(() => parseEvent(Buffer.from(xml))).toThrow(CotParseError)
  })

  it('treats __proto__ and constructor element and attribute names as plain names', () => {
    const xml =
      '<event uid="p" type="a-f-G" __proto__="x" constructor="y"><detail><__proto__ polluted="yes"><constructor prototype="1"/></__proto__>' +
      '<contact callsign="__proto__" endpoint="e"/></detail></event>'
    const event = parseEvent(Buffer.from(xml))
    expect(event.callsign).toBe('__proto__')
    expect(event.detailXml).toContain('<__proto__ polluted="yes">')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
    expect(Object.keys(Object.prototype)).toEqual([])
  })

  it('builds the control events', () => {
    const pong = pongEvent()
    expect(pong).toMatchObject({ uid: 'takPong', type: 't-x-c-t-r' })
    const offer = protocolOfferEvent()
    expect(offer.type).toBe('t-x-takp-v')
    expect(offer.detailXml).toContain('<TakProtocolSupport version="1"/>')
    const request = protocolRequestEvent(offer.uid)
    expect(requestedProtocolVersion(request)).toBe(1)
    expect(protocolResponseEvent(offer.uid, true).detailXml).toContain('<TakResponse status="true"/>')
    const gone = deleteEvent('ANDROID-1', 'a-f-G-U-C')
    expect(gone.type).toBe('t-x-d-d')
    expect(gone.detailXml).toContain('<link uid="ANDROID-1" relation="p-p" type="a-f-G-U-C"/>')
  })
})

describe('CoT parser memory', () => {
  it('copies an event framed out of a large chunk so keeping it does not keep the chunk', () => {
    const event = '<event version="2.0" uid="u1" type="a-f-G" how="m-g"><detail/></event>'
    const chunk = Buffer.concat([Buffer.from(event), Buffer.alloc(64 * 1024, 0x20)])
    const parsed = parseEvent(chunk.subarray(0, event.length))
    expect(parsed.xml.toString()).toBe(event)
    expect(parsed.xml.buffer.byteLength).toBeLessThan(64 * 1024)
  })
})
