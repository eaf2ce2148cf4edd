// The live map's devices drawn on one canvas over the Leaflet map (not one DOM element per device: 1,000 markers
// moving every second would cost a layout each). Redrawn when positions change or the view moves; a click finds the
// nearest drawn device. The drawn state is also written to the canvas's data-markers (for tests and assistive tools),
// and how long the last draw took to data-draw-ms (for the frame-time measurement).

import L from 'leaflet'
import type { PositionDto } from '../../../../gateway/api/contract.ts'
import { symbolFor } from './symbols.ts'

/** Past this many drawn devices the data-markers attribute holds only the count (it is for small views and tests). */
const DESCRIBED_MAX = 300
const HIT_RADIUS_PX = 16
const LABEL_FONT = '12px Roboto, sans-serif'
/**
 * The canvas reaches this share of the view beyond each edge: it moves with the map while dragged, so a pan shows
 * what is already drawn and the canvas is redrawn once, when the pan ends (not on every mouse move).
 */
const PAD = 0.25
/** Past this many devices in view, callsigns are written only for the selected one: 1,000 labels are unreadable anyway. */
const LABELS_MAX = 400

export interface DrawnMarker {
  key: string
  callsign: string
  x: number
  y: number
  stale: boolean
  sourceId: string
}

interface Projected {
  p: PositionDto
  x: number
  y: number
  stale: boolean
}

const STALE = '#8a8a8a'

export interface MarkerSource {
  /** The positions to draw this frame (already filtered by hidden sources). */
  visible(): Iterable<PositionDto>
  colourOf(sourceId: string): string
  now(): number
  selectedKey(): string | null
}

export class MarkerLayer extends L.Layer {
  private canvas: HTMLCanvasElement | null = null
  private frame = 0
  private drawn: DrawnMarker[] = []

  constructor(private readonly source: MarkerSource) {
    super()
  }

  override onAdd(map: L.Map): this {
    const canvas = L.DomUtil.create('canvas', 'fedgate-marker-canvas') as HTMLCanvasElement
    canvas.dataset.testid = 'map-canvas'
    canvas.style.position = 'absolute'
    canvas.style.pointerEvents = 'none'
    map.getPanes().overlayPane.appendChild(canvas)
    this.canvas = canvas
    map.on('moveend zoomend resize viewreset', this.redraw, this)
    this.redraw()
    return this
  }

  override onRemove(map: L.Map): this {
    map.off('moveend zoomend resize viewreset', this.redraw, this)
    cancelAnimationFrame(this.frame)
    this.canvas?.remove()
    this.canvas = null
    return this
  }

  /** Ask for a draw on the next animation frame (many changes in one frame draw once). */
  redraw(): void {
    if (this.frame !== 0 || !this.canvas) return
    this.frame = requestAnimationFrame(() => {
      this.frame = 0
      this.draw()
    })
  }

  /** The drawn device nearest to a container point, if one is within reach. */
  hit(point: L.Point): DrawnMarker | null {
    let best: DrawnMarker | null = null
    let bestDistance = HIT_RADIUS_PX * HIT_RADIUS_PX
    for (const m of this.drawn) {
      const d = (m.x - point.x) ** 2 + (m.y - point.y) ** 2
      if (d <= bestDistance) {
        best = m
        bestDistance = d
      }
    }
    return best
  }

