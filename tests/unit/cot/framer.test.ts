import { describe, expect, it } from 'vitest'
import { ProtoStreamFramer, XmlStreamFramer, encodeVarint, frameTakMessage, hasDeclaration } from '../../../gateway/cot/framer.ts'
import { parseEvent } from '../../../gateway/cot/parse.ts'

const pli = (uid: string, callsign: string): string =>
  `<event version="2.0" uid="${uid}" type="a-f-G-U-C" how="m-g" time="2026-01-01T00:00:00Z" start="2026-01-01T00:00:00Z" ` +
  `stale="2026-01-01T00:05:00Z"><point lat="1.5" lon="2.5" hae="10" ce="5" le="5"/><detail>` +
  `<contact callsign="${callsign}" endpoint="*:-1:stcp"/><__group name="Cyan" role="Team Member"/></detail></event>`

const SAMPLE =
  '<auth><cot username="u" password="p" uid="ANDROID-1"/></auth>' +
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${pli('ANDROID-1', 'Zoë-Ünïcode-测试')}` +
  `\n\n  ${pli('ANDROID-2', 'Bravo')}` +
  `<?xml version="1.0"?>${pli('ANDROID-3', '🚁 Heli')}\n`

function uidsOf(framer: XmlStreamFramer, chunks: Buffer[]): { uids: string[]; callsigns: (string | null)[] } {
  const uids: string[] = []
  const callsigns: (string | null)[] = []
  for (const chunk of chunks) {
    const result = framer.push(chunk)
    expect(result.overflow).toBe(false)
    expect(result.rejected).toEqual([])
    for (const bytes of result.events) {
      const event = parseEvent(bytes)
      uids.push(event.uid)
      callsigns.push(event.callsign)
    }
  }
  return { uids, callsigns }
}

describe('XML stream framer', () => {
  const bytes = Buffer.from(SAMPLE)
  const expected = { uids: ['ANDROID-1', 'ANDROID-2', 'ANDROID-3'], callsigns: ['Zoë-Ünïcode-测试', 'Bravo', '🚁 Heli'] }

  it('frames the sample in one chunk', () => {
    expect(uidsOf(new XmlStreamFramer(), [bytes])).toEqual(expected)
  })

  it('frames the sample split in two at every byte offset (inside multibyte characters and </event>)', () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      const got = uidsOf(new XmlStreamFramer(), [bytes.subarray(0, cut), bytes.subarray(cut)])
      expect(got, `cut at ${cut}`).toEqual(expected)
    }
  })

  it('frames the sample delivered one byte at a time, and in three pieces at every pair of offsets on a stride', () => {
    const single = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1))
    expect(uidsOf(new XmlStreamFramer(), single)).toEqual(expected)
    for (let a = 1; a < bytes.length; a += 7) {
      for (let b = a + 1; b < bytes.length; b += 13) {
        const got = uidsOf(new XmlStreamFramer(), [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)])
        expect(got).toEqual(expected)
      }
    }
  })

  it('signals overflow for an oversized event, and for an unterminated buffer past the cap', () => {
    const big = pli('BIG', 'x'.repeat(5000))
    expect(new XmlStreamFramer(1024).push(Buffer.from(big)).overflow).toBe(true)
    const framer = new XmlStreamFramer(1024)
    expect(framer.push(Buffer.from('<event uid="a" type="b">')).overflow).toBe(false)
    expect(framer.push(Buffer.alloc(2000, 0x61)).overflow).toBe(true)
  })

  it('rejects a DOCTYPE / ENTITY payload before parsing and keeps framing what follows', () => {
    const framer = new XmlStreamFramer()
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>' +
      '<event uid="x" type="a-f-G" how="m-g"><detail><remarks>&lol2;</remarks></detail></event>'
    const result = framer.push(Buffer.from(bomb + pli('AFTER', 'After')))
    expect(result.rejected).toEqual([{ reason: 'declaration' }])
    expect(result.events.map((e) => parseEvent(e).uid)).toEqual(['AFTER'])
  })

  it('finds a declaration wherever it is, after comments and CDATA too, and nothing in plain markup', () => {
    const yes = [
      '<!DOCTYPE x><event/>',
      '<event><!-- c --><!ENTITY a "b"></event>',
      '<event><![CDATA[x]]><!DOCTYPE y></event>',
      '<!-- a --><!-- b --><!ENTITY z>'
    ]
    const no = ['<event uid="x"/>', '<event><!-- DOCTYPE --></event>', '<event><![CDATA[<!]]></event>', '<event a="!DOCTYPE"/>', '']
    for (const text of yes) expect(hasDeclaration(Buffer.from(text))).toBe(true)
    for (const text of no) expect(hasDeclaration(Buffer.from(text))).toBe(false)
  })

  it('drops garbage frames and keeps going', () => {
    const framer = new XmlStreamFramer()
    const garbage = Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0x10]), Buffer.from('nonsense</event>'), Buffer.from(pli('OK', 'Ok'))])
    const result = framer.push(garbage)
    expect(result.rejected).toEqual([{ reason: 'malformed' }])
    expect(result.events).toHaveLength(1)
    expect(framer.bufferedBytes).toBe(0)
  })
})

describe('protobuf stream framer', () => {
  it('frames messages split at every offset', () => {
    const payloads = [Buffer.from('a'), Buffer.alloc(300, 7), Buffer.alloc(0), Buffer.from('xyz')]
    const stream = Buffer.concat(payloads.map((p) => frameTakMessage(p)))
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new ProtoStreamFramer()
      const a = framer.push(stream.subarray(0, cut))
      const b = framer.push(stream.subarray(cut))
      expect(a.error ?? b.error).toBeNull()
      expect([...a.messages, ...b.messages].map((m) => m.toString('hex'))).toEqual(payloads.map((p) => p.toString('hex')))
    }
  })

  it('refuses a huge varint and garbage without buffering it', () => {
    const huge = Buffer.concat([Buffer.from([0xbf]), encodeVarint(2 ** 31)])
    expect(new ProtoStreamFramer(1024).push(huge).error).toBe('overflow')
    expect(new ProtoStreamFramer(1024).push(Buffer.from([0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).error).toBe('overflow')
    expect(new ProtoStreamFramer(1024).push(Buffer.from('<event'))).toMatchObject({ error: 'garbage' })
  })
})
