/// <reference lib="dom" />
// The live map (issue 18) in Chromium against a real `fedgate serve`: devices on Alpha and on Bravo (federated with
// Alpha) over mutual TLS and a TAK-like peer over gRPC report positions; Alpha's Map tab draws each where its last
// report put it (checked in pixels against the Mercator projection of the others), a stale device greys out, a
// hidden source disappears, a click shows details, and no request leaves 127.0.0.1.

import type { APIRequestContext, Page } from '@playwright/test'
import { DeviceClient } from '../support/device-client.ts'
import { identityFromEnrollment, pli, type EnrollAnswer } from '../support/devices.ts'
import { testPki, type TestPki } from '../support/pki.ts'
import { geoEvent, TakFederate } from '../support/tak-federate.ts'
import { ADMIN_PASSWORD, apiOk, expect, loginToken, openTab, shot, signIn, test } from './serve.ts'

interface Drawn {
  key: string
  callsign: string
  x: number
  y: number
  stale: boolean
  sourceId: string
}

async function connectDevice(request: APIRequestContext, url: string, token: string, networkId: string, callsign: string, port: number) {
  const enrolled = await apiOk<EnrollAnswer>(request, url, 'enrollDevice', { networkId, callsign }, token)
  const identity = await identityFromEnrollment(callsign, enrolled)
  return DeviceClient.connect({ port, cert: identity.cert, key: identity.key, ca: identity.ca })
}

async function drawn(page: Page): Promise<Drawn[]> {
  const text = await page.getByTestId('map-canvas').getAttribute('data-markers')
  return text ? (JSON.parse(text) as Drawn[]) : []
}

const byCallsign = (list: Drawn[], callsign: string): Drawn | undefined => list.find((d) => d.callsign === callsign)
const mercatorY = (lat: number): number => Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360))

/** A PLI with a course and a stale time of our choosing (pli() has two minutes and no track). */
function movingPli(uid: string, callsign: string, lat: number, lon: number, staleMs: number): string {
  return pli(uid, callsign, { lat, lon })
    .replace(/stale="[^"]+"/, `stale="${new Date(Date.now() + staleMs).toISOString()}"`)
    .replace('</detail>', '<track course="90" speed="5"/></detail>')
}

