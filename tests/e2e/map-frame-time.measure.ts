/// <reference lib="dom" />
// A measurement, not a test (playwright.config.ts picks *.measure.ts up only with FEDGATE_MEASURE=1): 1,000 devices moving every second through a real
// gateway (one device connection over mutual TLS reporting 1,000 uids), drawn on Alpha's Map tab in Chromium while
// the operator pans; prints the frame intervals and the marker canvas's draw time. The figure goes in the README.

import { DeviceClient } from '../support/device-client.ts'
import { identityFromEnrollment, pli, type EnrollAnswer } from '../support/devices.ts'
import { ADMIN_PASSWORD, apiOk, expect, loginToken, openTab, signIn, test } from './serve.ts'

const DEVICES = 1000
const MEASURE_MS = 10_000

test('frame time with 1,000 moving devices on the map', async ({ page, serve, request }) => {
  test.setTimeout(180_000)
  const served = await serve({ env: { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, Federation__AdvertisedHostname: '127.0.0.1' } })
  const token = await loginToken(request, served.url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(request, served.url, 'createOrganization', { name: '2-5 Recon', plan: 'team' }, token)
  const alpha = await apiOk<{ id: string }>(request, served.url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)
  const settings = await apiOk<{ ports: { streaming: number } }>(request, served.url, 'getDeploymentSettings', {}, token)
  const enrolled = await apiOk<EnrollAnswer>(request, served.url, 'enrollDevice', { networkId: alpha.id, callsign: 'SWARM' }, token)
  const id = await identityFromEnrollment('SWARM', enrolled)
  const device = await DeviceClient.connect({ port: settings.ports.streaming, cert: id.cert, key: id.key, ca: id.ca })
  let tick = 0
  const move = (): void => {
    tick++
    for (let i = 0; i < DEVICES; i++) {
      const lat = 34 + (i % 40) * 0.01 + Math.sin((tick + i) / 10) * 0.003
      const lon = -117.5 + Math.floor(i / 40) * 0.01 + Math.cos((tick + i) / 10) * 0.003
      device.send(pli(`swarm-${i}`, `UNIT-${i}`, { lat: Number(lat.toFixed(6)), lon: Number(lon.toFixed(6)) }))
    }
  }
  move()
  const mover = setInterval(move, 1000)
  try {
    await signIn(page, served.url, 'admin', ADMIN_PASSWORD)
    await openTab(page, 'Alpha', 'Map')
    await expect(page.getByTestId('map-canvas')).toHaveAttribute('data-count', String(DEVICES), { timeout: 30_000 })
    const box = (await page.getByTestId('live-map').boundingBox())!
    const sampling = page.evaluate(async (ms) => {
      const intervals: number[] = []
      const draws: number[] = []
      const canvas = document.querySelector('[data-testid="map-canvas"]') as HTMLCanvasElement
      let last = performance.now()
      const end = last + ms
      await new Promise<void>((resolve) => {
        const step = (now: number): void => {
          intervals.push(now - last)
          last = now
          draws.push(Number(canvas.dataset.drawMs ?? '0'))
          if (now < end) requestAnimationFrame(step)
          else resolve()
        }
        requestAnimationFrame(step)
      })
      return { intervals, draws }
    }, MEASURE_MS)
    // Pan back and forth while sampling, as an operator looking around would.
    const cx = box.x + box.width / 2
    const cy = box.y + box.height / 2
    const started = Date.now()
    while (Date.now() - started < MEASURE_MS - 500) {
      await page.mouse.move(cx, cy)
      await page.mouse.down()
      await page.mouse.move(cx + 150, cy + 60, { steps: 20 })
      await page.mouse.move(cx, cy, { steps: 20 })
      await page.mouse.up()
    }
    const { intervals, draws } = await sampling
    const sorted = [...intervals].sort((a, b) => a - b)
    const pct = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
    const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length
    const drawSorted = draws.filter((d) => d > 0).sort((a, b) => a - b)
    console.log(
      `MAP MEASURE ${DEVICES} devices, ${intervals.length} frames in ${MEASURE_MS} ms while panning: ` +
        `frame interval mean ${mean.toFixed(1)} ms, median ${pct(0.5).toFixed(1)} ms, p95 ${pct(0.95).toFixed(1)} ms, ` +
        `max ${sorted[sorted.length - 1]!.toFixed(1)} ms, frames over 50 ms: ${intervals.filter((x) => x > 50).length}; ` +
        `canvas draw median ${drawSorted[Math.floor(drawSorted.length / 2)]?.toFixed(2)} ms, ` +
        `p95 ${drawSorted[Math.floor(drawSorted.length * 0.95)]?.toFixed(2)} ms`
    )
    expect(intervals.length).toBeGreaterThan(0)
  } finally {
    clearInterval(mover)
    await device.close()
  }
})
