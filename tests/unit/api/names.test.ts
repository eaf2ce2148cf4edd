// v.name(): the one validator of every display name (organizations, networks, teams, users, peers) refuses what can
// hide, reorder or forge text for the next reader, and keeps every script's letters.

import { describe, expect, it } from 'vitest'
import { ApiError } from '../../../gateway/api/errors.ts'
import { Args, Name, Text } from '../../../gateway/api/schema/fields.ts'
import { parseArgs } from '../../../gateway/api/validate.ts'

// The name check is a schema format now: checked as the field `name` of an argument, as dispatch() does.
const nameArgs = Args({ name: Name({ max: 64 }) })
const name = { parse: (value: string, field: 'name'): string => parseArgs(nameArgs, { [field]: value }).name }
const refusal = (value: string): string => {
  try {
    name.parse(value, 'name')
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).code).toBe('invalid')
    return (err as ApiError).message
  }
  throw new Error(`accepted ${JSON.stringify(value)}`)
}

describe('v.name', () => {
  it.each([
    ['NUL', 'Alpha\u0000Team', '0000'],
    ['newline', 'Alpha\nTeam', '000A'],
    ['tab', 'Alpha\tTeam', '0009'],
    ['DEL', 'Alpha\u007f', '007F'],
    ['C1 NEL', 'Alpha\u0085Team', '0085'],
    ['right-to-left override', 'Invoice\u202Efdp.exe', '202E'],
    ['left-to-right embedding', '\u202AAlpha', '202A'],
    ['right-to-left isolate', 'A\u2067B\u2069', '2067'],
    ['left-to-right mark', 'Alpha\u200E', '200E'],
    ['right-to-left mark', '\u200FAlpha', '200F'],
    ['Arabic letter mark', 'Alpha\u061CB', '061C'],
    ['zero-width space', 'Al\u200Bpha', '200B'],
    ['word joiner', 'Al\u2060pha', '2060'],
    ['line separator', 'Alpha\u2028Team', '2028'],
    ['paragraph separator', 'Alpha\u2029Team', '2029'],
    ['byte order mark inside', 'Al\uFEFFpha', 'FEFF'],
    ['lone surrogate', 'Alpha\uD800', 'D800']
  ])('refuses %s', (_label, value, codePoint) => {
    expect(refusal(value)).toBe(
      `'name' must not contain control characters, line breaks or invisible direction or spacing marks (it has U+${codePoint}).`
    )
  })

  it.each([
    ['Arabic', 'فريق الاستطلاع'],
    ['Hebrew', 'צוות סיור'],
    ['Persian with a zero-width non-joiner', 'می\u200Cخواهم'],
    ['Devanagari with a joiner', 'क्\u200Dष'],
    ['emoji sequence', 'Team 👩‍🚒'],
    ['Latin with accents and punctuation', "Équipe d'Alpha-2 (nord)"],
    ['CJK', '第二小队']
  ])('accepts %s', (_label, value) => {
    expect(name.parse(value, 'name')).toBe(value)
  })

  it('trims surrounding white space as before, and still bounds length and emptiness', () => {
    expect(name.parse('  Alpha\n', 'name')).toBe('Alpha')
    expect(refusal('   ')).toMatch(/must not be empty/)
    expect(refusal('x'.repeat(65))).toMatch(/at most 64/)
  })
})

describe('callsign format', () => {
  const callsignArgs = Args({ callsign: Text({ min: 1, max: 64, format: 'callsign' }) })
  const enrollArgs = Args({ callsign: Text({ min: 1, max: 64, format: 'enrollment-callsign' }) })
  const refused = (args: typeof callsignArgs, value: string): boolean => {
    try {
      parseArgs(args, { callsign: value })
      return false
    } catch (err) {
      expect((err as ApiError).code).toBe('invalid')
      return true
    }
  }

  it.each([
    ['NUL', 'Alpha\u0000'],
    ['C1 NEL', 'Alpha\u0085'],
    ['right-to-left override', 'Alpha\u202E1'],
    ['line separator', 'Alpha\u2028One'],
    ['paragraph separator', 'Alpha\u2029One'],
    ['lone surrogate', 'Alpha\uD800']
  ])('refuses a callsign with a %s, in both forms', (_label, value) => {
    expect(refused(callsignArgs, value)).toBe(true)
    expect(refused(enrollArgs, value)).toBe(true)
  })

  it("accepts callsigns of any script, and keeps ':' out of the one typed as an HTTP Basic user name", () => {
    for (const value of ['ALPHA-1', 'صقر 2', '第二小队', 'Bravo (6)']) expect(refused(callsignArgs, value)).toBe(false)
    expect(refused(callsignArgs, 'ALPHA:1')).toBe(false)
    expect(refused(enrollArgs, 'ALPHA:1')).toBe(true)
  })
})
