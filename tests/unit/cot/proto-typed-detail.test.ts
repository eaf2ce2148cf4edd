// TAK protocol v1, which detail elements may travel in their typed protobuf fields (spec tak-devices.md §1.5 and the
// TAK .proto comments): only an element the message represents completely (every required attribute present, nothing
// else on it, and the only one of its name) goes typed; anything else stays whole and verbatim in xmlDetail.

import { describe, expect, it } from 'vitest'
import { parseEvent } from '../../../gateway/cot/parse.ts'
import { decodeTakMessage, encodeTakMessage, fromTakCotEvent, toTakMessage, type TakDetailProto } from '../../../gateway/cot/proto.ts'
import { scanXml } from '../../../gateway/cot/xml-scan.ts'

const eventWith = (detailInner: string): string =>
  '<event version="2.0" uid="u-1" type="a-f-G-U-C" how="m-g" time="2026-01-01T00:00:00.000Z" start="2026-01-01T00:00:00.000Z" ' +
  `stale="2026-01-01T00:05:00.000Z"><point lat="1" lon="2" hae="3" ce="4" le="5"/><detail>${detailInner}</detail></event>`

const TYPED_KEYS = ['contact', 'group', 'precisionLocation', 'status', 'takv', 'track'] as const

function detailOf(detailInner: string): TakDetailProto {
  return toTakMessage(parseEvent(Buffer.from(eventWith(detailInner)))).cotEvent!.detail!
}

function typedKeysOf(detail: TakDetailProto): string[] {
  return TYPED_KEYS.filter((key) => detail[key] !== undefined)
}

/** XML -> TakMessage -> protobuf bytes -> TakMessage -> XML, as a protobuf receiver of ours rebuilds it. */
function roundTrip(xml: string): string {
  const bytes = encodeTakMessage(toTakMessage(parseEvent(Buffer.from(xml))))
  return fromTakCotEvent(decodeTakMessage(bytes).cotEvent!).xml.toString('utf8')
}

