// @vitest-environment happy-dom
// The live map's offline map file: a raster PMTiles archive (written here byte by byte from the v3 layout: header,
// root directory, metadata, one tile) opens as a layer and is described to the operator; vector PMTiles, MBTiles and
// anything else are declined with a sentence that says what to do.

import { describe, expect, it } from 'vitest'
import { offlineMapLayer } from '../../renderer/src/components/map/basemaps.ts'

function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}

/** A one-tile PMTiles v3 archive (tile 0/0/0), nothing compressed. tileType: 1 vector, 2 PNG. */
function pmtiles(tileType: number): Uint8Array<ArrayBuffer> {
  const tile = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
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

describe('offline map file', () => {
  it('opens a raster PMTiles file and says what it holds', async () => {
    const { layer, description } = await offlineMapLayer(new File([pmtiles(2)], 'valley.pmtiles'))
    expect(description).toBe('valley.pmtiles: PNG tiles, zoom 0–0')
    expect((layer.options as { maxNativeZoom?: number }).maxNativeZoom).toBe(0)
  })

  it('declines vector PMTiles, MBTiles and other files with what to do instead', async () => {
    await expect(offlineMapLayer(new File([pmtiles(1)], 'roads.pmtiles'))).rejects.toThrow(/vector tiles.*raster/)
    await expect(offlineMapLayer(new File([new Uint8Array(10)], 'area.mbtiles'))).rejects.toThrow(/Convert it to PMTiles/)
    await expect(offlineMapLayer(new File([new Uint8Array(200)], 'photo.jpg'))).rejects.toThrow('photo.jpg is not a PMTiles map file.')
  })
})
