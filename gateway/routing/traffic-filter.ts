// Filters by kind of traffic (issue 20): which CoT crosses a federation end or a TAK peer in one direction. Each event
// is classified once from the type the scanner already read; each filter is compiled once into a predicate.

import { TRAFFIC_KINDS, type TrafficKind } from '../api/vocabulary.ts'

/** As stored and as the API carries it; null (no filter) lets everything cross. */
export interface TrafficFilter {
  kinds: TrafficKind[]
  typePrefixes?: string[]
}

/** Bounds of a filter's prefix list (the schema enforces the same). */
export const MAX_TYPE_PREFIXES = 32
export const MAX_TYPE_PREFIX_LENGTH = 64

/** A fileshare announcement: a device or a peer offers a data package. */
const FILESHARE_TYPE = 'b-f-t-r'

/** The kind of a CoT type. Chat receipts (b-t-f-d, b-t-f-r) go with the chat they answer. */
export function kindOf(type: string): TrafficKind {
  if (type.startsWith('a-')) return 'positions'
  if (type.startsWith('b-a-')) return 'emergencies'
  if (type === 'b-t-f' || type.startsWith('b-t-f-')) return 'chat'
  if (type.startsWith('b-m-') || type.startsWith('u-d-')) return 'markers'
  if (type === FILESHARE_TYPE) return 'packages'
  return 'other'
}

/** As stored: kinds in the console's order without repeats, prefixes without repeats, no empty prefix list. */
export function normalFilter(filter: TrafficFilter | null): TrafficFilter | null {
  if (!filter) return null
  const kinds = TRAFFIC_KINDS.filter((k) => filter.kinds.includes(k))
  const prefixes = [...new Set(filter.typePrefixes ?? [])].slice(0, MAX_TYPE_PREFIXES)
  return prefixes.length > 0 ? { kinds, typePrefixes: prefixes } : { kinds }
}

export type TypePredicate = (type: string) => boolean

const PASS_ALL: TypePredicate = () => true

/**
 * Whether `pattern` matches the start of `type`; `*` stands for any run of characters. Greedy with one step back to
 * the last `*`: at most |pattern| × |type| steps, never the exponential backtracking a RegExp of many stars could take.
 */
export function prefixMatches(pattern: string, type: string): boolean {
  let p = 0
  let t = 0
  let star = -1
  let resume = 0
  while (p < pattern.length) {
    if (t < type.length && pattern[p] !== '*' && pattern[p] === type[t]) {
      p++
      t++
    } else if (pattern[p] === '*') {
      star = p++
      resume = t
    } else if (star >= 0 && resume < type.length) {
      p = star + 1
      t = ++resume
    } else {
      return false
    }
  }
  return true
}

/** One filter as a fast predicate: a kind lookup, then the operator's prefixes (each lets its types cross too). */
export function compileFilter(filter: TrafficFilter | null | undefined): TypePredicate {
  if (!filter) return PASS_ALL
  const kinds = new Set(filter.kinds)
  const prefixes = (filter.typePrefixes ?? []).slice(0, MAX_TYPE_PREFIXES)
  if (prefixes.length === 0) return (type) => kinds.has(kindOf(type))
  return (type) => kinds.has(kindOf(type)) || prefixes.some((p) => prefixMatches(p, type))
}

/** Both ends' filters on one directed link (A's Out filter, then B's In filter). */
export function bothFilters(first: TrafficFilter | null | undefined, second: TrafficFilter | null | undefined): TypePredicate | null {
  if (!first && !second) return null
  const a = compileFilter(first)
  const b = compileFilter(second)
  return (type) => a(type) && b(type)
}

const compiled = new WeakMap<TrafficFilter, TypePredicate>()

/** The compiled predicate of a stored filter, compiled once per filter object (a change stores a new object). */
export function predicateOf(filter: TrafficFilter | null | undefined): TypePredicate {
  if (!filter) return PASS_ALL
  let predicate = compiled.get(filter)
  if (!predicate) {
    predicate = compileFilter(filter)
    compiled.set(filter, predicate)
  }
  return predicate
}