test('the live map shows devices, a federated network and a TAK peer where they last reported', async ({ page, serve, request }) => {
  test.setTimeout(120_000)
  const served = await serve({
    env: { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, Federation__AdvertisedHostname: '127.0.0.1', Federation__OurFederateId: 'fedgate-map' }
  })
  const token = await loginToken(request, served.url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(
    request,
    served.url,
    'createOrganization',
    { name: '2-5 Recon', plan: 'team', tokenLimit: 3 },
    token
  )
  const alpha = await apiOk<{ id: string }>(request, served.url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)
  const bravo = await apiOk<{ id: string }>(request, served.url, 'createNetwork', { organizationId: org.id, name: 'Bravo' }, token)
  await apiOk(request, served.url, 'federateWithinOrganization', { networkId: alpha.id, otherNetworkId: bravo.id }, token)
  const settings = await apiOk<{ ports: { streaming: number } }>(request, served.url, 'getDeploymentSettings', {}, token)
  const info = await apiOk<{ port: number }>(request, served.url, 'getConnectionInfo', {}, token)
  const ca = await apiOk<{ contentBase64: string }>(request, served.url, 'downloadArtifact', { kind: 'ca-cert' }, token)

  // Every request the page makes is looked at: anything not for 127.0.0.1 is refused and remembered.
  const outbound: string[] = []
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url())
    if (url.protocol === 'data:' || url.hostname === '127.0.0.1') return route.continue()
    outbound.push(route.request().url())
    return route.abort()
  })

  let hq: TestPki | null = null
  let federate: TakFederate | null = null
  const devices: DeviceClient[] = []
  try {
    hq = await testPki({ freshCa: true, hostname: 'tak.hq.test', federateId: 'hq-tak' })
    const identity = hq.pki.federation!
    await apiOk(
      request,
      served.url,
      'addExternalPeer',
      { networkId: alpha.id, fingerprint: identity.fingerprint, displayName: 'HQ TAK' },
      token
    )
    federate = new TakFederate({
      port: info.port,
      ca: Buffer.from(ca.contentBase64, 'base64').toString('utf8'),
      key: identity.keyPem,
      certChain: `${identity.certPem.trim()}\n${hq.pki.caCertPem.trim()}\n`,
      name: 'hq-tak',
      healthIntervalMs: 500
    }).start()
    await federate.serving(15_000)
    devices.push(await connectDevice(request, served.url, token, alpha.id, 'VIPER-1', settings.ports.streaming))
    devices.push(await connectDevice(request, served.url, token, bravo.id, 'BRAVO-1', settings.ports.streaming))

    await signIn(page, served.url, 'admin', ADMIN_PASSWORD)
    await openTab(page, 'Alpha', 'Map')
    await expect(page.getByTestId('map-canvas')).toBeAttached()

    // VIPER-1 reports twice: the marker must be at the second report. BRAVO-1 goes stale in a few seconds.
    devices[0]!.send(movingPli('viper-1', 'VIPER-1', 34.0, -117.6, 120_000))
    devices[1]!.send(movingPli('bravo-1', 'BRAVO-1', 34.4, -117.0, 4_000))
    federate.send({ event: geoEvent('hq-1', { lat: 33.8, lon: -117.2, other: '<detail><contact callsign="HQ-1"/></detail>' }) })
    await page.waitForTimeout(300)
    devices[0]!.send(movingPli('viper-1', 'VIPER-1', 34.1, -117.4, 120_000))

    await expect.poll(async () => (await drawn(page)).length, { timeout: 15_000 }).toBe(3)
    // Fit all so every marker is in view, then check the pixels.
    await page.getByTestId('map-fit').click()
    await expect.poll(async () => byCallsign(await drawn(page), 'VIPER-1')?.x, { timeout: 5_000 }).toBeGreaterThan(0)
    // Web Mercator: x is linear in longitude, y in the Mercator of latitude; HQ-1 and BRAVO-1 fix the scale. The map
    // takes a device's updates at most once a second, so the second report may be drawn a moment after the first.
    const offBy = (markers: Awaited<ReturnType<typeof drawn>>): number => {
      const hqAt = byCallsign(markers, 'HQ-1')!
      const bravoAt = byCallsign(markers, 'BRAVO-1')!
      const viperAt = byCallsign(markers, 'VIPER-1')!
      const xPerDegree = (bravoAt.x - hqAt.x) / (-117.0 - -117.2)
      const yPerMercator = (bravoAt.y - hqAt.y) / (mercatorY(34.4) - mercatorY(33.8))
      return Math.max(
        Math.abs(viperAt.x - (hqAt.x + (-117.4 - -117.2) * xPerDegree)),
        Math.abs(viperAt.y - (hqAt.y + (mercatorY(34.1) - mercatorY(33.8)) * yPerMercator))
      )
    }
    await expect
      .poll(async () => offBy(await drawn(page)), { timeout: 10_000, message: 'VIPER-1 is where its second report put it' })
      .toBeLessThanOrEqual(2)
    const viperAt = byCallsign(await drawn(page), 'VIPER-1')!

    // Sources in the legend: Alpha (its own device), Bravo (over the federation), HQ TAK (the peer).
    const legend = page.getByTestId('map-legend')
    for (const name of ['Alpha', 'Bravo', 'HQ TAK']) await expect(legend.locator(`[data-source="${name}"]`)).toBeVisible()

    // A click on VIPER-1 shows its details.
    const box = (await page.getByTestId('live-map').boundingBox())!
    await page.mouse.click(box.x + viperAt.x, box.y + viperAt.y)
    const details = page.getByTestId('map-details')
    await expect(details.getByTestId('map-details-callsign')).toHaveText('VIPER-1')
    await expect(details).toContainText('network Alpha')
    await expect(details).toContainText('course 90°')
    await expect(details).toContainText('18.0 km/h')
    await expect(details).toContainText('a-f-G-U-C')

    // BRAVO-1 stops reporting: past its stale time it greys out, still drawn.
    await expect.poll(async () => byCallsign(await drawn(page), 'BRAVO-1')?.stale, { timeout: 15_000 }).toBe(true)
    expect(byCallsign(await drawn(page), 'VIPER-1')?.stale).toBe(false)
    await shot(page, 'map-live')
    await page.screenshot({ path: test.info().outputPath('map-live.png') })

    // Hiding the peer in the legend takes its device off the map; the others stay.
    await legend.locator('[data-source="HQ TAK"]').click()
    await expect.poll(async () => (await drawn(page)).map((d) => d.callsign).sort(), { timeout: 5_000 }).toEqual(['BRAVO-1', 'VIPER-1'])
    await expect(legend.locator('[data-source="HQ TAK"]')).toHaveAttribute('data-hidden', 'true')

    // The organization's map: BRAVO-1 is on both networks' maps yet drawn once; the peer stays hidden.
    await page.getByTestId('nav-map').click()
    await expect.poll(async () => (await drawn(page)).map((d) => d.callsign).sort(), { timeout: 10_000 }).toEqual(['BRAVO-1', 'VIPER-1'])
    // Shown again, and Show all brings it into view (the first fit left it out, hidden as it was).
    await page.getByTestId('map-legend').locator('[data-source="HQ TAK"]').click()
    await page.getByTestId('map-fit').click()
    await expect
      .poll(async () => (await drawn(page)).map((d) => d.callsign).sort(), { timeout: 10_000 })
      .toEqual(['BRAVO-1', 'HQ-1', 'VIPER-1'])
    expect(outbound).toEqual([])
  } finally {
    for (const d of devices) await d.close()
    federate?.close()
    hq?.cleanup()
  }
})
