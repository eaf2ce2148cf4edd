// The building blocks of every method schema: ids, names, bounded text and numbers, toggles, and the string formats
// a JSON Schema keyword cannot say (hidden characters in names, callsigns, fingerprints, base64), registered once.

import { Type, type SchemaOptions, type Static, type TLiteral, type TProperties, type TSchema, type TUnion } from '@sinclair/typebox'
import { defineFormat } from '../validate.ts'

/**
 * C0/C1 controls and lone surrogates; the bidi controls (ALM, LRM, RLM, LRE-RLO, LRI-PDI); zero-width space, word
 * joiner and invisible operators, BOM; line and paragraph separators.
 */
export const HIDDEN_CHARACTER = /[\p{Cc}\p{Cs}\u061C\u200B\u200E\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u

/**
 * A name people read in lists and logs (organizations, networks, teams, users, peers): any letters of any script,
 * but no control characters, line breaks, direction overrides or invisible spaces, which could hide, reorder or
 * forge what the next reader sees. Zero-width (non-)joiners stay: Persian, Indic scripts and emoji need them.
 */
defineFormat('name', {
  problem(text, field) {
    const bad = HIDDEN_CHARACTER.exec(text)
    if (!bad) return null
    const at = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')
    return `${field} must not contain control characters, line breaks or invisible direction or spacing marks (it has U+${at}).`
  }
})

// ATAK shows callsigns everywhere; control characters would corrupt the pref XML and the certificate subject, and a
// line or paragraph separator (U+2028/2029, neither control nor format) breaks the line of every list that shows it.
defineFormat('callsign', {
  problem: (text, field) => (/^[^\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]+$/u.test(text) ? null : `${field} is not in the expected format.`)
})
// A self-enrolling device types its callsign as the user name of HTTP Basic authentication, where ':' ends it.
defineFormat('enrollment-callsign', {
  problem: (text, field) => (/^[^\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}:]+$/u.test(text) ? null : `${field} is not in the expected format.`)
})

const fingerprintHex = (text: string): string => text.replace(/[\s:-]/g, '').toUpperCase()
defineFormat('sha256-fingerprint', {
  problem: (text) =>
    /^[0-9A-F]{64}$/.test(fingerprintHex(text))
      ? null
      : 'That is not a SHA-256 certificate fingerprint: it must be 32 bytes, i.e. 64 hexadecimal digits, with or without colons.',
  canonical: (text) => fingerprintHex(text).match(/../g)!.join(':')
})

/** Base64 text of any length the transport delivered; its decoded size is checked against Packages:MaxBytes. */
defineFormat('base64', {
  problem(text, field) {
    if (text.length === 0) return 'The file is empty.'
    return /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(text) ? null : `${field} is not valid base64.`
  },
  notText: (field) => `${field} must be base64 text.`
})

// Results carry ISO-8601 timestamps from Date.toISOString() (and what older stores kept).
defineFormat('date-time', {
  problem: (text, field) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) ? null : `${field} is not a timestamp.`
})

/** Text; trimmed before it is checked unless `trim: false`. `format` names one of the formats above. */
export function Text(opts: { min?: number; max?: number; pattern?: RegExp; trim?: boolean; format?: string; description?: string } = {}) {
  const { min = 0, max = 10_000, pattern, trim = true, format, description } = opts
  return Type.String({
    ...(min > 0 ? { minLength: min } : {}),
    ...(Number.isFinite(max) ? { maxLength: max } : {}),
    ...(pattern ? { pattern: pattern.source } : {}),
    ...(format ? { format } : {}),
    ...(trim ? {} : { 'x-trim': false }),
    ...(description ? { description } : {})
  })
}

/** A display name (see the 'name' format). */
export const Name = (opts: { max?: number } = {}) => Text({ min: 1, max: opts.max ?? 100, format: 'name' })

export const Id = () => Text({ min: 1, max: 100 })

export const Int = (opts: { min?: number; max?: number } = {}) =>
  Type.Integer({ minimum: opts.min ?? Number.MIN_SAFE_INTEGER, maximum: opts.max ?? Number.MAX_SAFE_INTEGER })

/** One of a closed list of words. */
export const OneOf = <const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnion<TLiteral<T[number]>[]> =>
  Type.Union(
    values.map((value) => Type.Literal(value as T[number])),
    options
  )

export const Nullable = <S extends TSchema>(schema: S) => Type.Union([schema, Type.Null()])

/** ISO-8601 timestamp string. */
export const Iso = (options: SchemaOptions = {}) => Type.String({ format: 'date-time', ...options })

/** A method's argument object: unknown fields are refused (also `__proto__` and friends). */
export const Args = <P extends TProperties>(properties: P) => Type.Object(properties, { additionalProperties: false })

/** A result object: exactly these fields, so the result check in tests also catches a field leaking out. */
export const Dto = <P extends TProperties>(properties: P, description?: string) =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) })

/** The argument of a method that takes none (nothing, null or {}). */
export const NoArgs = () => Type.Undefined()

/** The result of a method that answers nothing. */
export const Nothing = () => Type.Null()

/** The four toggles of a federation end or peer. */
export const toggleFields = {
  incoming: Type.Boolean(),
  outgoing: Type.Boolean(),
  acceptPackages: Type.Boolean(),
  sharePackages: Type.Boolean()
}

/** The four toggles, each optional, as arguments that change some of them. */
export const toggleArgs = {
  incoming: Type.Optional(Type.Boolean()),
  outgoing: Type.Optional(Type.Boolean()),
  acceptPackages: Type.Optional(Type.Boolean()),
  sharePackages: Type.Optional(Type.Boolean())
}

/** Relay (issue 20): whether traffic that arrived over another federation may leave here, and over how many links. */
export const relayFields = {
  /** Traffic that arrived over another federation may leave here (off: single hop). */
  relay: Type.Boolean(),
  /** Relayed traffic leaves here only if it has crossed fewer federation links than this (1–8). */
  maxHops: Int({ min: 1, max: 8 })
}
export const relayArgs = { relay: Type.Optional(Type.Boolean()), maxHops: Type.Optional(Int({ min: 1, max: 8 })) }

export const Toggles = Dto(toggleFields)
export type Toggles = Static<typeof Toggles>

export const DownloadDto = Dto({ filename: Type.String(), mimeType: Type.String(), contentBase64: Type.String() })
export type DownloadDto = Static<typeof DownloadDto>

/** A method: its argument and its result, the one declaration types, validation and OpenAPI come from. */
export interface MethodSchema {
  args: TSchema
  result: TSchema
  /** One line for the OpenAPI document. */
  summary?: string
}

/** Identity helper so each area declares its methods with their exact schema types. */
export const methods = <T extends Record<string, MethodSchema>>(table: T): T => table
