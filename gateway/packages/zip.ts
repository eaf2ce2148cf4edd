// Looking inside data-package zips, in memory only: entries are never written to disk, so a hostile entry name
// ("../../x", "/etc/x") cannot escape anywhere. Used to drop blocked file types before federating a package.

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

export function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? ''
  const dot = base.lastIndexOf('.')
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : ''
}

export function isBlocked(name: string, blockedExtensions: readonly string[]): boolean {
  const ext = extensionOf(name)
  return ext !== '' && blockedExtensions.some((b) => b.replace(/^\./, '').toLowerCase() === ext)
}

export function looksLikeZip(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50
}

/** Visit each entry of an in-memory zip; `onEntry` may read the entry's bytes. Rejects on a corrupt zip. */
async function walk(
  bytes: Buffer,
  maxTotal: number,
  onEntry: (entry: yauzl.Entry, read: () => Promise<Buffer>) => Promise<void>
): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(bytes, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: false }, (err, z) =>
      err || !z ? reject(err ?? new Error('unreadable zip')) : resolve(z)
    )
  )
  let total = 0
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject)
    zip.on('end', () => resolve())
    zip.on('entry', (entry: yauzl.Entry) => {
      const read = (): Promise<Buffer> =>
        new Promise<Buffer>((res, rej) => {
          // Bound what decompression may produce: a small zip can expand enormously.
          total += entry.uncompressedSize
          if (total > maxTotal) return rej(new Error('the zip expands beyond the size limit'))
          zip.openReadStream(entry, (err, stream) => {
            if (err || !stream) return rej(err ?? new Error('unreadable entry'))
            const chunks: Buffer[] = []
            stream.on('data', (c: Buffer) => chunks.push(c))
            stream.on('error', rej)
            stream.on('end', () => res(Buffer.concat(chunks)))
          })
        })
      onEntry(entry, read).then(() => zip.readEntry(), (err) => {
        zip.close()
        reject(err)
      })
    })
    zip.readEntry()
  })
}

export async function listEntries(bytes: Buffer): Promise<ZipEntryInfo[]> {
  const out: ZipEntryInfo[] = []
  await walk(bytes, Number.MAX_SAFE_INTEGER, async (entry) => {
    out.push({ name: entry.fileName, size: entry.uncompressedSize })
  })
  return out
}

/** `MANIFEST/manifest.xml` as text, or null when the zip has none (or is not a zip). */
export async function readManifest(bytes: Buffer, maxBytes = 1_048_576): Promise<string | null> {
  if (!looksLikeZip(bytes)) return null
  let manifest: string | null = null
  try {
    await walk(bytes, maxBytes, async (entry, read) => {
      if (manifest === null && entry.fileName.toLowerCase() === 'manifest/manifest.xml') manifest = (await read()).toString('utf8')
    })
  } catch {
    return null
  }
  return manifest
}

/**
 * A copy of the zip without entries whose extension is blocked (and without entries whose names are unsafe).
 * Returns the original bytes untouched when nothing had to go, or when it is not a zip.
 */
export async function stripBlockedEntries(
  bytes: Buffer,
  blockedExtensions: readonly string[],
  maxTotal: number
): Promise<{ bytes: Buffer; removed: string[] }> {
  if (!looksLikeZip(bytes) || blockedExtensions.length === 0) return { bytes, removed: [] }
  const removed: string[] = []
  const kept: { name: string; data: Buffer | null; mtime: Date }[] = []
  await walk(bytes, maxTotal, async (entry, read) => {
    const name = entry.fileName
    if (isUnsafeEntryName(name) || isBlocked(name, blockedExtensions)) {
      removed.push(name)
      return
    }
    kept.push({ name, data: name.endsWith('/') ? null : await read(), mtime: entry.getLastModDate() })
  })
  if (removed.length === 0) return { bytes, removed }
  const out = new yazl.ZipFile()
  for (const k of kept) {
    if (k.data === null) out.addEmptyDirectory(k.name, { mtime: k.mtime })
    else out.addBuffer(k.data, k.name, { mtime: k.mtime })
  }
  out.end()
  const chunks: Buffer[] = []
  for await (const chunk of out.outputStream) chunks.push(chunk as Buffer)
  return { bytes: Buffer.concat(chunks), removed }
}
