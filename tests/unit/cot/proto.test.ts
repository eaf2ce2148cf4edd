import { describe, expect, it } from 'vitest'
import { ProtoStreamFramer } from '../../../gateway/cot/framer.ts'
import { parseEvent } from '../../../gateway/cot/parse.ts'
import { decodeTakMessage, encodeTakMessage, fromTakCotEvent, protoFrameOf, toTakMessage } from '../../../gateway/cot/proto.ts'

const pli =
  '<event version="2.0" uid="ANDROID-1" type="a-f-G-U-C" how="m-g" time="2026-01-01T00:00:00.000Z" start="2026-01-01T00:00:00.000Z" ' +
  'stale="2026-01-01T00:05:00.000Z" access="Undefined"><point lat="51.5" lon="-0.12" hae="12.5" ce="9.9" le="9999999"/><detail>' +
  '<contact endpoint="*:-1:stcp" callsign="Zoë"/><__group name="Cyan" role="Team Member"/><precisionlocation geopointsrc="GPS" altsrc="GPS"/>' +
  '<status battery="88"/><takv device="Pixel" platform="ATAK-CIV" os="34" version="5.5"/><track speed="1.5" course="270"/>' +
  '<uid Droid="Zoë"/><remarks>seq 1</remarks></detail></event>'

describe('TAK protocol v1', () => {
  it('puts each known detail element fully into its typed field and the rest into xmlDetail', () => {
    const message = toTakMessage(parseEvent(Buffer.from(pli)))
    const cot = message.cotEvent!
    expect(cot).toMatchObject({
      uid: 'ANDROID-1',
      type: 'a-f-G-U-C',
      how: 'm-g',
      access: 'Undefined',
      lat: 51.5,
      lon: -0.12,
      hae: 12.5,
      ce: 9.9,
      le: 9999999
    })
    expect(cot.sendTime).toBe(Date.parse('2026-01-01T00:00:00Z'))
    expect(cot.staleTime).toBe(Date.parse('2026-01-01T00:05:00Z'))
    expect(cot.detail).toEqual({
      contact: { endpoint: '*:-1:stcp', callsign: 'Zoë' },
      group: { name: 'Cyan', role: 'Team Member' },
      precisionLocation: { geopointsrc: 'GPS', altsrc: 'GPS' },
      status: { battery: 88 },
      takv: { device: 'Pixel', platform: 'ATAK-CIV', os: '34', version: '5.5' },
      track: { speed: 1.5, course: 270 },
      xmlDetail: '<uid Droid="Zoë"/><remarks>seq 1</remarks>'
    })
  })

  it('keeps an element with extra attributes or children whole in xmlDetail', () => {
    const xml =
      '<event uid="u" type="a-f-G" how="m-g" time="2026-01-01T00:00:00Z" start="2026-01-01T00:00:00Z" stale="2026-01-01T00:01:00Z">' +
      '<detail><contact callsign="A" endpoint="e" phone="123"/><status battery="high"/><track speed="1"><x/></track></detail></event>'
    const detail = toTakMessage(parseEvent(Buffer.from(xml))).cotEvent!.detail!
    expect(detail.contact).toBeUndefined()
    expect(detail.status).toBeUndefined()
    expect(detail.xmlDetail).toBe('<contact callsign="A" endpoint="e" phone="123"/><status battery="high"/><track speed="1"><x/></track>')
  })

  it('round-trips XML -> protobuf bytes -> XML with the same meaning', () => {
    const original = parseEvent(Buffer.from(pli))
    const frame = protoFrameOf(original)
    expect(protoFrameOf(original)).toBe(frame) // encoded once per event
    const framed = new ProtoStreamFramer().push(frame)
    expect(framed.messages).toHaveLength(1)
    const back = fromTakCotEvent(decodeTakMessage(framed.messages[0]!).cotEvent!)
    expect(back).toMatchObject({
      uid: original.uid,
      type: original.type,
      how: original.how,
      callsign: 'Zoë',
      endpoint: '*:-1:stcp',
      point: original.point
    })
    expect(Date.parse(back.time)).toBe(Date.parse(original.time))
    expect(Date.parse(back.stale)).toBe(Date.parse(original.stale))
    // a second trip gives identical protobuf
    expect(Buffer.from(encodeTakMessage(toTakMessage(back))).equals(Buffer.from(encodeTakMessage(toTakMessage(original))))).toBe(true)
    expect(back.detailXml).toContain('<uid Droid="Zoë"/><remarks>seq 1</remarks>')
  })

  it('reads an absent number as 0, as proto3 means it (a unit at rest at sea level keeps its zeros)', () => {
    const atRest = pli
      .replace('hae="12.5" ce="9.9"', 'hae="0" ce="0"')
      .replace('battery="88"', 'battery="0"')
      .replace('speed="1.5" course="270"', 'speed="0" course="0"')
    const message = toTakMessage(parseEvent(Buffer.from(atRest)))
    // A proto3 encoder (ATAK's commo, C++ protobuf) leaves every zero out; protobufjs writes what is set, so unset them.
    const cot = message.cotEvent!
    delete cot.hae
    delete cot.ce
    cot.detail!.track = {}
    cot.detail!.status = {}
    const decoded = decodeTakMessage(encodeTakMessage(message)).cotEvent!
    expect(decoded.hae).toBeUndefined()
    expect(decoded.detail!.track).toEqual({})
    const back = fromTakCotEvent(decoded)
    expect(back.point).toEqual({ lat: 51.5, lon: -0.12, hae: 0, ce: 0, le: 9999999 })
    expect(back.detailXml).toContain('<track speed="0" course="0"/>')
    expect(back.detailXml).toContain('<status battery="0"/>')
    // "Unknown" travels as the number itself.
    const unknown = fromTakCotEvent(
      decodeTakMessage(encodeTakMessage(toTakMessage(parseEvent(Buffer.from(pli.replace('hae="12.5"', 'hae="999999"')))))).cotEvent!
    )
    expect(unknown.point.hae).toBe(999999)
  })

  it('ignores a typed field whose element xmlDetail also holds, as TAK does: one contact, the XML one', () => {
    const cot = toTakMessage(parseEvent(Buffer.from(pli))).cotEvent!
    cot.detail = { ...cot.detail, contact: { callsign: 'TYPED' }, xmlDetail: '<contact callsign="XML" phone="555"/><remarks>r</remarks>' }
    const back = fromTakCotEvent(decodeTakMessage(encodeTakMessage({ cotEvent: cot })).cotEvent!)
    expect(back.detailXml.match(/<contact /g)).toHaveLength(1)
    expect(back.callsign).toBe('XML')
    // A contact only in a nested element does not count: the typed one stays.
    cot.detail = { ...cot.detail, xmlDetail: '<link><contact callsign="NESTED"/></link>' }
    expect(fromTakCotEvent(decodeTakMessage(encodeTakMessage({ cotEvent: cot })).cotEvent!).callsign).toBe('TYPED')
  })

  it("carries the security marks caveat and releasableTo (fields 16 and 17 of TAK Server's CotEvent) both ways", () => {
    const marked = pli.replace('access="Undefined"', 'access="Undefined" caveat="FOUO" releasableTo="USA GBR"')
    const cot = toTakMessage(parseEvent(Buffer.from(marked))).cotEvent!
    expect(cot).toMatchObject({ caveat: 'FOUO', releaseableTo: 'USA GBR' })
    const back = fromTakCotEvent(decodeTakMessage(encodeTakMessage({ cotEvent: cot })).cotEvent!)
    const head = back.xml.toString().slice(0, back.xml.indexOf('>'))
    expect(head).toContain('caveat="FOUO"')
    expect(head).toContain('releasableTo="USA GBR"')
  })

  it('decodes a control-only TakMessage', () => {
    const bytes = encodeTakMessage({ takControl: { minProtoVersion: 1, maxProtoVersion: 1, contactUid: 'x' } })
    expect(decodeTakMessage(bytes)).toEqual({ takControl: { minProtoVersion: 1, maxProtoVersion: 1, contactUid: 'x' } })
  })
})

