// The hot-path scanner against fast-xml-parser on a few hundred generated events (seeded, so a failure replays):
// elements, parents, decoded attributes and content flags; offsets; what parseEvent takes from the tree (header,
// point, contact, <marti><dest>) and the bytes it leaves; malformed documents refused by both.

import { describe, expect, it } from 'vitest'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { parseEvent } from '../../../gateway/cot/parse.ts'
import { attrOf, decodeEntities, escapeAttr, scanXml, XmlSyntaxError } from '../../../gateway/cot/xml-scan.ts'

const CASES = 300

/** mulberry32: small, seedable, good enough to spread cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

class Gen {
  readonly random: () => number
  constructor(seed: number) {
    this.random = prng(seed)
  }
  int(n: number): number {
    return Math.floor(this.random() * n)
  }
  chance(p: number): boolean {
    return this.random() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!
  }
  space(min = 0): string {
    let out = min > 0 ? ' ' : ''
    while (this.chance(0.25)) out += this.pick([' ', '\t', '\n'])
    return out
  }
  name(): string {
    if (this.chance(0.6)) return this.pick(NAMES)
    const first = 'abcdefghijklmnopqrstuvwxyzABCXYZ_'
    const rest = `${first}0123456789.-`
    let name = this.pick([...first])
    for (let i = this.int(8); i > 0; i--) name += this.pick([...rest])
    return name
  }
  /** Raw characters (what a parser should give back), including every one that needs escaping. */
  raw(max = 12): string {
    let out = ''
    for (let i = this.int(max); i > 0; i--) out += this.pick(CHARS)
    return out
  }
  /** `value` written as XML text or an attribute value quoted with `quote`, picking among the legal spellings. */
  encode(value: string, quote: '"' | "'" | null): string {
    let out = ''
    for (const c of value) out += this.encodeChar(c, quote)
    return out
  }
  private encodeChar(c: string, quote: '"' | "'" | null): string {
    const code = c.codePointAt(0)!
    const reference = this.pick([`&#${code};`, `&#x${code.toString(16)};`, `&#x${code.toString(16).toUpperCase()};`])
    if (c === '&') return this.pick(['&amp;', reference])
    if (c === '<') return this.pick(['&lt;', reference])
    if (c === '>') return this.pick(['>', '&gt;', reference])
    if (c === '"') return quote === '"' ? this.pick(['&quot;', reference]) : this.pick(['"', '&quot;'])
    if (c === "'") return quote === "'" ? this.pick(['&apos;', reference]) : this.pick(["'", '&apos;'])
    if (code > 0x7f) return this.pick([c, reference])
    return c
  }
  attributes(names: string[], fixed: [string, string][] = []): string {
    const used = new Set(fixed.map(([n]) => n))
    const pairs = [...fixed]
    for (let i = this.int(4); i > 0; i--) {
      const name = this.pick(names)
      if (!used.has(name)) pairs.push([name, this.raw()])
      used.add(name)
    }
    if (this.chance(0.5)) pairs.sort(() => this.random() - 0.5)
    return pairs
      .map(([n, v]) => {
        const quote = this.pick(['"', "'"] as const)
        return `${this.space(1)}${n}${this.space()}=${this.space()}${quote}${this.encode(v, quote)}${quote}`
      })
      .join('')
  }
  /** Text, CDATA, a comment or whitespace: what may sit between elements. */
  filler(): string {
    switch (this.int(5)) {
      case 0:
        return this.encode(this.raw(), null).replace(/]]>/g, ']]&gt;')
      case 1:
        return `<![CDATA[${this.raw().replace(/]]>/g, ']] >')}]]>`
      case 2:
        return `<!--${this.raw().replace(/-/g, '')} -->`
      default:
        return this.space(1)
    }
  }
  element(depth: number, name = this.name(), fixed: [string, string][] = [], children?: () => string): string {
    const attrs = this.attributes(ATTRIBUTE_NAMES, fixed)
    let inner = ''
    if (children) inner = children()
    else if (depth < 4) for (let i = this.int(4); i > 0; i--) inner += this.chance(0.5) ? this.element(depth + 1) : this.filler()
    if (inner === '' && this.chance(0.6)) return `<${name}${attrs}${this.space()}/>`
    return `<${name}${attrs}${this.space()}>${inner}</${name}${this.space()}>`
  }
}

