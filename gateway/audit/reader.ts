// Reads audit.ndjson backwards from a byte offset, newest first, a page at a time: the file may be far larger than
// memory, so a page reads in chunks and stops at its limit, at its scan budget, or at the oldest time asked for.

import fsp from 'node:fs/promises'
import type { AuditRecord } from './record.ts'

const CHUNK = 64 * 1024
/** A line longer than this is not one we wrote (details are small): it is skipped, never held. */
const MAX_LINE = 256 * 1024

export interface ReadPage {
  /** Read lines that end at or before this offset (the file's size for the newest page). */
  end: number
  limit: number
  /** Bytes a page may read before it answers with what it found and a cursor to go on. */
  scanBudget: number
  keep(record: AuditRecord): boolean
  /** Entries are in time order: once one is older than this, nothing before it can match. */
  from?: string
}

export interface ReadResult {
  found: { offset: number; record: AuditRecord }[]
  /** Where the next (older) page ends; null when the file's start was reached. */
  next: number | null
}

export async function readBackwards(file: string, page: ReadPage): Promise<ReadResult> {
  const found: ReadResult['found'] = []
  const handle = await fsp.open(file, 'r')
  try {
    let pos = page.end
    let carry: Buffer = Buffer.alloc(0)
    let carryTooLong = false
    let scanned = 0
    // One line: 'full' once the page has its limit, 'older' once entries are older than `from`.
    const take = (line: Buffer, offset: number): 'more' | 'full' | 'older' => {
      if (line.length === 0) return 'more'
      let record: AuditRecord
      try {
        record = JSON.parse(line.toString('utf8')) as AuditRecord
      } catch {
        return 'more' // a torn line after a crash
      }
      if (page.from !== undefined && typeof record.at === 'string' && record.at < page.from) return 'older'
      if (page.keep(record)) found.push({ offset, record })
      return found.length >= page.limit ? 'full' : 'more'
    }
    while (pos > 0) {
      if (scanned >= page.scanBudget) return { found, next: pos + carry.length }
      const size = Math.min(CHUNK, pos)
      pos -= size
      const chunk = Buffer.alloc(size)
      await handle.read(chunk, 0, size, pos)
      scanned += size
      const data = carry.length ? Buffer.concat([chunk, carry]) : chunk
      let lineEnd = data.length
      for (let i = data.length - 1; i >= 0; i--) {
        if (data[i] !== 0x0a) continue
        const state = carryTooLong && lineEnd === data.length ? 'more' : take(data.subarray(i + 1, lineEnd), pos + i + 1)
        carryTooLong = false
        if (state === 'full') return { found, next: pos + i + 1 }
        if (state === 'older') return { found, next: null }
        lineEnd = i
      }
      carry = data.subarray(0, lineEnd)
      if (carry.length > MAX_LINE) {
        carry = Buffer.alloc(0)
        carryTooLong = true
      }
    }
    // The file's first line: nothing is older, whatever it says.
    if (!carryTooLong) take(carry, 0)
    return { found, next: null }
  } finally {
    await handle.close()
  }
}
