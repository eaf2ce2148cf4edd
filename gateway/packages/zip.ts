// Looking inside data-package zips without extracting them: entries are never written to disk, so a hostile entry name
// ("../../x", "/etc/x") cannot escape anywhere, and never inflated whole into memory, so a zip bomb costs nothing.
// Used to drop blocked file types before federating a package.

import type { Readable } from 'node:stream'
import yauzl from 'yauzl'
import yazl from 'yazl'

export interface ZipEntryInfo {
  name: string
  size: number
}

/** True when an entry name could escape a folder if someone did extract it: absolute, drive letters, `..`, NUL. */
export function isUnsafeEntryName(name: string): boolean {
  if (name.includes('\0') || name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) return true
  return name.split(/[\\/]/).some((part) => part === '..')
}

function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? ''
  const dot = base.lastIndexOf('.')
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : ''
}

export function isBlocked(name: string, blockedExtensions: readonly string[]): boolean {
  const ext = extensionOf(name)
  return ext !== '' && blockedExtensions.some((b) => b.replace(/^\./, '').toLowerCase() === ext)
}

function looksLikeZip(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50
}

/**
 * A zip that would expand past what we are willing to inflate (a zip bomb): refused before any byte is inflated, from
 * the sizes its directory declares. yauzl (validateEntrySizes) ends an entry whose data runs past its declared size,
 * so a zip cannot lie its way under these limits.
 */
export class ZipTooLargeError extends Error {
  constructor(
    readonly zipBytes: number,
    readonly expandedBytes: number,
    limitBytes: number
  ) {
    super(
      `the zip (${describeBytes(zipBytes)}) would expand to ${describeBytes(expandedBytes)}, more than the ${describeBytes(limitBytes)} allowed ` +
        `(at most ${MAX_EXPANSION_RATIO} times its own size, at least ${describeBytes(RATIO_FLOOR_BYTES)})`
    )
    this.name = 'ZipTooLargeError'
  }
}

/** Ordinary packages (images, KML, text) compress 1-20 times; deflate reaches ~1,000 only on repetitive filler. */
const MAX_EXPANSION_RATIO = 100
/** Below this, any ratio is allowed: a small package of text may compress well and costs nothing to check. */
const RATIO_FLOOR_BYTES = 16 * 1_048_576

/** The most a zip of `zipBytes` may expand to when read: `maxTotal`, and at most MAX_EXPANSION_RATIO times its size. */
function expansionLimit(zipBytes: number, maxTotal: number): number {
  return Math.min(maxTotal, Math.max(RATIO_FLOOR_BYTES, zipBytes * MAX_EXPANSION_RATIO))
}

function describeBytes(n: number): string {
  return n >= 1_048_576 ? `${(n / 1_048_576).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`
}

function openZip(bytes: Buffer): Promise<yauzl.ZipFile> {
  return new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(
      bytes,
      { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true, strictFileNames: false },
      (err, z) => (err || !z ? reject(err ?? new Error('unreadable zip')) : resolve(z))
    )
  )
}

/** Every entry of an in-memory zip, from its central directory only (nothing is inflated). Rejects on a corrupt zip. */
async function entriesOf(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  const out: yauzl.Entry[] = []
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject)
    zip.on('end', () => resolve())
    zip.on('entry', (entry: yauzl.Entry) => {
      out.push(entry)
      zip.readEntry()
    })
    zip.readEntry()
  })
  return out
}

/** An entry's inflated bytes; only for an entry whose declared size was checked against the limits. */
function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error('unreadable entry'))
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('error', reject)
      stream.on('end', () => resolve(Buffer.concat(chunks)))
    })
  })
}

export async function listEntries(bytes: Buffer): Promise<ZipEntryInfo[]> {
  const zip = await openZip(bytes)
  try {
    return (await entriesOf(zip)).map((entry) => ({ name: entry.fileName, size: entry.uncompressedSize }))
  } finally {
    zip.close()
  }
}

/** `MANIFEST/manifest.xml` as text, or null when the zip has none, it is larger than `maxBytes`, or this is not a zip. */
export async function readManifest(bytes: Buffer, maxBytes = 1_048_576): Promise<string | null> {
  if (!looksLikeZip(bytes)) return null
  try {
    const zip = await openZip(bytes)
    try {
      const entry = (await entriesOf(zip)).find((e) => e.fileName.toLowerCase() === 'manifest/manifest.xml')
      if (!entry || entry.uncompressedSize > maxBytes) return null
      return (await readEntry(zip, entry)).toString('utf8')
    } finally {
      zip.close()
    }
  } catch {
    return null
  }
}

/**
 * A copy of the zip without entries whose extension is blocked (and without entries whose names are unsafe).
 * Returns the original bytes untouched, inflating nothing, when nothing has to go or it is not a zip. Otherwise the
 * kept entries stream from the original into the copy one at a time (never whole in memory), after their declared
 * sizes passed expansionLimit(): a bomb rejects with ZipTooLargeError before a byte is inflated.
 */
export async function stripBlockedEntries(
  bytes: Buffer,
  blockedExtensions: readonly string[],
  maxTotal: number
): Promise<{ bytes: Buffer; removed: string[] }> {
  if (!looksLikeZip(bytes) || blockedExtensions.length === 0) return { bytes, removed: [] }
  const zip = await openZip(bytes)
  try {
    const removed: string[] = []
    const kept: yauzl.Entry[] = []
    for (const entry of await entriesOf(zip)) {
      const name = entry.fileName
      if (isUnsafeEntryName(name) || isBlocked(name, blockedExtensions)) removed.push(name)
      else kept.push(entry)
    }
    if (removed.length === 0) return { bytes, removed }
    const expanded = kept.reduce((sum, entry) => sum + entry.uncompressedSize, 0)
    const limit = expansionLimit(bytes.length, maxTotal)
    if (expanded > limit) throw new ZipTooLargeError(bytes.length, expanded, limit)
    return { bytes: await copyEntries(zip, kept), removed }
  } finally {
    zip.close()
  }
}

/** A new zip of `entries`, each streamed from `zip` when yazl comes to it; any entry's error rejects the whole. */
function copyEntries(zip: yauzl.ZipFile, entries: yauzl.Entry[]): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const out = new yazl.ZipFile()
    let failed = false
    const fail = (err: Error): void => {
      if (failed) return
      failed = true
      ;(out.outputStream as Readable).destroy()
      reject(err)
    }
    for (const entry of entries) {
      const name = entry.fileName
      const mtime = entry.getLastModDate()
      if (name.endsWith('/')) {
        out.addEmptyDirectory(name, { mtime })
        continue
      }
      out.addReadStreamLazy(name, { mtime, size: entry.uncompressedSize }, (cb) => {
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return fail(err ?? new Error('unreadable entry'))
          stream.on('error', fail)
          cb(null, stream)
        })
      })
    }
    out.on('error', fail)
    out.end()
    const chunks: Buffer[] = []
    out.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk))
    out.outputStream.on('error', fail)
    out.outputStream.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks))
    })
  })
}