const NAMES = [
  'contact',
  'status',
  'takv',
  'track',
  'remarks',
  'link',
  'usericon',
  '__group',
  '_flow-tags_',
  'marti',
  'dest',
  'ns2:ext',
  'a.b-c'
]
const ATTRIBUTE_NAMES = ['callsign', 'uid', 'endpoint', 'mission', 'group', 'value', 'x', 'ns:y', 'a-b', 'c.d']
const CHARS = [...'abcXYZ019 ', ' ', '&', '<', '>', '"', "'", '\t', '\n', ']', '-', 'é', 'ß', '中', '😀', '\u00a0', ';', '#', '=']

/** One CoT-shaped event: header, point, a detail with contact, marti/dest (with every kind of target) and noise. */
function generateEvent(g: Gen): string {
  const header: [string, string][] = [
    ['uid', g.chance(0.9) ? `u-${g.raw(6)}x` : ''],
    ['type', g.pick(['a-f-G-U-C', 'b-t-f', 'b-f-t-r', `t-${g.raw(3)}`])],
    ['how', g.pick(['m-g', 'h-e', g.raw(4)])],
    ['time', '2026-01-01T00:00:00Z'],
    ['start', '2026-01-01T00:00:00Z'],
    ['stale', g.pick(['2026-01-02T00:00:00Z', g.raw(5)])]
  ].filter(() => g.chance(0.93)) as [string, string][]
  const metric = (): string => g.pick(['0', '-12.5', ' 3.25 ', '1e3', '', 'abc', 'NaN', '9999999', `${g.int(1000) / 7}`])
  const point = (): string =>
    g.element(
      1,
      'point',
      (['lat', 'lon', 'hae', 'ce', 'le'] as const).filter(() => g.chance(0.85)).map((n) => [n, metric()]),
      () => ''
    )
  const dest = (): string => {
    const kinds: [string, string][][] = [
      [['callsign', g.raw(6)]],
      [['uid', g.raw(6)]],
      [['mission', g.raw(5)]],
      [['group', g.pick(['__ANON__', 'Cyan'])]],
      [['publish', 'true']],
      [
        ['mission-guid', g.raw(4)],
        ['uid', g.raw(3)]
      ],
      []
    ]
    return g.element(3, 'dest', g.pick(kinds), () => '')
  }
  const marti = (): string =>
    g.element(2, 'marti', [], () => {
      let inner = ''
      for (let i = g.int(4); i > 0; i--) inner += g.chance(0.7) ? dest() : g.chance(0.5) ? g.element(3) : g.filler()
      return inner
    })
  const detail = (): string =>
    g.element(1, 'detail', [], () => {
      const parts: string[] = []
      if (g.chance(0.7))
        parts.push(
          g.element(
            2,
            'contact',
            [
              ['callsign', g.raw(8)],
              ['endpoint', g.pick(['*:-1:stcp', g.raw(4)])]
            ].filter(() => g.chance(0.8)) as [string, string][]
          )
        )
      for (let i = g.int(3); i > 0; i--) parts.push(marti())
      for (let i = g.int(4); i > 0; i--) parts.push(g.chance(0.6) ? g.element(2) : g.filler())
      return parts.sort(() => g.random() - 0.5).join('')
    })
  const children: string[] = []
  if (g.chance(0.9)) children.push(point())
  if (g.chance(0.9)) children.push(detail())
  if (g.chance(0.3)) children.push(g.element(1))
  if (g.chance(0.3)) children.push(g.filler())
  const body = g.element(0, 'event', [['version', '2.0'], ...header], () => children.sort(() => g.random() - 0.5).join(''))
  return `${g.chance(0.2) ? `${g.space(1)}<!-- before -->` : ''}${body}${g.space()}`
}

// ─── the oracle: fast-xml-parser, configured on its own (its own entity decoding, not the scanner's) ──────────

type Ordered = Record<string, unknown>[]
const oracle = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
  htmlEntities: true
})

interface Node {
  name: string
  attrs: [string, string][]
  /** Child elements and text runs (CDATA text merged into the text around it; comments dropped). */
  children: (Node | string)[]
  /** Holds a CDATA section: content to the scanner even when empty. */
  cdata: boolean
}

function nodeOf(name: string, item: Record<string, unknown>): Node {
  const node: Node = { name, attrs: [], children: [], cdata: false }
  node.attrs = Object.entries((item[':@'] ?? {}) as Record<string, string>).map(([k, v]): [string, string] => [k.slice(1), v])
  const text = (t: string): void => {
    const last = node.children.length - 1
    if (typeof node.children[last] === 'string') node.children[last] += t
    else node.children.push(t)
  }
  for (const child of item[name] as Ordered) {
    const key = Object.keys(child).find((k) => k !== ':@')!
    if (key === '#comment') continue
    if (key === '#text') text(String(child[key]))
    else if (key === '#cdata') {
      node.cdata = true
      text(String(((child[key] as Ordered)[0] ?? {})['#text'] ?? ''))
    } else node.children.push(nodeOf(key, child))
  }
  return node
}

