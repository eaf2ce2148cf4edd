// Method arguments against their TypeBox schema: text is trimmed and put in canonical form, Value.Check decides, and
// when it refuses, the first problem in reading order becomes one sentence naming the field, as an operator fixes it.

import { FormatRegistry, Kind, OptionalKind, type Static, type TSchema } from '@sinclair/typebox'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import { Value } from '@sinclair/typebox/value'
import { invalid } from './errors.ts'

/** A string format a JSON Schema cannot spell: the check, its sentence, and the form handlers receive. */
export interface Format {
  /** Null when the text is fine; otherwise the sentence, given the field as `describe()` words it. */
  problem(text: string, field: string): string | null
  /** The one spelling handlers receive (e.g. fingerprints as AA:BB:…). */
  canonical?(text: string): string
  /** The sentence for a value that is not text at all. */
  notText?(field: string): string
}

const FORMATS = new Map<string, Format>()

/** Registers a format once, for Value.Check (FormatRegistry) and for the sentences below. */
export function defineFormat(name: string, format: Format): void {
  FORMATS.set(name, format)
  FormatRegistry.Set(name, (text) => format.problem(text, '') === null)
}

/** Schemas of text an operator types are trimmed before checking unless they say `x-trim: false` (passwords). */
const TRIM = 'x-trim'

const describe = (field: string): string => (field ? `'${field}'` : 'The argument')

type Schema = TSchema & Record<string, unknown>

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

const nonNullVariant = (schema: Schema): Schema | null => {
  const variants = (schema.anyOf ?? []) as Schema[]
  return variants.length === 2 && variants.some((v) => v[Kind] === 'Null') ? variants.find((v) => v[Kind] !== 'Null')! : null
}

const literals = (schema: Schema): string[] | null => {
  const variants = (schema.anyOf ?? []) as Schema[]
  return variants.length > 0 && variants.every((v) => v[Kind] === 'Literal') ? variants.map((v) => String(v.const)) : null
}

/**
 * The value as handlers get it: text trimmed (and in a format's canonical form), fields that are undefined left out,
 * every object a fresh copy. Anything unexpected is returned untouched for Value.Check to refuse.
 */
function normalize(schema: Schema, value: unknown): unknown {
  if (schema[Kind] === 'String' && typeof value === 'string') {
    const text = schema[TRIM] === false ? value : value.trim()
    const format = FORMATS.get(schema.format as string)
    return format?.canonical && format.problem(text, '') === null ? format.canonical(text) : text
  }
  if (schema[Kind] === 'Object' && isPlainObject(value)) {
    const properties = schema.properties as Record<string, Schema>
    if (Object.keys(value).some((key) => !Object.hasOwn(properties, key))) return value
    const out: Record<string, unknown> = {}
    for (const [key, property] of Object.entries(properties)) {
      if (value[key] !== undefined) out[key] = normalize(property, value[key])
    }
    return out
  }
  if (schema[Kind] === 'Array' && Array.isArray(value)) return value.map((item) => normalize(schema.items as Schema, item))
  const inner = schema[Kind] === 'Union' ? nonNullVariant(schema) : null
  return inner && value !== null ? normalize(inner, value) : value
}

/**
 * Checks and normalizes a method's argument. A schema of kind Undefined means "no argument": nothing, null or {}.
 * An Optional schema also takes nothing. Throws ApiError('invalid') with a sentence.
 */
export function parseArgs<S extends TSchema>(schema: S, raw: unknown): Static<S> {
  const s = schema as Schema
  if (s[Kind] === 'Undefined') {
    if (raw === undefined || raw === null || (isPlainObject(raw) && Object.keys(raw).length === 0)) return undefined as Static<S>
    throw invalid('The argument must be empty: this method takes no arguments.')
  }
  if (s[OptionalKind] === 'Optional' && raw === undefined) return undefined as Static<S>
  const value = normalize(s, raw)
  if (Value.Check(schema, value)) return value as Static<S>
  throw invalid(sentenceFor(s, value, [...Value.Errors(schema, value)]))
}

