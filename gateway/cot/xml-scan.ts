// A small, strict single-pass XML scanner for one CoT event: checks well-formedness and records every element with
// its attributes and offsets, without building an object tree keyed by element names (no prototype pollution).

export interface ScannedElement {
  name: string
  /** Decoded attributes in document order; an array, never an object keyed by attribute names. */
  attrs: [string, string][]
  /** Index of the parent element in `elements`, -1 for the root. */
  parent: number
  depth: number
  /** Offsets in the scanned text: the start tag's `<` and just past the end tag's `>`. */
  start: number
  end: number
  /** Just past the start tag's `>` and at the end tag's `<`; equal for a self-closing element. */
  contentStart: number
  contentEnd: number
  /** True when the element has child elements or non-whitespace text. */
  hasContent: boolean
}

export class XmlSyntaxError extends Error {}

/**
 * A well-formed document with more elements or attributes than any CoT event needs: refused before it costs memory
 * (each scanned element or attribute is an object many times the bytes that spelled it).
 */
export class XmlLimitError extends XmlSyntaxError {}

/**
 * Caps per document. ATAK's busiest events (routes, drawn shapes: one `<link>` per point) hold a few hundred to a few
 * thousand elements and a PLI about ten; no CoT element has more than a couple dozen attributes.
 */
export const MAX_ELEMENTS = 8192
export const MAX_ATTRIBUTES = 256

export interface XmlLimits {
  maxElements: number
  maxAttributes: number
}
const CAPS: XmlLimits = { maxElements: MAX_ELEMENTS, maxAttributes: MAX_ATTRIBUTES }

/** Up to this many attributes a duplicate is looked for in the array; past it, in a Set (no square cost). */
const LINEAR_DUPLICATE_CHECK = 16

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/** Decode the five predefined entities and numeric character references; anything else is a syntax error. */
export function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw
  return raw.replace(/&([^;&]*);?/g, (match, name: string) => {
    if (!match.endsWith(';')) throw new XmlSyntaxError('An entity reference is not terminated')
    if (Object.hasOwn(PREDEFINED, name)) return PREDEFINED[name]!
    const code = /^#x[0-9a-fA-F]{1,6}$/.test(name)
      ? parseInt(name.slice(2), 16)
      : /^#[0-9]{1,7}$/.test(name)
        ? parseInt(name.slice(1), 10)
        : NaN
    if (!Number.isFinite(code) || code > 0x10ffff || code === 0) throw new XmlSyntaxError(`Unknown entity &${name};`)
    return String.fromCodePoint(code)
  })
}

export function escapeAttr(value: string): string {
  return value.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'))
}

/** A name's first character: a letter, '_', ':' or anything from U+00C0 up (XML's NameStartChar, loosely). */
function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || c >= 0xc0
}
const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

function isNameChar(c: number): boolean {
  return c > 0x20 && c !== 0x3e /* > */ && c !== 0x2f /* / */ && c !== 0x3d /* = */ && c !== 0x3c && c !== 0x22 && c !== 0x27
}

/**
 * Scan `text` as one XML document with exactly one root element. A leading XML declaration, comments and
 * whitespace are allowed around the root; DOCTYPE and entity declarations are refused. Past `limits` it throws
 * XmlLimitError (tests lift them to time the scan itself); every step is linear in the text.
 */
export function scanXml(text: string, limits: XmlLimits = CAPS): ScannedElement[] {
  const elements: ScannedElement[] = []
  const open: number[] = []
  let rootClosed = false
  let pos = 0
  const len = text.length
  while (pos < len) {
    const lt = text.indexOf('<', pos)
    const textEnd = lt === -1 ? len : lt
    if (textEnd > pos && !onlySpace(text, pos, textEnd)) markText(text, pos, textEnd, elements, open)
    if (lt === -1) break
    const next = text.charCodeAt(lt + 1)
    if (next === 0x21 /* ! */) {
      pos = skipBangMarkup(text, lt, elements, open)
      continue
    }
    if (next === 0x3f /* ? */) {
      pos = skipProcessingInstruction(text, lt, elements, open)
      continue
    }
    if (next === 0x2f /* / */) {
      pos = closeElement(text, lt, elements, open)
      if (open.length === 0) rootClosed = true
      continue
    }
    if (rootClosed) throw new XmlSyntaxError('More than one root element')
    const parent = open.length > 0 ? open[open.length - 1]! : -1
    const element = scanStartTag(text, lt, parent, open.length, elements.length, limits)
    if (parent >= 0) elements[parent]!.hasContent = true
    elements.push(element)
    if (element.end !== -1) {
      if (open.length === 0) rootClosed = true
    } else {
      open.push(elements.length - 1)
    }
    pos = element.contentStart
  }
  if (open.length > 0) throw new XmlSyntaxError(`<${elements[open[open.length - 1]!]!.name}> is not closed`)
  if (elements.length === 0) throw new XmlSyntaxError('No element')
  return elements
}

/** Text that is not all whitespace: only inside the root, and its entities must decode. */
function markText(text: string, from: number, to: number, elements: ScannedElement[], open: number[]): void {
  if (open.length === 0) throw new XmlSyntaxError('Text outside the root element')
  const chunk = text.slice(from, to)
  if (chunk.includes('&')) decodeEntities(chunk)
  elements[open[open.length - 1]!]!.hasContent = true
}