function rootOf(text: string): Node {
  const top = (oracle.parse(text) as Ordered).filter((item) => !('#comment' in item) && !('#text' in item))
  if (top.length !== 1) throw new Error(`fast-xml-parser found ${top.length} root elements`)
  const name = Object.keys(top[0]!).find((k) => k !== ':@')!
  return nodeOf(name, top[0]!)
}

const elementsOf = (node: Node | undefined): Node[] => (node?.children ?? []).filter((c): c is Node => typeof c !== 'string')
const childNamed = (node: Node | undefined, name: string): Node | undefined => elementsOf(node).find((c) => c.name === name)
const attr = (node: Node | undefined, name: string): string | undefined => node?.attrs.find(([n]) => n === name)?.[1]
const XML_SPACE = /^[ \t\r\n]*$/

interface Flat {
  name: string
  parent: number
  depth: number
  attrs: [string, string][]
  hasContent: boolean
}

/** Document order, as the scanner lists elements. */
function flatten(root: Node): Flat[] {
  const out: Flat[] = []
  const visit = (node: Node, parent: number, depth: number): void => {
    const hasContent = node.cdata || node.children.some((c) => typeof c !== 'string' || !XML_SPACE.test(c))
    out.push({ name: node.name, parent, depth, attrs: node.attrs, hasContent })
    const index = out.length - 1
    for (const child of elementsOf(node)) visit(child, index, depth + 1)
  }
  visit(root, -1, 0)
  return out
}

/** The tree without some elements (adjacent text runs joined, as in the bytes once those elements are cut out). */
function without(node: Node, drop: Set<Node>): Node {
  const children: (Node | string)[] = []
  for (const child of node.children) {
    if (typeof child !== 'string' && drop.has(child)) continue
    const kept = typeof child === 'string' ? child : without(child, drop)
    if (typeof kept === 'string' && typeof children[children.length - 1] === 'string') children[children.length - 1] += kept
    else children.push(kept)
  }
  return { ...node, children }
}

// ─── what parseEvent should take from the tree, read off the oracle's tree ───────────────────────────────────

const SCOPES = ['mission', 'mission-guid', 'group', 'publish']

function expectedDest(detail: Node | undefined): {
  dest: { callsigns: string[]; uids: string[]; scoped?: boolean; missions?: string[] }
  cut: Set<Node>
} {
  const dest: { callsigns: string[]; uids: string[]; scoped?: boolean; missions?: string[] } = { callsigns: [], uids: [] }
  const cut = new Set<Node>()
  for (const marti of elementsOf(detail).filter((c) => c.name === 'marti')) {
    for (const target of elementsOf(marti).filter((c) => c.name === 'dest')) {
      const callsign = attr(target, 'callsign')
      const uid = attr(target, 'uid')
      const scope = SCOPES.find((name) => attr(target, name) !== undefined)
      if (callsign === undefined && uid === undefined && scope === undefined) continue
      if (callsign !== undefined) dest.callsigns.push(callsign)
      if (uid !== undefined) dest.uids.push(uid)
      if (scope !== undefined && !(scope === 'group' && attr(target, 'group') === '__ANON__')) dest.scoped = true
      const mission = attr(target, 'mission')
      if (mission) (dest.missions ??= []).push(mission)
      cut.add(target)
    }
  }
  return { dest, cut }
}

function metric(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback
  const n = Number(value)
  return Number.isFinite(n) ? n : fallback
}

// ─── the properties ──────────────────────────────────────────────────────────────────────────────────────────

