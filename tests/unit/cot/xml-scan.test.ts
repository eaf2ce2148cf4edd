// The strict XML scanner every CoT event goes through (device input, federation `other`): what it records and what
// it refuses. Each refusal is a malformed document that must never reach a device as if it were an event.

import { describe, expect, it } from 'vitest'
import { attrOf, scanXml, XmlSyntaxError } from '../../../gateway/cot/xml-scan.ts'

describe('scanXml', () => {
  it('records every element with its parent, depth, offsets and decoded attributes', () => {
    const text =
      '<?xml version="1.0"?>\n<event uid="a&amp;b" type=\'t\'>\n  <point lat="1"/>\n  <detail><remarks>hi &lt;there&gt;</remarks></detail>\n</event>\n'
    const elements = scanXml(text)
    expect(elements.map((e) => [e.name, e.parent, e.depth])).toEqual([
      ['event', -1, 0],
      ['point', 0, 1],
      ['detail', 0, 1],
      ['remarks', 2, 2]
    ])
    const [event, point, detail, remarks] = elements
    expect(attrOf(event!, 'uid')).toBe('a&b')
    expect(attrOf(event!, 'type')).toBe('t')
    expect(text.slice(point!.start, point!.end)).toBe('<point lat="1"/>')
    expect(point!.contentStart).toBe(point!.contentEnd)
    expect(text.slice(detail!.start, detail!.end)).toBe('<detail><remarks>hi &lt;there&gt;</remarks></detail>')
    expect(text.slice(remarks!.contentStart, remarks!.contentEnd)).toBe('hi &lt;there&gt;')
    expect(remarks!.hasContent).toBe(true)
    expect(text.slice(event!.start, event!.end).endsWith('</event>')).toBe(true)
  })

  it('counts whitespace between tags as no content, any other character (a no-break space too) as content', () => {
    expect(scanXml('<a>\n\t <b/> \r\n</a>')[1]!.hasContent).toBe(false)
    expect(scanXml('<a> <b>\n </b></a>')[1]!.hasContent).toBe(false)
    expect(scanXml('<a><b>x</b></a>')[1]!.hasContent).toBe(true)
    expect(scanXml('<a><b>\u00a0</b></a>')[1]!.hasContent).toBe(true)
    expect(scanXml('<a><b><![CDATA[ ]]></b></a>')[1]!.hasContent).toBe(true)
  })

  it('accepts names XML allows: letters, underscore, colon, non-ASCII, with digits, dots and dashes after the first', () => {
    const elements = scanXml('<_flow-tags_ a:b="1" _x.y-2="2"><détail ü="3"/><Z9/></_flow-tags_>')
    expect(elements.map((e) => e.name)).toEqual(['_flow-tags_', 'détail', 'Z9'])
    expect(elements[0]!.attrs).toEqual([
      ['a:b', '1'],
      ['_x.y-2', '2']
    ])
    expect(attrOf(elements[1]!, 'ü')).toBe('3')
  })

  const refused: [string, string][] = [
    ['text before the root', 'x<a/>'],
    ['text after the root', '<a/>x'],
    ['a no-break space outside the root', '<a/>\u00a0'],
    ['two roots', '<a/><b/>'],
    ['no element', '  '],
    ['an element name starting with a digit', '<1a/>'],
    ['an element name starting with a dash', '<-a/>'],
    ['an attribute name starting with a dot', '<a .b="1"/>'],
    ['a duplicate attribute', '<a b="1" b="2"/>'],
    ['attributes without whitespace between them', '<a b="1"c="2"/>'],
    ['an unquoted attribute', '<a b=1/>'],
    ['an attribute without a value', '<a b/>'],
    ["'<' in an attribute value", '<a b="<"/>'],
    ['an unterminated attribute value', '<a b="1/>'],
    ['an unknown entity', '<a b="&foo;"/>'],
    ['an unterminated entity', '<a>&amp</a>'],
    ['a mismatched end tag', '<a><b></a></b>'],
    ['an unclosed element', '<a><b/>'],
    ['an end tag without a start', '</a>'],
    ['a DOCTYPE', '<!DOCTYPE a><a/>'],
    ['an ENTITY declaration inside', '<a><!ENTITY x "y"></a>'],
    ['a processing instruction inside the root', '<a><?pi x?></a>'],
    ['an unterminated comment', '<a/><!-- x'],
    ['an unterminated start tag', '<a b="1"']
  ]
  it.each(refused)('refuses %s', (_what, text) => {
    expect(() => scanXml(text)).toThrow(XmlSyntaxError)
  })
})
