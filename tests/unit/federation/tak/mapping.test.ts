// CoT ↔ FederatedEvent mapping (spec §4): field by field, both directions, provenance, special types.

import { describe, expect, it } from 'vitest'
import { parseEvent } from '../../../../gateway/cot/parse.ts'
import { carriesOurProvenance, contactMessage, fromGeoEvent, toFederatedEvent } from '../../../../gateway/federation/tak/mapping.ts'

const us = { federateId: 'fedgate-unit', name: 'Fedgate unit' }

const PNG_BASE64 = Buffer.from('not really a png').toString('base64')

function cot(detail: string, extra = ''): ReturnType<typeof parseEvent> {
  return parseEvent(
    Buffer.from(
      `<event version="2.0" uid="ANDROID-1" type="a-f-G-U-C" how="m-g" time="2026-01-02T03:04:05.123Z" start="2026-01-02T03:04:05.123Z" ` +
        `stale="2026-01-02T03:06:05.000Z"${extra}><point lat="34.5" lon="-117.25" hae="120.5" ce="9.9" le="15"/>${detail}</event>`
    )
  )
}

describe('CoT → FederatedEvent', () => {
  it('fills the GeoEvent header and point fields', () => {
    const fe = toFederatedEvent(
      cot('<detail><contact callsign="ALPHA"/></detail>', ' access="Unclassified" caveat="FOUO" releasableTo="USA"'),
      us
    )!
    const geo = fe.event!
    expect(geo.uid).toBe('ANDROID-1')
    expect(geo.type).toBe('a-f-G-U-C')
    expect(geo.coordSource).toBe('m-g')
    expect(geo.sendTime).toBe(Date.parse('2026-01-02T03:04:05.123Z'))
    expect(geo.startTime).toBe(Date.parse('2026-01-02T03:04:05.123Z'))
    expect(geo.staleTime).toBe(Date.parse('2026-01-02T03:06:05.000Z'))
    expect([geo.lat, geo.lon, geo.hae, geo.ce, geo.le]).toEqual([34.5, -117.25, 120.5, 9.9, 15])
    expect([geo.access, geo.caveat, geo.releaseableTo]).toEqual(['Unclassified', 'FOUO', 'USA'])
    expect(geo.other).toBe('<detail><contact callsign="ALPHA"/></detail>')
  })

  it('moves track, status battery, precisionlocation and image out of the detail and keeps flow tags', () => {
    const detail =
      '<detail><contact callsign="ALPHA"/><track speed="3.5" course="271.25"/><status battery="87"/>' +
      '<precisionlocation geopointsrc="GPS" altsrc="DTED0"/><_flow-tags_ TAK-Server-abc="2026-01-02T03:04:05Z"/>' +
      `<image mime="image/png">${PNG_BASE64}</image></detail>`
    const geo = toFederatedEvent(cot(detail), us)!.event!
    expect(geo.speed).toBe(3.5)
    expect(geo.course).toBe(271.25)
    expect(geo.battery).toBe(87)
    expect(geo.ploc).toBe('GPS')
    expect(geo.palt).toBe('DTED0')
    expect(Buffer.from(geo.binary!.data).toString()).toBe('not really a png')
    expect(geo.binary!.type).toBe('IMAGE')
    expect(geo.other).toBe(
      '<detail><contact callsign="ALPHA"/><_flow-tags_ TAK-Server-abc="2026-01-02T03:04:05Z"/><image mime="image/png"></image></detail>'
    )
  })

  it('keeps a status with readiness and a track lacking course in the detail', () => {
    const geo = toFederatedEvent(cot('<detail><track speed="2"/><status battery="50" readiness="true"/></detail>'), us)!.event!
    expect(geo.other).toBe('<detail><track speed="2"/><status battery="50" readiness="true"/></detail>')
    expect(geo.speed).toBe(0)
    expect(geo.battery ?? 0).toBe(0)
  })

  it('stamps our provenance and one hop', () => {
    const fe = toFederatedEvent(cot('<detail/>'), us)!
    expect(fe.federateProvenance).toEqual([{ federationServerId: 'fedgate-unit', federationServerName: 'Fedgate unit' }])
    expect(fe.federateHops).toEqual({ currentHops: 1, maxHops: -1 })
    expect(carriesOurProvenance(fe, 'fedgate-unit')).toBe(true)
    expect(carriesOurProvenance(fe, 'someone-else')).toBe(false)
  })

  it('puts direct-message destinations in ptpUids/ptpCallsigns (and not in other)', () => {
    const fe = toFederatedEvent(cot('<detail><marti><dest callsign="BRAVO"/><dest uid="U-2"/></marti><remarks>hi</remarks></detail>'), us)!
    expect(fe.event!.ptpCallsigns).toEqual(['BRAVO'])
    expect(fe.event!.ptpUids).toEqual(['U-2'])
    expect(fe.event!.other).not.toContain('dest')
  })

  it('turns t-x-d-d into a contact DELETE and skips mission change notices', () => {
    const del = parseEvent(
      Buffer.from(
        '<event version="2.0" uid="d1" type="t-x-d-d" how="h-g-i-g-o" time="2026-01-02T03:04:05Z" start="2026-01-02T03:04:05Z" stale="2026-01-02T03:05:05Z">' +
          '<point lat="0" lon="0" hae="0" ce="999999" le="999999"/><detail><link uid="ANDROID-9" type="a-f-G-U-C" relation="p-p"/></detail></event>'
      )
    )
    expect(toFederatedEvent(del, us)!.contact).toMatchObject({ operation: 'DELETE', uid: 'ANDROID-9', callsign: 'a-f-G-U-C' })
    expect(toFederatedEvent({ ...cot('<detail/>'), type: 't-x-m-c' }, us)).toBeNull()
  })

  it('builds stamped contact messages', () => {
    expect(contactMessage('CREATE', 'U-1', 'ALPHA', us)).toMatchObject({
      contact: { operation: 'CREATE', uid: 'U-1', callsign: 'ALPHA' },
      federateProvenance: [{ federationServerId: 'fedgate-unit' }]
    })
  })
})