describe('the hot-path scanner agrees with fast-xml-parser', () => {
  const events = Array.from({ length: CASES }, (_, seed) => {
    const text = generateEvent(new Gen(seed + 1))
    return { seed, text, root: rootOf(text) }
  })

  it('generates documents fast-xml-parser accepts, with the features the scanner must handle', () => {
    for (const { seed, text } of events) expect(XMLValidator.validate(text), `seed ${seed}`).toBe(true)
    const all = events.map((e) => e.text).join('')
    for (const feature of ['<![CDATA[', '<!--', '&amp;', '&#x', "='", '<dest', '<contact', '/>']) expect(all).toContain(feature)
  })

  it('lists the same elements: names, parents, depths, decoded attributes in order, content', () => {
    for (const { seed, text, root } of events) {
      const scanned = scanXml(text).map((e) => ({
        name: e.name,
        parent: e.parent,
        depth: e.depth,
        attrs: e.attrs,
        hasContent: e.hasContent
      }))
      expect(scanned, `seed ${seed}: ${text}`).toEqual(flatten(root))
    }
  })

  it('gives offsets that cut out each element whole, and its content between the tags', () => {
    // Every element of a third of the events parsed again on its own: enough spread, a few seconds at most.
    for (const { seed, text, root } of events.slice(0, CASES / 3)) {
      const flat = flatten(root)
      scanXml(text).forEach((element, i) => {
        const cut = rootOf(text.slice(element.start, element.end))
        expect({ name: cut.name, attrs: cut.attrs }, `seed ${seed}`).toEqual({ name: flat[i]!.name, attrs: flat[i]!.attrs })
        const inner = text.slice(element.contentStart, element.contentEnd)
        expect(rootOf(`<wrap>${inner}</wrap>`).children.filter((c) => typeof c !== 'string').length).toBe(
          flat.filter((f) => f.parent === i).length
        )
        expect(attrOf(element, flat[i]!.attrs[0]?.[0] ?? '\u0000none')).toBe(flat[i]!.attrs[0]?.[1])
      })
    }
  })

  it('parseEvent takes the header, point, contact and dest the tree holds, and cuts out exactly those dests', () => {
    let parsed = 0
    for (const { seed, text, root } of events) {
      const detail = childNamed(root, 'detail')
      const uid = attr(root, 'uid')
      const type = attr(root, 'type')
      if (!uid || !type) {
        expect(() => parseEvent(Buffer.from(text)), `seed ${seed}`).toThrow()
        continue
      }
      parsed++
      const event = parseEvent(Buffer.from(text))
      const point = childNamed(root, 'point')
      const contact = childNamed(detail, 'contact')
      const { dest, cut } = expectedDest(detail)
      expect(event, `seed ${seed}: ${text}`).toMatchObject({
        uid,
        type,
        how: attr(root, 'how') ?? '',
        time: attr(root, 'time') ?? '',
        start: attr(root, 'start') ?? '',
        stale: attr(root, 'stale') ?? '',
        point: {
          lat: metric(attr(point, 'lat'), 0),
          lon: metric(attr(point, 'lon'), 0),
          hae: metric(attr(point, 'hae'), 999999),
          ce: metric(attr(point, 'ce'), 999999),
          le: metric(attr(point, 'le'), 999999)
        },
        callsign: attr(contact, 'callsign') ?? null,
        endpoint: attr(contact, 'endpoint') ?? null
      })
      expect(event.dest, `seed ${seed}`).toEqual(dest)
      const expected = without(root, cut)
      expect(rootOf(event.xml.toString('utf8')), `seed ${seed}`).toEqual(expected)
      if (detail) expect(rootOf(event.detailXml), `seed ${seed}`).toEqual(childNamed(expected, 'detail'))
      else expect(event.detailXml).toBe('')
      if (cut.size === 0 && text.trimStart().startsWith('<event')) expect(event.xml.toString('utf8')).toBe(text.trim())
    }
    expect(parsed).toBeGreaterThan(CASES / 2)
  })

  it('decodes and escapes text as fast-xml-parser reads and writes it', () => {
    const g = new Gen(9001)
    for (let i = 0; i < CASES; i++) {
      const value = g.raw(20)
      const quote = g.pick(['"', "'"] as const)
      const encoded = g.encode(value, quote)
      expect(decodeEntities(encoded)).toBe(value)
      expect(attr(rootOf(`<a v=${quote}${encoded}${quote}/>`), 'v')).toBe(value)
      expect(attr(rootOf(`<a v="${escapeAttr(value)}"/>`), 'v')).toBe(value)
    }
  })

  it('refuses what fast-xml-parser finds malformed: cut short, a tag closed by another name, an attribute twice', () => {
    const g = new Gen(4242)
    for (const { seed, text } of events) {
      const root = scanXml(text)[0]!
      const broken = [
        text.slice(0, 1 + g.int(root.end - 2)),
        text.replace(/<\/event(\s*)>/, '</evnt$1>'),
        text.replace(/<event\b/, '<event dup="1" dup="2"')
      ]
      for (const doc of broken) {
        expect(XMLValidator.validate(doc), `seed ${seed}: ${doc}`).not.toBe(true)
        expect(() => scanXml(doc), `seed ${seed}: ${doc}`).toThrow(XmlSyntaxError)
      }
    }
  })
})
