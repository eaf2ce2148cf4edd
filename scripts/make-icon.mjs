// Draws build/icon.png (1024×1024): the app icon electron-builder turns into .ico/.icns/Linux sizes.
// Our own drawing (a federation graph: three linked nodes on a dark tile), so no artwork licence is involved.
// Run: node scripts/make-icon.mjs

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'

const SIZE = 1024
const pixels = Buffer.alloc(SIZE * SIZE * 4)

const TILE = [24, 32, 44]
const LINE = [120, 190, 255]
const NODE = [255, 255, 255]
const nodes = [
  [330, 330],
  [694, 330],
  [512, 700]
]

function distanceToSegment(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax
  const dy = by - ay
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy))
}

/** Coverage 0..1 of a shape given the signed distance to its edge (negative inside), for smooth edges. */
const cover = (distance) => Math.max(0, Math.min(1, 0.5 - distance))

for (let y = 0; y < SIZE; y++) {
  for (let x = 0; x < SIZE; x++) {
    // Rounded square tile with a margin, as the platforms expect.
    const margin = 64
    const radius = 180
    const qx = Math.max(Math.abs(x + 0.5 - SIZE / 2) - (SIZE / 2 - margin - radius), 0)
    const qy = Math.max(Math.abs(y + 0.5 - SIZE / 2) - (SIZE / 2 - margin - radius), 0)
    const tileAlpha = cover(Math.hypot(qx, qy) - radius)
    let color = TILE
    let mix = 0
    const edgeDistance = Math.min(
      distanceToSegment(x, y, nodes[0], nodes[1]),
      distanceToSegment(x, y, nodes[1], nodes[2]),
      distanceToSegment(x, y, nodes[2], nodes[0])
    )
    const lineCover = cover(edgeDistance - 22)
    const nodeCover = Math.max(...nodes.map(([nx, ny]) => cover(Math.hypot(x - nx, y - ny) - 92)))
    const blend = (a, b, t) => a.map((v, i) => Math.round(v * (1 - t) + b[i] * t))
    color = blend(color, LINE, lineCover)
    color = blend(color, NODE, nodeCover)
    mix = tileAlpha
    const offset = (y * SIZE + x) * 4
    pixels[offset] = color[0]
    pixels[offset + 1] = color[1]
    pixels[offset + 2] = color[2]
    pixels[offset + 3] = Math.round(255 * mix)
  }
}

function crc32(buffer) {
  let crc = ~0
  for (const byte of buffer) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1))
  }
  return ~crc >>> 0
}

function chunk(type, data) {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

const header = Buffer.alloc(13)
header.writeUInt32BE(SIZE, 0)
header.writeUInt32BE(SIZE, 4)
header[8] = 8 // bit depth
header[9] = 6 // RGBA
const rows = Buffer.alloc(SIZE * (SIZE * 4 + 1))
for (let y = 0; y < SIZE; y++) pixels.copy(rows, y * (SIZE * 4 + 1) + 1, y * SIZE * 4, (y + 1) * SIZE * 4)
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', header),
  chunk('IDAT', zlib.deflateSync(rows, { level: 9 })),
  chunk('IEND', Buffer.alloc(0))
])
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'build', 'icon.png')
fs.writeFileSync(out, png)
console.log(`wrote ${out} (${png.length} bytes)`)