describe('FederatedEvent → CoT', () => {
  const base = {
    sendTime: Date.parse('2026-01-02T03:04:05.000Z'),
    startTime: Date.parse('2026-01-02T03:04:06.000Z'),
    staleTime: Date.parse('2026-01-02T03:09:05.000Z'),
    lat: 51.5,
    lon: -0.125,
    hae: 11,
    ce: 5,
    le: 7,
    uid: 'TAK-1',
    type: 'a-h-G',
    coordSource: 'h-e',
    speed: 4,
    course: 90
  }

  it('rebuilds header, point and detail, appending track from speed/course', () => {
    const event = fromGeoEvent({
      ...base,
      other: '<detail><contact callsign="TANGO"/><_flow-tags_ TAK-Server-x="t"/></detail>',
      access: 'A',
      caveat: 'C',
      releaseableTo: 'R'
    })!
    expect(event.uid).toBe('TAK-1')
    expect(event.type).toBe('a-h-G')
    expect(event.how).toBe('h-e')
    expect(event.time).toBe('2026-01-02T03:04:05.000Z')
    expect(event.start).toBe('2026-01-02T03:04:06.000Z')
    expect(event.stale).toBe('2026-01-02T03:09:05.000Z')
    expect(event.point).toEqual({ lat: 51.5, lon: -0.125, hae: 11, ce: 5, le: 7 })
    expect(event.callsign).toBe('TANGO')
    expect(event.detailXml).toBe(
      '<detail><contact callsign="TANGO"/><_flow-tags_ TAK-Server-x="t"/><track speed="4" course="90"/></detail>'
    )
    const xml = event.xml.toString()
    expect(xml).toContain('access="A"')
    expect(xml).toContain('caveat="C"')
    expect(xml).toContain('releasableTo="R"')
  })

  it('restores battery, precision location and image, and turns ptp fields into dest', () => {
    const event = fromGeoEvent({
      ...base,
      other: '<detail><image mime="image/png"/></detail>',
      battery: 42,
      ploc: 'GPS',
      palt: 'DTED2',
      binary: { type: 'IMAGE', data: Buffer.from('img') },
      ptpCallsigns: ['ALPHA'],
      ptpUids: ['U-7']
    })!
    expect(event.detailXml).toContain(`<image mime="image/png">${Buffer.from('img').toString('base64')}</image>`)
    expect(event.detailXml).toContain('<status battery="42"/>')
    expect(event.detailXml).toContain('<precisionlocation geopointsrc="GPS" altsrc="DTED2"/>')
    expect(event.dest).toEqual({ callsigns: ['ALPHA'], uids: ['U-7'] })
  })

  it("sends a device's mission destinations as missionNames, beside its ptp recipients", () => {
    const geo = toFederatedEvent(
      cot('<detail><marti><dest mission="Op North"/><dest callsign="HQ-1"/></marti><remarks>m</remarks></detail>'),
      us
    )!.event!
    expect(geo).toMatchObject({ missionNames: ['Op North'], ptpCallsigns: ['HQ-1'], ptpUids: [] })
    expect(geo.other).not.toContain('<dest')
  })

  it('an event for a mission is for its subscribers: none here, so only ptp recipients named with it get it', () => {
    const forMission = fromGeoEvent({ ...base, other: '<detail><remarks>m</remarks></detail>', missionNames: ['Op North'] })!
    expect(forMission.dest).toEqual({ callsigns: [], uids: [], scoped: true, missions: ['Op North'] })
    expect(forMission.xml.toString()).not.toContain('<dest')
    const alsoNamed = fromGeoEvent({ ...base, other: '', missionNames: ['Op North'], ptpCallsigns: ['ALPHA'] })!
    expect(alsoNamed.dest).toEqual({ callsigns: ['ALPHA'], uids: [], scoped: true, missions: ['Op North'] })
  })

  it('has no detail when other is empty or not XML, and refuses events without uid', () => {
    expect(fromGeoEvent({ ...base, other: '' })!.detailXml).toBe('')
    expect(fromGeoEvent({ ...base, other: '<detail><broken>' })!.detailXml).toBe('')
    expect(fromGeoEvent({ ...base, uid: '' })).toBeNull()
  })

  it('survives a round trip through our own mapping', () => {
    const original = cot(
      '<detail><contact callsign="ALPHA" endpoint="*:-1:stcp"/><track speed="1.5" course="45"/><__group name="Cyan" role="Team Member"/></detail>'
    )
    const back = fromGeoEvent(toFederatedEvent(original, us)!.event!)!
    expect(back.uid).toBe(original.uid)
    expect(back.point).toEqual(original.point)
    expect(back.callsign).toBe('ALPHA')
    expect(back.detailXml).toBe(
      '<detail><contact callsign="ALPHA" endpoint="*:-1:stcp"/><__group name="Cyan" role="Team Member"/><track speed="1.5" course="45"/></detail>'
    )
  })

  it('builds the same event that parsing its own bytes gives (it is built without a second parse)', () => {
    const cases = [
      {
        ...base,
        other: '<detail><contact callsign="ALPHA" endpoint="*:-1:stcp"/><uid Droid="ALPHA"/></detail>',
        speed: 1.25,
        course: 90,
        battery: 80
      },
      { ...base, other: '' },
      { ...base, other: '<detail/>', ploc: 'GPS', palt: 'DTED0', lat: -0, hae: Number.NaN },
      {
        ...base,
        other: '<detail><contact callsign="A &amp; B"/><image mime="image/png"/></detail>',
        binary: { type: 'IMAGE' as const, data: Buffer.from('png') }
      },
      { ...base, uid: 'odd & "uid"', other: '<detail><contact callsign="X"/></detail>' },
      { ...base, other: '<detail><!-- note --><contact callsign="D"/></detail>', access: 'Unclassified' },
      { ...base, other: '<detail><contact callsign="E"/></detail>', missionNames: ['m1'] }
    ]
    for (const geo of cases) {
      const built = fromGeoEvent(geo)!
      // A mission scope is not in the bytes (dest elements are removed once read), so parsing them again lacks it.
      const { scoped, missions, ...dest } = built.dest
      expect({ scoped, missions }).toEqual('missionNames' in geo ? { scoped: true, missions: geo.missionNames } : {})
      expect({ ...built, dest }, JSON.stringify(geo)).toEqual(parseEvent(built.xml))
    }
  })
})
