// Military symbols for the live map: a CoT type becomes a MIL-STD-2525 symbol code, drawn once by milsymbol per
// code, heading bucket and staleness and kept as a canvas, so 1,000 moving devices cost a drawImage each per frame.

import ms from 'milsymbol'

const AFFILIATIONS = new Set(['P', 'U', 'A', 'F', 'N', 'S', 'H', 'J', 'K'])
const DIMENSIONS = new Set(['P', 'A', 'G', 'S', 'U', 'F'])
/** Headings are drawn in steps of this many degrees: 24 cached canvases per symbol at most. */
const HEADING_STEP = 15
const SYMBOL_SIZE = 22
const MAX_CACHED = 2000

/**
 * `a-f-G-U-C` → `SFGPUCI--------` style codes: CoT's atom `a-` is followed by affiliation, battle dimension and the
 * 2525 function letters, which is how CoT types were made from 2525 in the first place. Anything else is unknown ground.
 */
export function sidcFromCotType(type: string): string {
  const parts = type.split('-')
  if (parts[0] !== 'a' || parts.length < 3) return 'SUGP-----------'
  const affiliation = (parts[1] ?? 'u').toUpperCase()
  const dimension = (parts[2] ?? 'G').toUpperCase()
  const fn = parts
    .slice(3)
    .filter((p) => /^[A-Za-z]$/.test(p))
    .join('')
    .toUpperCase()
    .slice(0, 6)
  return `S${AFFILIATIONS.has(affiliation) ? affiliation : 'U'}${DIMENSIONS.has(dimension) ? dimension : 'G'}P${fn.padEnd(6, '-')}-----`
}

export interface DrawnSymbol {
  canvas: HTMLCanvasElement
  /** The point of the canvas that sits on the position. */
  anchorX: number
  anchorY: number
}

const cache = new Map<string, DrawnSymbol>()

export function headingBucket(course: number | null): number | null {
  if (course === null || !Number.isFinite(course)) return null
  return (Math.round((((course % 360) + 360) % 360) / HEADING_STEP) * HEADING_STEP) % 360
}

/** The symbol for a CoT type, with a direction arrow when the course is known; grey when stale. */
export function symbolFor(type: string, course: number | null, stale: boolean): DrawnSymbol {
  const sidc = sidcFromCotType(type)
  const heading = headingBucket(course)
  const key = `${sidc}|${heading ?? '-'}|${stale ? 's' : 'l'}`
  const hit = cache.get(key)
  if (hit) return hit
  const symbol = new ms.Symbol(sidc, {
    size: SYMBOL_SIZE,
    ...(heading === null ? {} : { direction: heading }),
    ...(stale ? { monoColor: '#8a8a8a', fillOpacity: 0.5 } : {})
  })
  const anchor = symbol.getAnchor()
  const drawn: DrawnSymbol = { canvas: symbol.asCanvas(), anchorX: anchor.x, anchorY: anchor.y }
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!)
  cache.set(key, drawn)
  return drawn
}
