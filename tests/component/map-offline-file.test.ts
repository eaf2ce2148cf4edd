// @vitest-environment happy-dom
// The live map's offline map file: a raster PMTiles archive (written byte by byte in tests/support/map-files.ts)
// opens as a layer and is described to the operator; vector PMTiles, MBTiles and anything else are declined with a
// sentence that says what to do.

import { describe, expect, it } from 'vitest'
import { offlineMapLayer } from '../../renderer/src/components/map/basemaps.ts'
import { pmtiles } from '../support/map-files.ts'

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
