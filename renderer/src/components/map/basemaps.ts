// What the live map draws under the devices, with no tile server: the bundled world outline (Natural Earth 1:110m
// from world-atlas), and optionally an offline PMTiles file of raster tiles the operator picks, read from the local
// file and drawn onto tile canvases (no blob: or network URLs, which the console's CSP would refuse anyway).

import L from 'leaflet'
import { FileSource, PMTiles, TileType } from 'pmtiles'
import { feature } from 'topojson-client'
import type { GeometryCollection, Topology } from 'topojson-specification'
import countries from 'world-atlas/countries-110m.json'

/** The outline on one canvas in `pane`: the live map gives it a pane under the tiles, so a map file covers its land. */
export function worldOutline(pane = 'overlayPane'): L.GeoJSON {
  const topology = countries as unknown as Topology<{ countries: GeometryCollection }>
  const world = feature(topology, topology.objects.countries)
  // The options reach each country's path: one shared canvas draws all of them (the typings omit `renderer` here).
  const options = {
    renderer: L.canvas({ padding: 0.5, pane }),
    interactive: false,
    style: { color: '#7d8b99', weight: 1, fillColor: '#2d3a46', fillOpacity: 1 }
  } as L.GeoJSONOptions
  return L.geoJSON(world, options)
}

const RASTER: Record<number, string> = { [TileType.Png]: 'PNG', [TileType.Jpeg]: 'JPEG', [TileType.Webp]: 'WebP', [TileType.Avif]: 'AVIF' }

/** An operator's map file as a Leaflet layer; throws with a sentence for them when the file cannot serve. */
export async function offlineMapLayer(file: File): Promise<{ layer: L.GridLayer; description: string }> {
  if (/\.mbtiles$/i.test(file.name)) {
    throw new Error(
      'MBTiles files cannot be opened here yet. Convert it to PMTiles (pmtiles convert map.mbtiles map.pmtiles) and pick that.'
    )
  }
  const archive = new PMTiles(new FileSource(file))
  let header
  try {
    header = await archive.getHeader()
  } catch {
    throw new Error(`${file.name} is not a PMTiles map file.`)
  }
  const kind = RASTER[header.tileType]
  if (!kind) {
    throw new Error(`${file.name} holds vector tiles; this map shows raster PMTiles (PNG, JPEG or WebP tiles). Pick a raster file.`)
  }
  const Layer = L.GridLayer.extend({
    createTile(coords: L.Coords, done: L.DoneCallback): HTMLElement {
      const tile = document.createElement('canvas')
      tile.width = 256
      tile.height = 256
      archive
        .getZxy(coords.z, coords.x, coords.y)
        .then(async (answer) => {
          if (answer) tile.getContext('2d')!.drawImage(await createImageBitmap(new Blob([answer.data])), 0, 0, 256, 256)
          done(undefined, tile)
        })
        .catch((err: unknown) => done(err as Error, tile))
      return tile
    }
  }) as unknown as new (options: L.GridLayerOptions) => L.GridLayer
  const layer = new Layer({ minZoom: 0, maxZoom: 19, maxNativeZoom: header.maxZoom, minNativeZoom: header.minZoom })
  return { layer, description: `${file.name}: ${kind} tiles, zoom ${header.minZoom}–${header.maxZoom}` }
}
