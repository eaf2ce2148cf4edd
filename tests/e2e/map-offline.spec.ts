/// <reference lib="dom" />
// The offline map file (issue 18) in Chromium against a real `fedgate serve`: the operator picks a raster PMTiles file
// whose one tile is magenta above the equator and amber below, and the map then shows those colours where the tile
// lies, over land as well as sea (the bundled world outline must not cover it); closing the file takes them away.
// No request leaves 127.0.0.1.

import type { Page } from '@playwright/test'
import { pmtiles, twoColourPng } from '../support/map-files.ts'
import { ADMIN_PASSWORD, apiOk, expect, loginToken, openTab, signIn, test } from './serve.ts'

type Rgb = [number, number, number]
const MAGENTA: Rgb = [255, 0, 255]
const AMBER: Rgb = [255, 190, 0]

interface Sample {
  x: number
  y: number
  /** The colour the tile has at this point of the map: its top half or its bottom half. */
  expected: Rgb
}

/**
 * Points across the middle of the map, each with the colour the tile has there, from where Leaflet put the tile
 * elements (any wrapped copy of the world counts); points too close to the tile's middle line are left out.
 */
async function samples(page: Page): Promise<Sample[]> {
  const map = page.getByTestId('live-map')
  const tiles = await map.evaluate((el) => {
    const at = el.getBoundingClientRect()
    return Array.from(el.querySelectorAll('.leaflet-tile-pane canvas')).map((tile) => {
      const r = tile.getBoundingClientRect()
      return { left: r.left - at.left, top: r.top - at.top, right: r.right - at.left, bottom: r.bottom - at.top }
    })
  })
  const box = (await map.boundingBox())!
  const out: Sample[] = []
  for (let i = 1; i <= 5; i++) {
    for (let j = 1; j <= 4; j++) {
      const x = Math.round((box.width * (i + 1)) / 7)
      const y = Math.round((box.height * (j + 0.5)) / 5)
      const tile = tiles.find((t) => x > t.left && x < t.right && y > t.top && y < t.bottom)
      if (!tile) continue
      const middle = (tile.top + tile.bottom) / 2
      if (Math.abs(y - middle) < 6) continue
      out.push({ x, y, expected: y < middle ? MAGENTA : AMBER })
    }
  }
  return out
}

/** The colours on screen at those points: a screenshot of the map, decoded by the browser itself. */
async function coloursAt(page: Page, points: Sample[]): Promise<Rgb[]> {
  const png = (await page.getByTestId('live-map').screenshot()).toString('base64')
  return page.evaluate(
    async ({ png, points }) => {
      const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0))
      const image = await createImageBitmap(new Blob([bytes], { type: 'image/png' }))
      const canvas = new OffscreenCanvas(image.width, image.height)
      const ctx = canvas.getContext('2d')!
      ctx.drawImage(image, 0, 0)
      return points.map((p) => [...ctx.getImageData(p.x, p.y, 1, 1).data.slice(0, 3)] as [number, number, number])
    },
    { png, points }
  )
}

const near = (a: Rgb, b: Rgb): boolean => a.every((v, k) => Math.abs(v - b[k]!) <= 8)

test('an offline map file draws its tiles on the live map', async ({ page, serve, request }) => {
  test.setTimeout(90_000)
  const served = await serve({ env: { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD } })
  const token = await loginToken(request, served.url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(request, served.url, 'createOrganization', { name: 'Valley', plan: 'team', tokenLimit: 3 }, token)
  await apiOk(request, served.url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)

  // Every request the page makes is looked at: anything not for 127.0.0.1 is refused and remembered.
  const outbound: string[] = []
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url())
    if (url.protocol === 'data:' || url.hostname === '127.0.0.1') return route.continue()
    outbound.push(route.request().url())
    return route.abort()
  })

  await signIn(page, served.url, 'admin', ADMIN_PASSWORD)
  await openTab(page, 'Alpha', 'Map')
  await expect(page.getByTestId('map-canvas')).toBeAttached()

  const chooser = page.waitForEvent('filechooser')
  await page.getByTestId('map-file').click()
  const file = pmtiles(2, twoColourPng(256, MAGENTA, AMBER))
  await (await chooser).setFiles({ name: 'valley.pmtiles', mimeType: 'application/octet-stream', buffer: Buffer.from(file) })
  await expect(page.getByTestId('map-file-chip')).toContainText('valley.pmtiles: PNG tiles, zoom 0–0')

  // The tile is drawn a moment after it is placed: wait until every point shows its half's colour.
  let points: Sample[] = []
  await expect
    .poll(
      async () => {
        points = await samples(page)
        const seen = await coloursAt(page, points)
        return points.length >= 10 && seen.every((c, k) => near(c, points[k]!.expected))
      },
      { timeout: 15_000 }
    )
    .toBe(true)
  // Both halves are on screen, so the tile is the right way up, not one colour smeared over the map.
  expect(points.some((p) => p.expected === MAGENTA) && points.some((p) => p.expected === AMBER)).toBe(true)
  await page.screenshot({ path: test.info().outputPath('map-offline.png') })

  // Closing the file takes its colours off the map: what was shown came from the file.
  await page.getByTestId('map-file-chip').getByRole('button').click()
  await expect(page.getByTestId('map-file-chip')).toBeHidden()
  await expect
    .poll(async () => (await coloursAt(page, points)).some((c, k) => near(c, points[k]!.expected)), { timeout: 5_000 })
    .toBe(false)
  expect(outbound).toEqual([])
})
