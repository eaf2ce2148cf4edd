/// <reference lib="dom" />
// Charts in Chromium (issue 18): two phones stream positions over mutual TLS and a TAK-like federate (its own CA) sends
// its units over federation v2; the Health page's uPlot charts and the peer's traffic drawer count exactly what was
// sent, read from the figures each chart states on itself. A screenshot of Health with traffic is kept.

import path from 'node:path'
import type { APIRequestContext } from '@playwright/test'
import { DeviceClient } from '../support/device-client.ts'
import { identityFromEnrollment, pli, type EnrollAnswer } from '../support/devices.ts'
import { testPki, type TestPki } from '../support/pki.ts'
import { geoEvent, TakFederate } from '../support/tak-federate.ts'
import { ADMIN_PASSWORD, apiOk, expect, loginToken, openTab, signIn, test } from './serve.ts'

const FROM_PHONE = 20
const FROM_PEER = 15
/** Where the run keeps the Health screenshot (test-results/ in the repository). */
export const HEALTH_SHOT = path.join('test-results', 'charts', 'health-with-traffic.png')

async function connectDevice(request: APIRequestContext, url: string, token: string, networkId: string, callsign: string, port: number) {
  const enrolled = await apiOk<EnrollAnswer>(request, url, 'enrollDevice', { networkId, callsign }, token)
  const identity = await identityFromEnrollment(callsign, enrolled)
  return DeviceClient.connect({ port, cert: identity.cert, key: identity.key, ca: identity.ca })
}

const sums = async (chart: import('@playwright/test').Locator): Promise<Record<string, number>> =>
  JSON.parse((await chart.getAttribute('data-sums')) ?? '{}') as Record<string, number>

test('Health and a peer drawer chart the traffic that phones and a TAK peer sent', async ({ page, serve, request }) => {
  test.setTimeout(90_000)
  const served = await serve({
    env: {
      FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      Federation__AdvertisedHostname: 'localhost',
      Federation__OurFederateId: 'fedgate-charts',
      // One point a second, so the test waits seconds, not minutes.
      Console__ChartSampleSeconds: '1'
    }
  })
  const url = served.url
  const token = await loginToken(request, url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(request, url, 'createOrganization', { name: '2-5 Recon', plan: 'team', tokenLimit: 3 }, token)
  const alpha = await apiOk<{ id: string }>(request, url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)
  const info = await apiOk<{ port: number }>(request, url, 'getConnectionInfo', {}, token)
  const ca = await apiOk<{ contentBase64: string }>(request, url, 'downloadArtifact', { kind: 'ca-cert' }, token)
  const settings = await apiOk<{ ports: { streaming: number } }>(request, url, 'getDeploymentSettings', {}, token)

  let hq: TestPki | null = null
  let federate: TakFederate | null = null
  const devices: DeviceClient[] = []
  try {
    hq = await testPki({ freshCa: true, hostname: 'tak.hq.test', federateId: 'hq-tak' })
    const identity = hq.pki.federation
    if (!identity) throw new Error('the test PKI made no federation identity')
    const fingerprint = identity.fingerprint
    const peer = await apiOk<{ id: string }>(
      request,
      url,
      'addExternalPeer',
      { networkId: alpha.id, fingerprint, displayName: 'HQ', incoming: true, outgoing: true },
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

    const sender = await connectDevice(request, url, token, alpha.id, 'VIPER', settings.ports.streaming)
    const watcher = await connectDevice(request, url, token, alpha.id, 'COBRA', settings.ports.streaming)
    devices.push(sender, watcher)
    // Both phones and the peer's session are attached before anything is sent, so each event reaches them all.
    await expect
      .poll(
        async () => (await apiOk<{ connections: { devices: number; peers: number } }>(request, url, 'getHealth', {}, token)).connections,
        {
          timeout: 10_000
        }
      )
      .toEqual({ devices: 2, peers: 1 })
    for (let i = 0; i < FROM_PHONE; i++) sender.send(pli('VIPER', 'VIPER', { lat: 34.1 + i / 1000, lon: -117.2 }))
    for (let i = 0; i < FROM_PEER; i++) federate.send({ event: geoEvent(`hq-unit-${i}`) })
    await expect.poll(() => watcher.events.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(FROM_PHONE + FROM_PEER)

    await page.setViewportSize({ width: 1024, height: 640 })
    await signIn(page, url, 'admin', ADMIN_PASSWORD)
    await page.getByTestId('nav-health').click()
    const events = page.getByTestId('chart-Events per second')
    await expect(events.locator('canvas')).toBeVisible()
    await expect(events).toContainText('Received') // the legend
    // With one point a second, the sum of the points is the count of events.
    await expect.poll(async () => (await sums(events)).Received, { timeout: 15_000 }).toBe(FROM_PHONE + FROM_PEER)
    // Each phone position reaches the other phone and HQ; each of HQ's units reaches both phones.
    await expect.poll(async () => (await sums(events)).Delivered, { timeout: 10_000 }).toBe(FROM_PHONE * 2 + FROM_PEER * 2)
    await expect(page.getByTestId('chart-Connected')).toContainText('Devices')
    await page.mouse.move(1000, 620) // no tooltip over the figures
    await page.screenshot({ path: HEALTH_SHOT, fullPage: true, animations: 'disabled' })

    await openTab(page, 'Alpha', 'External TAK Servers')
    await page.getByTestId('traffic-HQ').click()
    const drawer = page.getByTestId('link-drawer')
    await expect(drawer).toBeVisible()
    await expect(drawer.getByTestId('total-in')).toHaveText(String(FROM_PEER))
    await expect(drawer.getByTestId('total-out')).toHaveText(String(FROM_PHONE))
    await expect(drawer.getByTestId('total-drops')).toHaveText('0')
    const peerChart = drawer.getByTestId('chart-Events per second')
    expect((await sums(peerChart)).In).toBe(FROM_PEER)
    await drawer.getByTestId('window-60').click()
    await expect(drawer.getByTestId('total-in')).toHaveText(String(FROM_PEER))
    expect(peer.id).toBeTruthy()
  } finally {
    for (const device of devices) device.socket.destroy()
    federate?.close()
    hq?.cleanup()
  }
})