/** `<!…` at `lt`: a comment anywhere or CDATA inside the root is skipped; a DOCTYPE or ENTITY is refused. */
function skipBangMarkup(text: string, lt: number, elements: ScannedElement[], open: number[]): number {
  if (text.startsWith('<!--', lt)) {
    const close = text.indexOf('-->', lt + 4)
    if (close === -1) throw new XmlSyntaxError('Unterminated comment')
    return close + 3
  }
  if (text.startsWith('<![CDATA[', lt) && open.length > 0) {
    const close = text.indexOf(']]>', lt + 9)
    if (close === -1) throw new XmlSyntaxError('Unterminated CDATA section')
    elements[open[open.length - 1]!]!.hasContent = true
    return close + 3
  }
  throw new XmlSyntaxError('Declarations (DOCTYPE, ENTITY) are not accepted')
}

function skipProcessingInstruction(text: string, lt: number, elements: ScannedElement[], open: number[]): number {
  if (open.length > 0 || elements.length > 0) throw new XmlSyntaxError('Processing instructions are only accepted before the root')
  const close = text.indexOf('?>', lt + 2)
  if (close === -1) throw new XmlSyntaxError('Unterminated processing instruction')
  return close + 2
}

/** The end tag at `lt` closes the innermost open element; returns the offset past its `>`. */
function closeElement(text: string, lt: number, elements: ScannedElement[], open: number[]): number {
  const gt = text.indexOf('>', lt + 2)
  if (gt === -1) throw new XmlSyntaxError('Unterminated end tag')
  const name = text.slice(lt + 2, gt).trimEnd()
  const index = open.pop()
  if (index === undefined) throw new XmlSyntaxError(`Unexpected end tag </${name}>`)
  const element = elements[index]!
  if (element.name !== name) throw new XmlSyntaxError(`</${name}> does not close <${element.name}>`)
  element.contentEnd = lt
  element.end = gt + 1
  return gt + 1
}

/**
 * The start tag at `lt` as the `count`th element. Its `contentStart` is just past the tag, where scanning goes on; `end` is set
 * only when the tag closes itself (-1 until its end tag is found).
 */
function scanStartTag(text: string, lt: number, parent: number, depth: number, count: number, limits: XmlLimits): ScannedElement {
  const len = text.length
  let cursor = lt + 1
  while (cursor < len && isNameChar(text.charCodeAt(cursor))) cursor++
  const name = text.slice(lt + 1, cursor)
  if (name === '' || !isNameStart(name.charCodeAt(0))) throw new XmlSyntaxError('An element has no valid name')
  if (count >= limits.maxElements) throw new XmlLimitError(`More than ${limits.maxElements} elements`)
  const attrs: [string, string][] = []
  let seen: Set<string> | null = null
  let selfClosing = false
  for (;;) {
    while (cursor < len && isSpace(text.charCodeAt(cursor))) cursor++
    if (cursor >= len) throw new XmlSyntaxError(`Unterminated start tag <${name}>`)
    const c = text.charCodeAt(cursor)
    if (c === 0x3e /* > */) {
      cursor++
      break
    }
    if (c === 0x2f /* / */) {
      if (text.charCodeAt(cursor + 1) !== 0x3e) throw new XmlSyntaxError(`Malformed start tag <${name}>`)
      selfClosing = true
      cursor += 2
      break
    }
    if (attrs.length > 0 && !isSpace(text.charCodeAt(cursor - 1)))
      throw new XmlSyntaxError(`Attributes of <${name}> need whitespace between them`)
    const attrStart = cursor
    while (cursor < len && isNameChar(text.charCodeAt(cursor))) cursor++
    const attrName = text.slice(attrStart, cursor)
    if (attrName === '' || !isNameStart(attrName.charCodeAt(0))) throw new XmlSyntaxError(`Malformed attribute in <${name}>`)
    while (cursor < len && isSpace(text.charCodeAt(cursor))) cursor++
    if (text.charCodeAt(cursor) !== 0x3d /* = */) throw new XmlSyntaxError(`Attribute ${attrName} has no value`)
    cursor++
    while (cursor < len && isSpace(text.charCodeAt(cursor))) cursor++
    const quote = text[cursor]
    if (quote !== '"' && quote !== "'") throw new XmlSyntaxError(`Attribute ${attrName} is not quoted`)
    const valueEnd = text.indexOf(quote, cursor + 1)
    if (valueEnd === -1) throw new XmlSyntaxError(`Attribute ${attrName} is not terminated`)
    const raw = text.slice(cursor + 1, valueEnd)
    if (raw.includes('<')) throw new XmlSyntaxError(`Attribute ${attrName} contains '<'`)
    if (attrs.length >= limits.maxAttributes) throw new XmlLimitError(`<${name}> has more than ${limits.maxAttributes} attributes`)
    if (seen === null && attrs.length >= LINEAR_DUPLICATE_CHECK) seen = new Set(attrs.map((a) => a[0]))
    if (seen !== null ? seen.has(attrName) : attrs.some((a) => a[0] === attrName))
      throw new XmlSyntaxError(`Attribute ${attrName} appears twice`)
    seen?.add(attrName)
    attrs.push([attrName, decodeEntities(raw)])
    cursor = valueEnd + 1
  }
  return {
    name,
    attrs,
    parent,
    depth,
    start: lt,
    end: selfClosing ? cursor : -1,
    contentStart: cursor,
    contentEnd: cursor,
    hasContent: false
  }
}

/** True when text[from, to) is all XML whitespace (space, tab, CR, LF: other blanks are text, as XML has it). */
function onlySpace(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(text.charCodeAt(i))) return false
  return true
}

export function attrOf(element: ScannedElement, name: string): string | undefined {
  for (const [n, v] of element.attrs) if (n === name) return v
  return undefined
}
