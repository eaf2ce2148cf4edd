// fast-xml-parser configured once for the XML that is off the hot path: the artefacts we build (prefs, manifests,
// CoreConfig snippets, enrollment answers) and the little XML we read outside routing (a fileshare's detail).
// Events on the hot path keep the linear scanner in xml-scan.ts; entities decode here by its rules.

import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser'
import { decodeEntities, XmlSyntaxError } from './xml-scan.ts'

/**
 * An element as the builder takes it and the parser gives it: `@name` keys are attributes (in document order),
 * `#text` is text, any other key a child element (an array for repeated ones). Values are escaped on the way out.
 */
export interface XmlNode {
  [key: string]: XmlValue | XmlNode | XmlNode[] | undefined
}
export type XmlValue = string | number | boolean

const ATTRIBUTE_PREFIX = '@'
const TEXT = '#text'

const builderOptions = {
  ignoreAttributes: false,
  attributeNamePrefix: ATTRIBUTE_PREFIX,
  textNodeName: TEXT,
  // The library writes an attribute whose value is "true" as a bare name (HTML style) unless told not to.
  suppressBooleanAttributes: false,
  processEntities: true
}

export interface BuildOptions {
  /** One element per line, indented by two spaces, ending with a line break (ATAK's prefs and manifests). Default false. */
  indent?: boolean
  /** An empty element as `<a></a>` rather than `<a/>` (how our prefs have always carried an empty value). Default false. */
  pairedEmpty?: boolean
}

/** One builder per layout, made on first use and kept. */
const builders = new Map<string, XMLBuilder>()

/** XML for `root`: compact (nothing added between elements) unless `indent`; text and attribute values escaped. */
export function buildXml(root: XmlNode, options: BuildOptions = {}): string {
  const indent = options.indent === true
  const pairedEmpty = options.pairedEmpty === true
  const key = `${indent}/${pairedEmpty}`
  let builder = builders.get(key)
  if (!builder) {
    builder = new XMLBuilder({ ...builderOptions, suppressEmptyNode: !pairedEmpty, ...(indent ? { format: true, indentBy: '  ' } : {}) })
    builders.set(key, builder)
  }
  return builder.build(root) as string
}

/** The XML declaration, with `standalone="yes"` where the document we imitate has it (no line break after it). */
export function xmlDeclaration(standalone = false): string {
  const declaration: XmlNode = { '@version': '1.0', '@encoding': 'UTF-8' }
  if (standalone) declaration['@standalone'] = 'yes'
  return buildXml({ '?xml': declaration })
}

/**
 * The object keys JavaScript reserves, which the parser refuses outright; an element so named is kept under `#name`
 * (no XML name starts with '#') so a detail carrying one still parses. Attributes are safe behind their '@'.
 */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype'])

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTRIBUTE_PREFIX,
  textNodeName: TEXT,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  transformTagName: (name) => (RESERVED_NAMES.has(name) ? `#${name}` : name),
  // Only the five predefined entities and character references, decoded as the hot path decodes them; a DOCTYPE
  // (and so any entity it declares) is refused rather than expanded.
  entityDecoder: {
    decode: decodeEntities,
    addInputEntities: () => {
      throw new XmlSyntaxError('Declarations (DOCTYPE, ENTITY) are not accepted')
    },
    setExternalEntities: () => {},
    reset: () => {},
    setXmlVersion: () => {}
  }
})

/** Parse a well-formed document (one root element) into XmlNode form. Throws XmlSyntaxError for anything malformed or declared. */
export function parseXml(text: string): XmlNode {
  const verdict = XMLValidator.validate(text)
  if (verdict !== true) throw new XmlSyntaxError(verdict.err.msg)
  let doc: XmlNode
  try {
    doc = parser.parse(text) as XmlNode
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw error
    throw new XmlSyntaxError((error as Error).message)
  }
  // The validator lets a second root through after a self-closed first one.
  const roots = Object.keys(doc).filter((key) => !key.startsWith('?'))
  if (roots.length !== 1 || Array.isArray(doc[roots[0]!])) throw new XmlSyntaxError('The document does not have exactly one root element')
  return doc
}

/** The child elements of `node` named `name`, in order, each as an XmlNode (an empty or text-only one included). */
export function childElements(node: XmlNode | undefined, name: string): XmlNode[] {
  const value = node?.[name]
  if (value === undefined) return []
  return (Array.isArray(value) ? value : [value]).map((child) => (typeof child === 'object' ? child : { [TEXT]: String(child) }))
}

/** An attribute of a parsed element, or undefined. */
export function attributeOf(node: XmlNode, name: string): string | undefined {
  const value = node[ATTRIBUTE_PREFIX + name]
  return typeof value === 'string' ? value : undefined
}

/** Attribute entries as an XmlNode fragment: `attributes([['key', 'count']])` is `{ '@key': 'count' }`. */
export function attributes(entries: Iterable<readonly [string, XmlValue]>): XmlNode {
  const node: XmlNode = {}
  for (const [name, value] of entries) node[ATTRIBUTE_PREFIX + name] = value
  return node
}
