// Issue 22: one hostile event must not freeze the gateway. Every parse step on the device and federation input paths
// is linear in its input (timed at n and 10n: a square step shows a ratio near 100, a linear one near 10), and the
// scanner caps elements per event and attributes per element.

import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { ByteAccumulator } from '../../../gateway/cot/accumulator.ts'
import { buildEvent, requestedProtocolVersion } from '../../../gateway/cot/build.ts'
import { frameTakMessage, ProtoStreamFramer, XmlStreamFramer } from '../../../gateway/cot/framer.ts'
import { CotLimitError, CotParseError, namesReceiver, parseEvent } from '../../../gateway/cot/parse.ts'
import { MAX_ATTRIBUTES, MAX_ELEMENTS, scanXml, XmlLimitError, XmlSyntaxError } from '../../../gateway/cot/xml-scan.ts'
import { fromGeoEvent } from '../../../gateway/federation/tak/mapping.ts'

const HEAD =
  '<event version="2.0" uid="u-1" type="a-f-G" how="m-g" time="2026-01-01T00:00:00Z" start="2026-01-01T00:00:00Z" stale="2026-01-01T00:01:00Z"><point lat="1" lon="2" hae="3" ce="4" le="5"/>'
const withDetail = (inner: string): string => `${HEAD}<detail>${inner}</detail></event>`
const attrs = (n: number): string => Array.from({ length: n }, (_, i) => ` a${i}="v"`).join('')
const NO_CAPS = { maxElements: Infinity, maxAttributes: Infinity }

const BOUND = 30

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

/**
 * The fastest of `runs` calls (after one warm-up), each after a full collection, so garbage left by earlier calls is
 * not charged to the next; stops early once one call passes `enough`.
 */
function fastest(work: () => void, runs: number, enough = Infinity): number {
  work()
  let best = Infinity
  for (let i = 0; i < runs; i++) {
    gc()
    const start = performance.now()
    work()
    const taken = performance.now() - start
    best = Math.min(best, taken)
    if (taken > enough) break
  }
  return best
}

/**
 * How much longer the step takes at 10n than at n. A floor of 1 ms on the small run keeps timer noise from making a
 * fast linear step look slow; the fastest of several runs keeps a busy machine's pauses out. A square step is ~100x at
 * these sizes, far past the bound of 30 (one run ten times past the bound ends the measure, so a regression fails in
 * seconds rather than minutes).
 */
function growth(step: (n: number) => () => void, n: number): number {
  const small = Math.max(fastest(step(n), 7), 1)
  return fastest(step(10 * n), 7, small * BOUND * 10) / small
}

describe('caps of the scanner', () => {
  it(`accepts ${MAX_ELEMENTS} elements and ${MAX_ATTRIBUTES} attributes on one element, refuses one more of either`, () => {
    const elements = (n: number): string => `<detail>${'<a/>'.repeat(n - 1)}</detail>`
    expect(scanXml(elements(MAX_ELEMENTS))).toHaveLength(MAX_ELEMENTS)
    expect(() => scanXml(elements(MAX_ELEMENTS + 1))).toThrow(XmlLimitError)
    expect(scanXml(`<a${attrs(MAX_ATTRIBUTES)}/>`)[0]!.attrs).toHaveLength(MAX_ATTRIBUTES)
    expect(() => scanXml(`<a${attrs(MAX_ATTRIBUTES + 1)}/>`)).toThrow(XmlLimitError)
    // A limit error is a syntax error to callers that only know those (they drop the document as before).
    expect(() => scanXml(`<a${attrs(MAX_ATTRIBUTES + 1)}/>`)).toThrow(XmlSyntaxError)
  })

  it('still finds a duplicate attribute among many (a Set past the first few)', () => {
    expect(() => scanXml(`<a${attrs(100)} a57="again"/>`)).toThrow(/a57 appears twice/)
    expect(() => scanXml(`<a${attrs(5)} a3="again"/>`)).toThrow(/a3 appears twice/)
  })

  it('parseEvent refuses an event over the caps with CotLimitError (a CotParseError), and takes one at them', () => {
    expect(() => parseEvent(Buffer.from(withDetail('<marti/>'.repeat(MAX_ELEMENTS))))).toThrow(CotLimitError)
    expect(() => parseEvent(Buffer.from(withDetail(`<x${attrs(MAX_ATTRIBUTES + 1)}/>`)))).toThrow(CotParseError)
    expect(parseEvent(Buffer.from(withDetail('<marti/>'.repeat(MAX_ELEMENTS - 4)))).uid).toBe('u-1')
    expect(() => parseEvent(Buffer.from(withDetail('<x a="1" a="2"/>')))).not.toThrow(CotLimitError)
  })

  it('a TAK federate event over the caps is refused with CotLimitError: in `other`, and as destinations', () => {
    const geo = { uid: 'g-1', type: 'a-f-G', sendTime: 1_700_000_000_000, staleTime: 1_700_000_060_000 }
    expect(() => fromGeoEvent({ ...geo, other: `<detail>${'<marti/>'.repeat(MAX_ELEMENTS)}</detail>` })).toThrow(CotLimitError)
    expect(() => fromGeoEvent({ ...geo, ptpUids: Array.from({ length: MAX_ELEMENTS + 1 }, (_, i) => `u${i}`) })).toThrow(CotLimitError)
    expect(fromGeoEvent({ ...geo, ptpUids: ['u1', 'u2'] })!.dest.uids).toEqual(['u1', 'u2'])
    // What the rebuilt event adds counts too: it is delivered, and converted for protobuf devices, without a new parse.
    expect(() => fromGeoEvent({ ...geo, other: `<detail>${'<x/>'.repeat(MAX_ELEMENTS - 2)}</detail>` })).toThrow(CotLimitError)
    expect(fromGeoEvent({ ...geo, other: `<detail>${'<x/>'.repeat(MAX_ELEMENTS - 8)}</detail>` })!.uid).toBe('g-1')
  })
})