/** The children of <detail>, each as name + attributes (sorted by name) + inner XML, sorted: order is not meaning. */
function detailChildren(xml: string): string[] {
  const elements = scanXml(xml)
  const detail = elements.findIndex((e) => e.parent === 0 && e.name === 'detail')
  if (detail === -1) return []
  return elements
    .filter((e) => e.parent === detail)
    .map((e) => {
      const attrs = [...e.attrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      return `<${e.name} ${attrs.join(' ')}>${xml.slice(e.contentStart, e.contentEnd)}`
    })
    .sort()
}

/** Elements the typed messages cannot represent completely: each must stay whole in xmlDetail. */
const PARTIAL: [string, string][] = [
  ['track with only course', '<track course="90"/>'],
  ['track with only speed', '<track speed="1.5"/>'],
  ['contact without callsign', '<contact endpoint="*:-1:stcp"/>'],
  ['contact with an empty endpoint (proto3 cannot tell it from none)', '<contact endpoint="" callsign="Alpha"/>'],
  ['__group without role', '<__group name="Cyan"/>'],
  ['__group without name', '<__group role="Team Member"/>'],
  ['__group with an empty role', '<__group name="Cyan" role=""/>'],
  ['status with readiness and battery', '<status battery="88" readiness="true"/>'],
  ['status with readiness only', '<status readiness="true"/>'],
  ['status with a battery above the range commo accepts', '<status battery="4000000000"/>'],
  ['takv missing version', '<takv device="Pixel" platform="ATAK-CIV" os="34"/>'],
  ['precisionlocation missing altsrc', '<precisionlocation geopointsrc="GPS"/>'],
  ['contact with an extra unknown attribute', '<contact endpoint="*:-1:stcp" callsign="Alpha" phone="123"/>'],
  ['__group with an extra unknown attribute', '<__group name="Cyan" role="Team Member" exrole="Medic"/>'],
  ['track with an extra unknown attribute', '<track speed="1.5" course="90" slope="2"/>'],
  ['track with a number a double cannot hold', '<track speed="1e400" course="90"/>'],
  ['track with a comment inside', '<track speed="1.5" course="90"><!-- kept --></track>']
]

/** Complete elements: each goes into its typed field. */
const COMPLETE: [string, string, Partial<TakDetailProto>][] = [
  [
    'contact with callsign and endpoint',
    '<contact endpoint="*:-1:stcp" callsign="Alpha"/>',
    { contact: { endpoint: '*:-1:stcp', callsign: 'Alpha' } }
  ],
  ['contact with callsign only (endpoint is optional)', '<contact callsign="Alpha"/>', { contact: { callsign: 'Alpha' } }],
  ['__group', '<__group name="Cyan" role="Team Member"/>', { group: { name: 'Cyan', role: 'Team Member' } }],
  [
    'precisionlocation',
    '<precisionlocation geopointsrc="GPS" altsrc="DTED0"/>',
    { precisionLocation: { geopointsrc: 'GPS', altsrc: 'DTED0' } }
  ],
  ['status', '<status battery="88"/>', { status: { battery: 88 } }],
  [
    'takv',
    '<takv device="Pixel" platform="ATAK-CIV" os="34" version="5.5"/>',
    { takv: { device: 'Pixel', platform: 'ATAK-CIV', os: '34', version: '5.5' } }
  ],
  ['track', '<track speed="1.5" course="90"/>', { track: { speed: 1.5, course: 90 } }],
  ['track at rest', '<track speed="0" course="0"/>', { track: { speed: 0, course: 0 } }],
  ['track written with an end tag', '<track speed="1.5" course="90"></track>', { track: { speed: 1.5, course: 90 } }]
]

describe('TAK protocol v1 typed detail fields take only complete elements', () => {
  it.each(PARTIAL)('%s stays verbatim in xmlDetail, with no typed field', (_label, element) => {
    const detail = detailOf(element)
    expect(typedKeysOf(detail)).toEqual([])
    expect(detail.xmlDetail).toBe(element)
  })

  it.each(COMPLETE)('%s goes typed', (_label, element, typed) => {
    const detail = detailOf(element)
    expect(detail).toEqual(typed)
    expect(detail.xmlDetail).toBeUndefined()
  })

  it('keeps every element of a name in xmlDetail when the name appears more than once', () => {
    const inner = '<contact callsign="Alpha"/><contact callsign="Bravo"/><track speed="1" course="2"/><track speed="3" course="4"/>'
    const detail = detailOf(inner)
    expect(typedKeysOf(detail)).toEqual([])
    expect(detail.xmlDetail).toBe(inner)
  })

  it('splits a mixed detail: complete elements typed, partial ones whole in xmlDetail in document order', () => {
    const detail = detailOf(
      '<contact endpoint="*:-1:stcp" callsign="Alpha"/><__group name="Cyan"/><status battery="88"/>' +
        '<track course="90"/><takv device="Pixel" platform="ATAK-CIV" os="34" version="5.5"/><remarks>hi</remarks>'
    )
    expect(detail).toEqual({
      contact: { endpoint: '*:-1:stcp', callsign: 'Alpha' },
      status: { battery: 88 },
      takv: { device: 'Pixel', platform: 'ATAK-CIV', os: '34', version: '5.5' },
      xmlDetail: '<__group name="Cyan"/><track course="90"/><remarks>hi</remarks>'
    })
  })
})

describe('TAK protocol v1 round trip XML -> protobuf -> XML keeps every detail attribute and adds none', () => {
  it.each([...PARTIAL, ...COMPLETE.map(([label, element]) => [label, element] as [string, string])])('%s', (_label, element) => {
    const xml = eventWith(`${element}<remarks>r</remarks>`)
    expect(detailChildren(roundTrip(xml))).toEqual(detailChildren(xml))
  })

  it('a full PLI with partial elements mixed in', () => {
    const xml = eventWith(
      '<contact endpoint="*:-1:stcp" callsign="Alpha"/><__group name="Cyan"/><precisionlocation geopointsrc="GPS" altsrc="GPS"/>' +
        '<status battery="88" readiness="true"/><takv device="Pixel" platform="ATAK-CIV" os="34"/><track course="90"/>' +
        '<uid Droid="Alpha"/><remarks>seq 1</remarks>'
    )
    const back = roundTrip(xml)
    expect(detailChildren(back)).toEqual(detailChildren(xml))
    // and a second trip changes nothing more
    expect(detailChildren(roundTrip(back))).toEqual(detailChildren(xml))
  })
})
