// Runtime checks for method arguments: a small schema language, enough for JSON objects of scalars and lists.
// Every method declares its schema next to its handler; dispatch() applies it before anything else runs.

import { invalid } from './errors.ts'

export type Schema<T> = { readonly parse: (value: unknown, path: string) => T; readonly optional?: boolean }
export type Infer<S> = S extends Schema<infer T> ? T : never

const describe = (path: string): string => (path ? `'${path}'` : 'The argument')

/**
 * C0/C1 controls and lone surrogates; the bidi controls (ALM, LRM, RLM, LRE-RLO, LRI-PDI); zero-width space, word
 * joiner and invisible operators, BOM; line and paragraph separators.
 */
const HIDDEN_CHARACTER = /[\p{Cc}\p{Cs}\u061C\u200B\u200E\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u

function make<T>(parse: (value: unknown, path: string) => T): Schema<T> {
  return { parse }
}

export const v = {
  string(opts: { min?: number; max?: number; pattern?: RegExp; trim?: boolean; label?: string } = {}): Schema<string> {
    const { min = 0, max = 10_000, pattern, trim = true } = opts
    return make((value, path) => {
      if (typeof value !== 'string') throw invalid(`${describe(path)} must be text.`)
      const s = trim ? value.trim() : value
      if (s.length < min) throw invalid(min <= 1 ? `${describe(path)} must not be empty.` : `${describe(path)} must be at least ${min} characters.`)
      if (s.length > max) throw invalid(`${describe(path)} must be at most ${max} characters.`)
      if (pattern && !pattern.test(s)) throw invalid(`${describe(path)} is not in the expected format.`)
      return s
    })
  },
  /**
   * A name people read in lists and logs (organizations, networks, teams, users, peers): any letters of any script,
   * but no control characters, line breaks, direction overrides or invisible spaces, which could hide, reorder or
   * forge what the next reader sees. Zero-width (non-)joiners stay: Persian, Indic scripts and emoji need them.
   */
  name(opts: { max?: number } = {}): Schema<string> {
    const text = v.string({ min: 1, max: opts.max ?? 100 })
    return make((value, path) => {
      const s = text.parse(value, path)
      const bad = HIDDEN_CHARACTER.exec(s)
      if (bad) {
        const at = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')
        throw invalid(`${describe(path)} must not contain control characters, line breaks or invisible direction or spacing marks (it has U+${at}).`)
      }
      return s
    })
  },
  id(): Schema<string> {
    return v.string({ min: 1, max: 100 })
  },
  int(opts: { min?: number; max?: number } = {}): Schema<number> {
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = opts
    return make((value, path) => {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(`${describe(path)} must be a whole number.`)
      if (value < min || value > max) throw invalid(`${describe(path)} must be between ${min} and ${max}.`)
      return value
    })
  },
  boolean(): Schema<boolean> {
    return make((value, path) => {
      if (typeof value !== 'boolean') throw invalid(`${describe(path)} must be true or false.`)
      return value
    })
  },
  literal<const T extends readonly string[]>(values: T): Schema<T[number]> {
    return make((value, path) => {
      if (typeof value !== 'string' || !values.includes(value)) throw invalid(`${describe(path)} must be one of: ${values.join(', ')}.`)
      return value as T[number]
    })
  },
  array<T>(item: Schema<T>, opts: { max?: number } = {}): Schema<T[]> {
    const { max = 10_000 } = opts
    return make((value, path) => {
      if (!Array.isArray(value)) throw invalid(`${describe(path)} must be a list.`)
      if (value.length > max) throw invalid(`${describe(path)} has more than ${max} entries.`)
      return value.map((x, i) => item.parse(x, `${path}[${i}]`))
    })
  },
  optional<T>(inner: Schema<T>): Schema<T | undefined> {
    return { parse: (value, path) => (value === undefined ? undefined : inner.parse(value, path)), optional: true }
  },
  nullable<T>(inner: Schema<T>): Schema<T | null> {
    return make((value, path) => (value === null ? null : inner.parse(value, path)))
  },
  object<S extends Record<string, Schema<unknown>>>(shape: S): Schema<{ [K in keyof S]: Infer<S[K]> }> {
    return make((value, path) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${describe(path)} must be an object.`)
      const input = value as Record<string, unknown>
      for (const key of Object.keys(input)) {
        if (!Object.hasOwn(shape, key)) throw invalid(`Unknown field '${path ? `${path}.` : ''}${key}'.`)
      }
      const out: Record<string, unknown> = {}
      for (const [key, schema] of Object.entries(shape)) {
        const parsed = schema.parse(input[key], path ? `${path}.${key}` : key)
        if (parsed !== undefined) out[key] = parsed
      }
      return out as { [K in keyof S]: Infer<S[K]> }
    })
  },
  /** No argument at all (undefined, null or {}). */
  none(): Schema<undefined> {
    return make((value, path) => {
      if (value === undefined || value === null) return undefined
      if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return undefined
      throw invalid(`${describe(path)} must be empty: this method takes no arguments.`)
    })
  }
}

/** The four toggles of a federation end or peer, each optional. */
export const toggleFields = {
  incoming: v.optional(v.boolean()),
  outgoing: v.optional(v.boolean()),
  acceptPackages: v.optional(v.boolean()),
  sharePackages: v.optional(v.boolean())
}