  private draw(): void {
    const map = this._map as L.Map | undefined
    const canvas = this.canvas
    if (!map || !canvas) return
    const started = performance.now()
    const size = map.getSize()
    const padX = Math.round(size.x * PAD)
    const padY = Math.round(size.y * PAD)
    const width = size.x + 2 * padX
    const height = size.y + 2 * padY
    const ratio = window.devicePixelRatio || 1
    if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
      canvas.width = width * ratio
      canvas.height = height * ratio
      canvas.style.width = `${width}px`
      canvas.style.height = `${height}px`
    }
    // The overlay pane moves with the map; put the canvas's corner a pad beyond the container's top-left corner.
    L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([-padX, -padY]))
    const ctx = canvas.getContext('2d')!
    ctx.setTransform(ratio, 0, 0, ratio, ratio * padX, ratio * padY)
    ctx.clearRect(-padX, -padY, width, height)
    const items = this.project(map, -padX, -padY, size.x + padX, size.y + padY)
    this.drawTrails(ctx, map, items)
    this.drawRings(ctx, items)
    const selected = this.source.selectedKey()
    const labels = items.length <= LABELS_MAX
    ctx.font = LABEL_FONT
    ctx.textBaseline = 'middle'
    ctx.lineWidth = 3
    ctx.strokeStyle = 'rgba(0,0,0,0.75)'
    for (const { p, x, y, stale } of items) {
      const symbol = symbolFor(p.type, p.course, stale)
      ctx.drawImage(symbol.canvas, Math.round(x - symbol.anchorX), Math.round(y - symbol.anchorY))
      if (!labels && p.key !== selected) continue
      ctx.strokeText(p.callsign, x + 16, y)
      ctx.fillStyle = stale ? '#b0b0b0' : '#ffffff'
      ctx.fillText(p.callsign, x + 16, y)
    }
    const drawn: DrawnMarker[] = []
    for (const { p, x, y, stale } of items) {
      if (x < 0 || y < 0 || x > size.x || y > size.y) continue
      drawn.push({ key: p.key, callsign: p.callsign, x: Math.round(x), y: Math.round(y), stale, sourceId: p.sourceId })
    }
    this.drawn = drawn
    canvas.dataset.count = String(drawn.length)
    canvas.dataset.markers = drawn.length <= DESCRIBED_MAX ? JSON.stringify(drawn) : ''
    canvas.dataset.drawMs = (performance.now() - started).toFixed(2)
  }

  /** Where each visible device falls in container pixels, for those within the padded canvas. */
  private project(map: L.Map, minX: number, minY: number, maxX: number, maxY: number): Projected[] {
    const now = this.source.now()
    const out: Projected[] = []
    for (const p of this.source.visible()) {
      const at = map.latLngToContainerPoint([p.lat, p.lon])
      if (at.x < minX - 40 || at.y < minY - 40 || at.x > maxX + 40 || at.y > maxY + 40) continue
      const staleAt = Date.parse(p.stale)
      out.push({ p, x: at.x, y: at.y, stale: Number.isFinite(staleAt) && staleAt <= now })
    }
    return out
  }

  /** A ring in the source's colour under each symbol: which network or peer it came from. One path per colour. */
  private drawRings(ctx: CanvasRenderingContext2D, items: Projected[]): void {
    const selected = this.source.selectedKey()
    for (const [colour, group] of this.byColour(items)) {
      ctx.beginPath()
      for (const { p, x, y } of group) {
        const r = p.key === selected ? 17 : 14
        ctx.moveTo(x + r, y)
        ctx.arc(x, y, r, 0, Math.PI * 2)
      }
      ctx.fillStyle = colour === STALE ? 'rgba(140,140,140,0.35)' : `${colour}59`
      ctx.fill()
      ctx.lineWidth = 2
      ctx.strokeStyle = colour
      ctx.stroke()
    }
  }

  private byColour(items: Projected[]): Map<string, Projected[]> {
    const groups = new Map<string, Projected[]>()
    for (const item of items) {
      const colour = item.stale ? STALE : this.source.colourOf(item.p.sourceId)
      let group = groups.get(colour)
      if (!group) groups.set(colour, (group = []))
      group.push(item)
    }
    return groups
  }

  private drawTrails(ctx: CanvasRenderingContext2D, map: L.Map, items: Projected[]): void {
    ctx.lineWidth = 2
    for (const [colour, group] of this.byColour(items)) {
      ctx.beginPath()
      for (const { p } of group) {
        if (p.trail.length < 2) continue
        p.trail.forEach(([lat, lon], i) => {
          const at = map.latLngToContainerPoint([lat, lon])
          if (i === 0) ctx.moveTo(at.x, at.y)
          else ctx.lineTo(at.x, at.y)
        })
      }
      ctx.strokeStyle = colour === STALE ? 'rgba(140,140,140,0.5)' : `${colour}99`
      ctx.stroke()
    }
  }
}