describe('TAK protocol v1 against node-cot (an independent implementation)', () => {
  it("node-cot reads our TakMessage, and we read node-cot's", async () => {
    const { CoTParser } = await import('@tak-ps/node-cot')
    const ours = toTakMessage(parseEvent(Buffer.from(pli)))
    const theirs = await CoTParser.from_proto(encodeTakMessage(ours))
    const attrs = theirs.raw.event._attributes
    expect(attrs.uid).toBe('ANDROID-1')
    expect(attrs.type).toBe('a-f-G-U-C')
    expect(Date.parse(attrs.time)).toBe(Date.parse('2026-01-01T00:00:00Z'))
    expect(theirs.raw.event.detail?.contact?._attributes).toMatchObject({ callsign: 'Zoë', endpoint: '*:-1:stcp' })
    expect(theirs.raw.event.detail?.__group?._attributes).toMatchObject({ name: 'Cyan', role: 'Team Member' })

    const bytes = await CoTParser.to_proto(CoTParser.from_xml(pli))
    const back = fromTakCotEvent(decodeTakMessage(bytes).cotEvent!)
    expect(back).toMatchObject({ uid: 'ANDROID-1', type: 'a-f-G-U-C', callsign: 'Zoë', point: { lat: 51.5, lon: -0.12, hae: 12.5 } })
    expect(Date.parse(back.stale)).toBe(Date.parse('2026-01-01T00:05:00Z'))
  })
})
