// Map files for tests, written byte by byte so no tool or dependency is needed: a raster or vector PMTiles v3
// archive holding one tile (0/0/0), and a PNG of flat colours to put in it.

import { deflateSync } from 'node:zlib'

function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}

/** The eight bytes every PNG starts with: enough for tests that only open the archive. */
export const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/**
 * A one-tile PMTiles v3 archive (tile 0/0/0, the whole world), nothing compressed, from the v3 layout: header, root
 * directory, metadata, the tile. tileType: 1 vector, 2 PNG.
 */
export function pmtiles(tileType: number, tile: Uint8Array = PNG_SIGNATURE): Uint8Array<ArrayBuffer> {
  // One entry: tile id 0, run length 1, length, offset 0 (written as offset + 1).
  const directory = new Uint8Array([...varint(1), ...varint(0), ...varint(1), ...varint(tile.length), ...varint(1)])
  const metadata = new TextEncoder().encode('{}')
  const header = new DataView(new ArrayBuffer(127))
  const bytes = new Uint8Array(header.buffer)
  bytes.set(new TextEncoder().encode('PMTiles'), 0)
  bytes[7] = 3
  const rootOffset = 127
  const metadataOffset = rootOffset + directory.length
  const dataOffset = metadataOffset + metadata.length
  const u64 = (at: number, value: number): void => header.setBigUint64(at, BigInt(value), true)
  u64(8, rootOffset)
  u64(16, directory.length)
  u64(24, metadataOffset)
  u64(32, metadata.length)
  u64(40, dataOffset)
  u64(48, 0)
  u64(56, dataOffset)
  u64(64, tile.length)
  u64(72, 1)
  u64(80, 1)
  u64(88, 1)
  bytes[96] = 1
  bytes[97] = 1 // internal compression: none
  bytes[98] = 1 // tile compression: none
  bytes[99] = tileType
  bytes[100] = 0
  bytes[101] = 0
  header.setInt32(102, -180e7, true)
  header.setInt32(106, -85e7, true)
  header.setInt32(110, 180e7, true)
  header.setInt32(114, 85e7, true)
  const out = new Uint8Array(dataOffset + tile.length)
  out.set(bytes, 0)
  out.set(directory, rootOffset)
  out.set(metadata, metadataOffset)
  out.set(tile, dataOffset)
  return out
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(data: Buffer): number {
  let c = 0xffffffff
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(typed))
  return Buffer.concat([length, typed, crc])
}

/** A size×size RGB PNG: the top half one colour, the bottom half another ([r, g, b] each 0–255). */
export function twoColourPng(size: number, top: [number, number, number], bottom: [number, number, number]): Buffer {
  const rows: Buffer[] = []
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3) // the leading 0: filter "none"
    const [r, g, b] = y < size / 2 ? top : bottom
    for (let x = 0; x < size; x++) row.set([r, g, b], 1 + x * 3)
    rows.push(row)
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8 bits per channel, RGB, deflate, no filter method, not interlaced
  return Buffer.concat([
    Buffer.from(PNG_SIGNATURE),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0))
  ])
}