/** Where an error sits in reading order: unknown fields before known ones, known ones in the schema's order. */
interface Located {
  error: ValueError
  order: number[]
  field: string
}

function locate(root: Schema, rootValue: unknown, error: ValueError): Located {
  const segments =
    error.path === ''
      ? []
      : error.path
          .slice(1)
          .split('/')
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  const order: number[] = []
  let field = ''
  let schema: Schema | null = root
  let value = rootValue
  for (const segment of segments) {
    const inner: Schema | null = schema && schema[Kind] === 'Union' ? nonNullVariant(schema) : schema
    if (inner?.[Kind] === 'Array') {
      order.push(0, Number(segment))
      field += `[${segment}]`
      schema = inner.items as Schema
    } else {
      const properties = (inner?.properties ?? {}) as Record<string, Schema>
      const known = Object.hasOwn(properties, segment)
      order.push(
        known ? 1 : 0,
        known ? Object.keys(properties).indexOf(segment) : Object.keys(isPlainObject(value) ? value : {}).indexOf(segment)
      )
      field += field ? `.${segment}` : segment
      schema = known ? properties[segment]! : null
    }
    value = isPlainObject(value) || Array.isArray(value) ? (value as Record<string, unknown>)[segment] : undefined
  }
  return { error, order, field }
}

const before = (a: number[], b: number[]): boolean => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]!
  return a.length < b.length
}

function sentenceFor(root: Schema, value: unknown, errors: ValueError[]): string {
  let first: Located | null = null
  for (const error of errors) {
    const located = locate(root, value, error)
    if (!first || before(located.order, first.order)) first = located
  }
  if (!first) return `${describe('')} is not in the expected format.`
  const { error, field } = first
  if (error.type === ValueErrorType.ObjectAdditionalProperties) return `Unknown field '${field}'.`
  if (error.type === ValueErrorType.Union && error.value !== null) {
    const union = error.schema as Schema
    const inner = nonNullVariant(union)
    // A nullable field that is neither null nor right: tell what is wrong with it as the non-null kind.
    if (inner) return sentenceFor(root, value, [...error.errors[(union.anyOf as Schema[]).indexOf(inner)]!])
  }
  return leafSentence(error.schema as Schema, error, describe(field))
}

/** The sentence for one refused value, worded as the earlier hand-written validators did. */
function leafSentence(schema: Schema, error: ValueError, field: string): string {
  const values = literals(schema)
  if (values) return `${field} must be one of: ${values.join(', ')}.`
  const format = FORMATS.get(schema.format as string)
  switch (error.type) {
    case ValueErrorType.StringMinLength:
      return (schema.minLength as number) <= 1 ? `${field} must not be empty.` : `${field} must be at least ${schema.minLength} characters.`
    case ValueErrorType.StringMaxLength:
      return `${field} must be at most ${schema.maxLength} characters.`
    case ValueErrorType.StringFormat:
      return format?.problem(String(error.value), field) ?? `${field} is not in the expected format.`
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
      return `${field} must be between ${schema.minimum} and ${schema.maximum}.`
    case ValueErrorType.ArrayMaxItems:
      return `${field} has more than ${schema.maxItems} entries.`
  }
  switch (schema[Kind]) {
    case 'String':
      return error.type === ValueErrorType.String || error.value === undefined
        ? (format?.notText?.(field) ?? `${field} must be text.`)
        : `${field} is not in the expected format.`
    case 'Integer':
      return `${field} must be a whole number.`
    case 'Boolean':
      return `${field} must be true or false.`
    case 'Object':
      return `${field} must be an object.`
    case 'Array':
      return `${field} must be a list.`
  }
  return `${field} is not in the expected format.`
}

/** For tests: why a method's result does not match its schema, or null when it does. */
export function resultProblem(schema: TSchema, result: unknown): string | null {
  const error = Value.Errors(schema, result).First()
  return error ? `${error.path || '(the result)'}: ${error.message}` : null
}
