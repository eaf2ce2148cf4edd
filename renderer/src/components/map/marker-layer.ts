// The live map's devices drawn on one canvas over the Leaflet map (not one DOM element per device: 1,000 markers
// moving every second would cost a layout each). Redrawn when positions change or the view moves; a click finds the
// nearest drawn device. The drawn state is also written to the canvas's data-markers (for tests and assistive tools).

import L from 'leaflet'
import type { PositionDto } from '../../../../gateway/api/contract.ts'
import { symbolFor } from './symbols.ts'

/** Past this many drawn devices the data-markers attribute holds only the count (it is for small views and tests). */
const DESCRIBED_MAX = 300
const HIT_RADIUS_PX = 16
const LABEL_FONT = '12px Roboto, sans-serif'

export interface DrawnMarker {
  key: string
  callsign: string
  x: number
  y: number
  stale: boolean
  sourceId: string
}

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
  /** Milliseconds each of the recent draws took (for the frame-time measurement). */
  readonly drawTimes: number[] = []

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
    map.on('move zoom resize viewreset', this.redraw, this)
    this.redraw()
    return this
  }

  override onRemove(map: L.Map): this {
    map.off('move zoom resize viewreset', this.redraw, this)
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
    const ratio = window.devicePixelRatio || 1
    if (canvas.width !== size.x * ratio || canvas.height !== size.y * ratio) {
      canvas.width = size.x * ratio
      canvas.height = size.y * ratio
      canvas.style.width = `${size.x}px`
      canvas.style.height = `${size.y}px`
    }
    // The overlay pane moves with the map while dragging; keep the canvas on the container's top-left corner.
    L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]))
    const ctx = canvas.getContext('2d')!
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
    ctx.clearRect(0, 0, size.x, size.y)
    const now = this.source.now()
    const drawn: DrawnMarker[] = []
    const items: { p: PositionDto; x: number; y: number; stale: boolean }[] = []
    for (const p of this.source.visible()) {
      const at = map.latLngToContainerPoint([p.lat, p.lon])
      const staleAt = Date.parse(p.stale)
      const stale = Number.isFinite(staleAt) && staleAt <= now
      // Trails are drawn even when the device itself is just off screen, so a track entering the view is seen.
      this.drawTrail(ctx, map, p, stale)
      if (at.x < -40 || at.y < -40 || at.x > size.x + 40 || at.y > size.y + 40) continue
      items.push({ p, x: at.x, y: at.y, stale })
      drawn.push({ key: p.key, callsign: p.callsign, x: Math.round(at.x), y: Math.round(at.y), stale, sourceId: p.sourceId })
    }
    const selected = this.source.selectedKey()
    ctx.font = LABEL_FONT
    ctx.textBaseline = 'middle'
    for (const { p, x, y, stale } of items) {
      // A ring in the source's colour under the symbol: which network or peer it came from, at a glance.
      ctx.beginPath()
      ctx.arc(x, y, p.key === selected ? 17 : 14, 0, Math.PI * 2)
      ctx.fillStyle = stale ? 'rgba(140,140,140,0.35)' : `${this.source.colourOf(p.sourceId)}59`
      ctx.fill()
      ctx.lineWidth = p.key === selected ? 3 : 2
      ctx.strokeStyle = stale ? '#8a8a8a' : this.source.colourOf(p.sourceId)
      ctx.stroke()
      const symbol = symbolFor(p.type, p.course, stale)
      ctx.drawImage(symbol.canvas, Math.round(x - symbol.anchorX), Math.round(y - symbol.anchorY))
      ctx.lineWidth = 3
      ctx.strokeStyle = 'rgba(0,0,0,0.75)'
      ctx.strokeText(p.callsign, x + 16, y)
      ctx.fillStyle = stale ? '#b0b0b0' : '#ffffff'
      ctx.fillText(p.callsign, x + 16, y)
    }
    this.drawn = drawn
    canvas.dataset.count = String(drawn.length)
    canvas.dataset.markers = drawn.length <= DESCRIBED_MAX ? JSON.stringify(drawn) : ''
    this.drawTimes.push(performance.now() - started)
    if (this.drawTimes.length > 600) this.drawTimes.splice(0, this.drawTimes.length - 600)
  }

  private drawTrail(ctx: CanvasRenderingContext2D, map: L.Map, p: PositionDto, stale: boolean): void {
    if (p.trail.length < 2) return
    ctx.beginPath()
    p.trail.forEach(([lat, lon], i) => {
      const at = map.latLngToContainerPoint([lat, lon])
      if (i === 0) ctx.moveTo(at.x, at.y)
      else ctx.lineTo(at.x, at.y)
    })
    ctx.lineWidth = 2
    ctx.strokeStyle = stale ? 'rgba(140,140,140,0.5)' : `${this.source.colourOf(p.sourceId)}99`
    ctx.stroke()
  }
}
