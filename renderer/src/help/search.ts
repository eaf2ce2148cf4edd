// Search across every help topic: each word typed must appear somewhere in a topic (title, summary, text, steps or
// snippets); results name the lines that matched, split into pieces so the words found can be marked without HTML.

import { linesOf, type HelpTopic } from './types.ts'

/** A typed query is cut to this many characters and words: the search stays instant whatever is pasted into it. */
export const MAX_QUERY_CHARS = 100
const MAX_WORDS = 8
const LINES_SHOWN = 2
/** An excerpt starts this many characters before the first word found, so a long step shows where it matched. */
const EXCERPT_LEAD = 40
const EXCERPT_CHARS = 160

export interface Piece {
  text: string
  hit: boolean
}

export interface HelpResult {
  topic: HelpTopic
  /** Up to two lines of the topic that hold a word of the query, each in pieces. */
  excerpts: Piece[][]
}

/** The query's words, lower case, longest first so that a longer word wins where two overlap. */
export function wordsOf(query: string): string[] {
  const words = query.slice(0, MAX_QUERY_CHARS).toLowerCase().split(/\s+/).filter(Boolean).slice(0, MAX_WORDS)
  return [...new Set(words)].sort((a, b) => b.length - a.length)
}

/** `text` in pieces, the ones that are one of `words` (any case) marked as hits. */
export function highlight(text: string, words: string[]): Piece[] {
  const lower = text.toLowerCase()
  const pieces: Piece[] = []
  let plain = 0
  let at = 0
  while (at < text.length) {
    const word = words.find((w) => lower.startsWith(w, at))
    if (word === undefined) {
      at++
      continue
    }
    if (at > plain) pieces.push({ text: text.slice(plain, at), hit: false })
    pieces.push({ text: text.slice(at, at + word.length), hit: true })
    at += word.length
    plain = at
  }
  if (plain < text.length) pieces.push({ text: text.slice(plain), hit: false })
  return pieces
}

/** The part of a long line around the first word found, with "…" where it was cut. */
export function excerptOf(line: string, words: string[]): string {
  const lower = line.toLowerCase()
  const first = Math.min(...words.map((w) => lower.indexOf(w)).filter((i) => i >= 0))
  const start = Number.isFinite(first) && first > EXCERPT_LEAD ? lower.lastIndexOf(' ', first - EXCERPT_LEAD) + 1 : 0
  const end = Math.min(line.length, start + EXCERPT_CHARS)
  return `${start > 0 ? '…' : ''}${line.slice(start, end)}${end < line.length ? '…' : ''}`
}

/** Topics holding every word of the query, those with a word in their title first; none for an empty query. */
export function searchHelp(topics: HelpTopic[], query: string): HelpResult[] {
  const words = wordsOf(query)
  if (words.length === 0) return []
  const results: { result: HelpResult; inTitle: boolean }[] = []
  for (const topic of topics) {
    const lines = linesOf(topic)
    const lowerLines = lines.map((l) => l.toLowerCase())
    if (!words.every((w) => lowerLines.some((l) => l.includes(w)))) continue
    const matching = lines.filter((_, i) => words.some((w) => lowerLines[i]!.includes(w)))
    // The title is shown anyway; the excerpts show where in the body the words are, when they are there.
    const body = matching.filter((l) => l !== topic.title)
    const excerpts = (body.length > 0 ? body : matching).slice(0, LINES_SHOWN).map((l) => highlight(excerptOf(l, words), words))
    const title = topic.title.toLowerCase()
    results.push({ result: { topic, excerpts }, inTitle: words.some((w) => title.includes(w)) })
  }
  return results.sort((a, b) => Number(b.inTitle) - Number(a.inTitle)).map((r) => r.result)
}
