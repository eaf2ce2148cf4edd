// Journeys 1, 2 and 7 live in Chromium: real devices (mutual TLS with the certificates from their connection
// packages) come online in the Devices tab without a reload; revoking one in the console cuts its connection at once;
// two networks of one organization federate through the Federate dialog and each end's chips follow the other side.

import type { APIRequestContext } from '@playwright/test'
import { DeviceClient } from '../support/device-client.ts'
import { identityFromEnrollment, pli, type EnrollAnswer } from '../support/devices.ts'
import { ADMIN_PASSWORD, apiOk, chip, expect, flip, loginToken, openTab, shot, signIn, test } from './serve.ts'

/** Enrolls over HTTP and opens a device connection with the .p12 files of its package, as a phone would. */
async function connectDevice(
  request: APIRequestContext,
  url: string,
  token: string,
  networkId: string,
  callsign: string,
  port: number
): Promise<DeviceClient> {
  const enrolled = await apiOk<EnrollAnswer>(request, url, 'enrollDevice', { networkId, callsign }, token)
  const identity = await identityFromEnrollment(callsign, enrolled)
  return DeviceClient.connect({ port, cert: identity.cert, key: identity.key, ca: identity.ca })
}

test('devices come online live, a revoked device is cut off, two networks federate within the organization', async ({
  page,
  serve,
  request
}) => {
  const served = await serve({ env: { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, Federation__AdvertisedHostname: '127.0.0.1' } })
  const token = await loginToken(request, served.url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(request, served.url, 'createOrganization', { name: '2-5 Recon', plan: 'team' }, token)
  const alpha = await apiOk<{ id: string }>(request, served.url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)
  await apiOk(request, served.url, 'createNetwork', { organizationId: org.id, name: 'Bravo' }, token)
  const settings = await apiOk<{ ports: { streaming: number } }>(request, served.url, 'getDeploymentSettings', {}, token)

  await signIn(page, served.url, 'admin', ADMIN_PASSWORD)
  await openTab(page, 'Alpha', 'Devices')

  const devices: DeviceClient[] = []
  try {
    for (const callsign of ['VIPER-1', 'VIPER-2']) {
      devices.push(await connectDevice(request, served.url, token, alpha.id, callsign, settings.ports.streaming))
    }
    devices[0]!.send(pli('ANDROID-viper-1', 'VIPER-1'))
    devices[1]!.send(pli('ANDROID-viper-2', 'VIPER-2', { lat: 34.2, lon: -117.3 }))

    // No reload: the rows follow deviceStatus events.
    for (const [callsign, uid] of [
      ['VIPER-1', 'ANDROID-viper-1'],
      ['VIPER-2', 'ANDROID-viper-2']
    ] as const) {
      const row = page.getByTestId(`device-${callsign}`)
      await expect(row).toContainText(/online/i, { timeout: 15_000 })
      await expect(row).toContainText(uid)
      await expect(row).toContainText('127.0.0.1')
    }
    await expect(page.getByTestId('device-VIPER-2').getByTestId('device-position')).toContainText('34.20000, -117.30000')
    // The page header counts follow the same events.
    await expect(page.getByText('2 devices · 2 online')).toBeVisible()
    await shot(page, 'devices-online')

    // A lost phone: revoke it, and its connection drops at once.
    await page.getByTestId('device-VIPER-2').getByRole('button', { name: 'Revoke' }).click()
    await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Revoke' }).click()
    const cut = await Promise.race([devices[1]!.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))])
    expect(cut).toBe(true)
    await expect(page.getByTestId('device-VIPER-2')).toHaveCount(0)
    await expect(page.getByTestId('device-VIPER-1')).toContainText(/online/i)
    await expect(page.getByText('1 device · 1 online')).toBeVisible()
  } finally {
    for (const device of devices) device.socket.destroy()
  }

  // Journey 2: Federate → pick Bravo.
  await openTab(page, 'Alpha', 'Federated Networks')
  await page.getByRole('button', { name: 'Federate' }).click()
  const dialog = page.getByTestId('federate-dialog')
  await dialog.getByRole('combobox').filter({ hasText: 'Other network' }).click()
  await page.getByRole('option', { name: 'Bravo' }).click()
  await dialog.getByRole('button', { name: 'Federate' }).click()
  await expect(dialog).toBeHidden()
  const row = page.getByTestId('federation-Bravo')
  await expect(row).toContainText('Within organization')

  // Bravo turns its Out off: Alpha's page shows their end changed.
  await openTab(page, 'Bravo', 'Federated Networks')
  await flip(page, page.getByTestId('federation-Alpha'), 'ours', 'Out')
  await expect(chip(page.getByTestId('federation-Alpha'), 'ours', 'Out')).toHaveAttribute('data-state', 'off')
  await openTab(page, 'Alpha', 'Federated Networks')
  await expect(chip(row, 'theirs', 'Out')).toHaveAttribute('data-state', 'off')
  await expect(chip(row, 'theirs', 'In')).toHaveAttribute('data-state', 'on')
  await expect(chip(row, 'ours', 'In')).toHaveAttribute('data-state', 'on')
  await shot(page, 'federations-within')

  // Stop federating, behind a confirmation: gone for both sides.
  await page.getByRole('button', { name: 'Stop federating with Bravo' }).click()
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Stop federating' }).click()
  await expect(page.getByTestId('federation-Bravo')).toHaveCount(0)
  await openTab(page, 'Bravo', 'Federated Networks')
  await expect(page.getByTestId('federation-Alpha')).toHaveCount(0)
})