describe('every parse step is linear in its input', () => {
  it('the scanner: attributes of one element (duplicate check)', () => {
    expect(
      growth((n) => {
        const text = `<a${attrs(n)}/>`
        return () => scanXml(text, NO_CAPS)
      }, 2000)
    ).toBeLessThan(BOUND)
  })

  it('parseEvent: <marti/> elements of the detail (a child search per <marti>)', () => {
    expect(
      growth((n) => {
        const bytes = Buffer.from(withDetail('<marti/>'.repeat(n)))
        return () => parseEvent(bytes)
      }, 700)
    ).toBeLessThan(BOUND)
  })

  it('parseEvent: <marti><dest/></marti> destinations, cut out of the bytes', () => {
    const dests = (n: number): string => Array.from({ length: n }, (_, i) => `<marti><dest uid="u${i}" callsign="c${i}"/></marti>`).join('')
    expect(
      growth((n) => {
        const bytes = Buffer.from(withDetail(dests(n)))
        return () => parseEvent(bytes)
      }, 350)
    ).toBeLessThan(BOUND)
  })

  it('the TAK protocol request in a detail (was a pattern reaching to the next ">")', () => {
    const request = (n: number) =>
      buildEvent({
        uid: 'q',
        type: 't-x-takp-q',
        how: 'm-g',
        staleSeconds: 60,
        detail: `<!--${'<TakRequest '.repeat(n)}--><TakControl><TakRequest version="1"/></TakControl>`
      })
    expect(requestedProtocolVersion(request(3))).toBe(1)
    expect(
      growth((n) => {
        const event = request(n)
        return () => requestedProtocolVersion(event)
      }, 700)
    ).toBeLessThan(BOUND)
  })

  it('the XML framer: one event arriving 100 bytes at a time', () => {
    const step = (n: number) => {
      const event = Buffer.from(withDetail(`<remarks>${'x'.repeat(n * 1000)}</remarks>`))
      return () => {
        const framer = new XmlStreamFramer(4 * 1_048_576)
        let events = 0
        for (let at = 0; at < event.length; at += 100) events += framer.push(event.subarray(at, at + 100)).events.length
        expect(events).toBe(1)
      }
    }
    expect(growth(step, 40)).toBeLessThan(BOUND)
  })

  it('the protobuf framer: one message arriving 100 bytes at a time', () => {
    const step = (n: number) => {
      const frame = frameTakMessage(Buffer.alloc(n * 1000, 7))
      return () => {
        const framer = new ProtoStreamFramer(4 * 1_048_576)
        let messages = 0
        for (let at = 0; at < frame.length; at += 100) messages += framer.push(frame.subarray(at, at + 100)).messages.length
        expect(messages).toBe(1)
      }
    }
    expect(growth(step, 40)).toBeLessThan(BOUND)
  })

  it('a TAK federate event: elements of `other` and destinations', () => {
    const step = (n: number) => {
      const geo = {
        uid: 'g-1',
        type: 'a-f-G',
        other: `<detail>${'<marti/>'.repeat(n)}</detail>`,
        ptpCallsigns: Array.from({ length: n }, (_, i) => `c${i}`)
      }
      return () => fromGeoEvent(geo)
    }
    expect(growth(step, 350)).toBeLessThan(BOUND)
  })
})

describe('pieces', () => {
  it('the accumulator never writes over bytes it handed out', () => {
    const held = new ByteAccumulator(1024)
    held.append(Buffer.from('abc'))
    held.append(Buffer.from('def'))
    const view = held.bytes
    held.append(Buffer.from('ghi'))
    held.consume(4)
    held.append(Buffer.from('jkl'))
    expect(view.toString()).toBe('abcdef')
    expect(held.bytes.toString()).toBe('efghijkl')
    expect(held.take().toString()).toBe('efghijkl')
    expect(held.size).toBe(0)
  })

  it('namesReceiver finds a receiver among few or many destinations', () => {
    const many = { callsigns: Array.from({ length: 50 }, (_, i) => `c${i}`), uids: ['u-7'] }
    expect(namesReceiver(many, 'c42', null)).toBe(true)
    expect(namesReceiver(many, 'nobody', 'u-7')).toBe(true)
    expect(namesReceiver(many, 'nobody', null)).toBe(false)
    expect(namesReceiver({ callsigns: ['a'], uids: [] }, 'a', null)).toBe(true)
    expect(namesReceiver({ callsigns: ['a'], uids: [] }, null, 'a')).toBe(false)
  })
})
