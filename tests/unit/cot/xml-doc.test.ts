// The one fast-xml-parser set-up for XML off the hot path: the exact layouts our artefacts have (ATAK reads prefs and
// manifests byte for byte as we always wrote them), escaping, and a parser that decodes like the scanner and refuses
// declarations instead of expanding them.

import { describe, expect, it } from 'vitest'
import { attributeOf, attributes, buildXml, childElements, parseXml, xmlDeclaration, type XmlNode } from '../../../gateway/cot/xml-doc.ts'
import { XmlSyntaxError } from '../../../gateway/cot/xml-scan.ts'

describe('building XML', () => {
  it('writes the pref layout: declaration, two-space indent, an empty value as a paired element, a final line break', () => {
    const entry = (key: string, value: string | number | boolean, type: string): XmlNode => ({
      ...attributes([
        ['key', key],
        ['class', `class java.lang.${type}`]
      ]),
      '#text': String(value)
    })
    const preference = {
      ...attributes([
        ['version', '1'],
        ['name', 'cot_streams']
      ]),
      entry: [entry('count', 1, 'Integer'), entry('enabled0', true, 'Boolean'), entry('empty', '', 'String')]
    }
    expect(`${xmlDeclaration(true)}\n${buildXml({ preferences: { preference: [preference] } }, { indent: true, pairedEmpty: true })}`).toBe(
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
        '<preferences>\n' +
        '  <preference version="1" name="cot_streams">\n' +
        '    <entry key="count" class="class java.lang.Integer">1</entry>\n' +
        '    <entry key="enabled0" class="class java.lang.Boolean">true</entry>\n' +
        '    <entry key="empty" class="class java.lang.String"></entry>\n' +
        '  </preference>\n' +
        '</preferences>\n'
    )
  })

  it('writes the manifest layout: empty elements closed on themselves, "true" kept as a value', () => {
    const manifest = {
      MissionPackageManifest: {
        ...attributes([['version', '2']]),
        Configuration: {
          Parameter: [
            attributes([
              ['name', 'onReceiveDelete'],
              ['value', 'true']
            ])
          ]
        },
        Contents: {
          Content: [
            attributes([
              ['ignore', false],
              ['zipEntry', 'certs/a.p12']
            ])
          ]
        }
      }
    }
    expect(buildXml(manifest, { indent: true })).toBe(
      '<MissionPackageManifest version="2">\n' +
        '  <Configuration>\n' +
        '    <Parameter name="onReceiveDelete" value="true"/>\n' +
        '  </Configuration>\n' +
        '  <Contents>\n' +
        '    <Content ignore="false" zipEntry="certs/a.p12"/>\n' +
        '  </Contents>\n' +
        '</MissionPackageManifest>\n'
    )
  })

  it('escapes the five special characters in text and attributes, and adds nothing between elements when compact', () => {
    const nasty = `a<b>&c"d'e`
    const xml = buildXml({ root: { ...attributes([['v', nasty]]), child: { '#text': nasty } } })
    expect(xml).toBe('<root v="a&lt;b&gt;&amp;c&quot;d&apos;e"><child>a&lt;b&gt;&amp;c&quot;d&apos;e</child></root>')
    const back = childElements(parseXml(xml), 'root')[0]!
    expect(attributeOf(back, 'v')).toBe(nasty)
    expect(childElements(back, 'child')[0]!['#text']).toBe(nasty)
  })
})

describe('parsing XML', () => {
  it('decodes the predefined entities and character references, nothing else', () => {
    const doc = parseXml('<d><f a="&amp;&#38;&#x26;&lt;&quot;&apos;&gt;&#128512;">t&#65;</f></d>')
    const f = childElements(childElements(doc, 'd')[0], 'f')[0]!
    expect(attributeOf(f, 'a')).toBe(`&&&<"'>😀`)
    expect(f['#text']).toBe('tA')
    expect(() => parseXml('<d>&nbsp;</d>')).toThrow(XmlSyntaxError)
  })

  it('refuses a DOCTYPE (and so any entity it would declare) and malformed documents', () => {
    expect(() => parseXml('<!DOCTYPE d [<!ENTITY e "EXPANDED">]><d>&e;</d>')).toThrow(XmlSyntaxError)
    expect(() => parseXml('<!DOCTYPE d><d/>')).toThrow(XmlSyntaxError)
    for (const bad of ['<d>', '<d a="1" a="2"/>', '<d x>y</d>', '', '<a/><b/>', '<a/><a/>', '<a></a><b/>', 'text'])
      expect(() => parseXml(bad), bad).toThrow(XmlSyntaxError)
  })

  it('keeps elements named like JavaScript internals apart, without touching any prototype', () => {
    const doc = parseXml('<d><__proto__ polluted="yes"/><constructor/><f a="1"/></d>')
    const d = childElements(doc, 'd')[0]!
    expect(attributeOf(childElements(d, 'f')[0]!, 'a')).toBe('1')
    expect(childElements(d, '#__proto__')).toHaveLength(1)
    expect(({} as Record<string, unknown>).polluted).toBe(undefined)
  })

  it('lists repeated, empty and text-only children alike', () => {
    const d = childElements(parseXml('<d><f a="1"/><f a="2"/><g/><h>t</h></d>'), 'd')[0]
    expect(childElements(d, 'f').map((f) => attributeOf(f, 'a'))).toEqual(['1', '2'])
    expect(childElements(d, 'g')).toEqual([{ '#text': '' }])
    expect(childElements(d, 'h')).toEqual([{ '#text': 't' }])
    expect(childElements(d, 'missing')).toEqual([])
  })
})
