/// <reference lib="dom" />
// The network page's tabs end to end in Chromium against `fedgate serve`: enroll a device (passwords, QR, package
// download), a device that enrolls itself with a one-time password (as ATAK does, on the enrollment port), a federation code exchanged between two organizations with each side's chips, External TAK Servers
// naming the missing settings, and a data package uploaded with progress, downloaded, listed on the network it is shared
// with, and deleted on each.

import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Locator, Page } from '@playwright/test'
import { DeviceClient } from '../support/device-client.ts'
import { pli } from '../support/devices.ts'
import { enrollLikeAtak } from '../support/enroll-client.ts'
import { ADMIN_PASSWORD, apiOk, chip, expect, flip, loginToken, openTab, settled, shot, signIn, test, type Served } from './serve.ts'

interface World {
  served: Served
  token: string
  organizations: Record<string, string>
  networks: Record<string, string>
}

/** A gateway with an administrator, organizations (plan team) and their networks, made through the HTTP API. */
async function world(
  serve: (o?: { env?: Record<string, string> }) => Promise<Served>,
  request: Parameters<typeof apiOk>[0],
  layout: Record<string, string[]>,
  env: Record<string, string> = {}
): Promise<World> {
  const served = await serve({ env: { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env } })
  const token = await loginToken(request, served.url, 'admin', ADMIN_PASSWORD)
  const organizations: Record<string, string> = {}
  const networks: Record<string, string> = {}
  for (const [orgName, networkNames] of Object.entries(layout)) {
    const org = await apiOk<{ id: string }>(
      request,
      served.url,
      'createOrganization',
      { name: orgName, plan: 'team', tokenLimit: 5 },
      token
    )
    organizations[orgName] = org.id
    for (const name of networkNames) {
      const network = await apiOk<{ id: string }>(request, served.url, 'createNetwork', { organizationId: org.id, name }, token)
      networks[name] = network.id
    }
  }
  return { served, token, organizations, networks }
}

/** Dark pixels of a QR canvas drawn from the gateway's PNG: a blank square has none. */
function darkPixels(canvas: Locator): Promise<number> {
  return canvas.evaluate((element: HTMLCanvasElement) => {
    const data = element.getContext('2d')?.getImageData(0, 0, element.width, element.height).data
    if (!data) return 0
    let dark = 0
    for (let i = 0; i < data.length; i += 4) if ((data[i] ?? 255) < 64) dark++
    return dark
  })
}

async function switchOrganization(page: Page, name: string): Promise<void> {
  await page.getByTestId('org-switcher').click()
  await page.getByRole('option', { name, exact: true }).click()
}

test('enroll a device: one-time passwords, QR for iTAK, ATAK and WinTAK package downloads, then revoke', async ({
  page,
  serve,
  request
}) => {
  const w = await world(serve, request, { '2-5 Recon': ['Alpha'] }, { Federation__AdvertisedHostname: '127.0.0.1' })
  await signIn(page, w.served.url, 'admin', ADMIN_PASSWORD)
  await openTab(page, 'Alpha', 'Devices')

  await page.getByTestId('enroll-device').click()
  const dialog = page.getByTestId('enroll-dialog')
  await dialog.getByLabel('Callsign').fill('VIPER-1')
  await dialog.getByRole('button', { name: 'Enroll', exact: true }).click()
  await expect(dialog).toContainText('VIPER-1 is enrolled')
  await expect(page.getByTestId('client-password')).not.toBeEmpty()
  await expect(page.getByTestId('truststore-password')).not.toBeEmpty()
  const qr = page.getByTestId('itak-qr')
  await expect(qr).toBeVisible()
  // The QR is drawn from the gateway's PNG: the canvas must hold dark and light pixels, not a blank square.
  await expect.poll(() => darkPixels(qr)).toBeGreaterThan(1000)
  await shot(page, 'enroll')

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-atak').click()])
  const saved = path.join(await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-dl-')), download.suggestedFilename())
  await download.saveAs(saved)
  const zip = await fsp.readFile(saved)
  expect(zip.subarray(0, 2).toString('latin1')).toBe('PK')
  await fsp.rm(path.dirname(saved), { recursive: true, force: true })
  // WinTAK's variant: the ATAK package nested in an outer one.
  const [wintak] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-wintak').click()])
  expect(wintak.suggestedFilename()).toBe(download.suggestedFilename().replace(/\.zip$/, '-WinTAK.zip'))

  await dialog.getByRole('button', { name: 'Done' }).click()
  const row = page.getByTestId('device-VIPER-1')
  await expect(row).toBeVisible()
  await expect(row).toContainText(/offline/i)
  await shot(page, 'devices')

  await row.getByRole('button', { name: 'Revoke' }).click()
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Revoke' }).click()
  await expect(page.getByTestId('device-VIPER-1')).toHaveCount(0)
  const devices = await apiOk<{ revokedAt: string | null }[]>(
    request,
    w.served.url,
    'listDevices',
    { networkId: w.networks.Alpha },
    w.token
  )
  expect(devices[0]?.revokedAt).toBeTruthy()
})

test('a device (KESTREL-2) enrolls itself with a one-time password: QR codes for iTAK and ATAK, waiting list, then online', async ({
  page,
  serve,
  request
}) => {
  const w = await world(serve, request, { '2-5 Recon': ['Alpha'] }, { Federation__AdvertisedHostname: '127.0.0.1' })
  await signIn(page, w.served.url, 'admin', ADMIN_PASSWORD)
  await openTab(page, 'Alpha', 'Devices')

  await page.getByTestId('enroll-device').click()
  const dialog = page.getByTestId('enroll-dialog')
  await settled(dialog.getByLabel('Callsign'))
  await dialog.getByTestId('enroll-method').getByRole('button', { name: 'Device enrolls itself (one-time password)' }).click()
  await dialog.getByLabel('Callsign').fill('KESTREL-2')
  await expect(dialog.getByLabel('Password valid for (hours)')).toHaveValue('24')
  // The enrollment port is in the answer the console gets (every port of the test gateway is picked at random).
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/createDeviceEnrollment') && r.request().method() === 'POST'),
    dialog.getByRole('button', { name: 'Create password' }).click()
  ])
  const answer = (await response.json()) as {
    ok: boolean
    result: { enrollmentPort: number; streamingPort: number; packageFilename: string }
  }
  expect(answer.ok).toBe(true)
  await expect(dialog).toContainText('KESTREL-2 can enroll itself')
  const username = ((await page.getByTestId('enroll-username').textContent()) ?? '').trim()
  // Shown in groups of four; the groups are set apart by spacing, not by characters of their own.
  const password = ((await page.getByTestId('enroll-password').textContent()) ?? '').trim()
  expect(username).toBe('KESTREL-2')
  expect(password).toMatch(/^\S{8,}$/)
  await expect(page.getByTestId('enrollment-truststore-password')).not.toBeEmpty()
  await expect(dialog).toContainText('iTAK: scan, then type the user name and password')
  for (const qr of [page.getByTestId('enroll-itak-qr'), page.getByTestId('enroll-atak-qr')]) {
    await expect(qr).toBeVisible()
    await expect.poll(() => darkPixels(qr)).toBeGreaterThan(1000)
  }
  await shot(page, 'enroll-self')
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-enrollment-package').click()])
  expect(download.suggestedFilename()).toBe(answer.result.packageFilename)
  await dialog.getByRole('button', { name: 'Done' }).click()
  await expect(dialog).toBeHidden()

  const pending = page.getByTestId('pending-enrollments')
  await expect(pending.getByTestId('enrollment-KESTREL-2')).toContainText('KESTREL-2')
  await expect(pending.getByTestId('cancel-enrollment')).toBeVisible()
  await expect(page.getByTestId('device-KESTREL-2')).toHaveCount(0)
  await shot(page, 'devices-waiting')

  // The phone's side: it makes its own key, signs in with the user name and password, and gets its certificate.
  const ca = await fsp.readFile(path.join(w.served.dataDir, 'pki', 'ca.crt'), 'utf8')
  const enrolled = await enrollLikeAtak(
    { host: '127.0.0.1', port: answer.result.enrollmentPort, ca },
    { username, password, clientUid: 'ANDROID-kestrel-2' }
  )

  // No reload: the gateway's `changed` event moves it from the waiting list into the table.
  await expect(pending).toHaveCount(0)
  const row = page.getByTestId('device-KESTREL-2')
  await expect(row).toContainText(/offline/i)
  await expect(row.getByTestId('enrolled-itself')).toBeVisible()
  // Its key never left the phone: there is no package to download again, but it can be revoked.
  await expect(row.getByRole('button', { name: 'Package' })).toHaveCount(0)
  await expect(row.getByRole('button', { name: 'Revoke' })).toBeVisible()

  const device = await DeviceClient.connect({ port: answer.result.streamingPort, cert: enrolled.certPem, key: enrolled.keyPem, ca })
  try {
    device.send(pli('ANDROID-kestrel-2', 'KESTREL-2'))
    await expect(row).toContainText(/online/i, { timeout: 15_000 })
    await expect(row).toContainText('ANDROID-kestrel-2')
    await shot(page, 'devices-enrolled-itself')
  } finally {
    device.socket.destroy()
  }
})

test('two organizations exchange a federation code; each side sees its own and the other end', async ({ page, serve, request }) => {
  const w = await world(serve, request, { '2-5 Recon': ['Alpha'], 'Partner Org': ['Bravo'] })
  await signIn(page, w.served.url, 'admin', ADMIN_PASSWORD)

  // The partner generates a code on Bravo.
  await switchOrganization(page, 'Partner Org')
  await openTab(page, 'Bravo', 'Federated Networks')
  await page.getByRole('button', { name: 'Generate code' }).click()
  const codeText = (await page.getByTestId('federation-code').textContent())?.trim() ?? ''
  // Eight characters, shown in two groups of four for reading over the radio.
  expect(codeText).toMatch(/^[A-Z0-9]{4}-?[A-Z0-9]{4}$/)
  await expect(page.getByTestId('federation-code-card')).toContainText('Expires in')
  await shot(page, 'federation-code')

  // We paste it on Alpha with data packages off.
  await switchOrganization(page, '2-5 Recon')
  await openTab(page, 'Alpha', 'Federated Networks')
  await page.getByRole('button', { name: 'Federate' }).click()
  const dialog = page.getByTestId('federate-dialog')
  await dialog.getByRole('button', { name: 'With a code from another organization' }).click()
  await dialog.getByLabel('Federation code').fill('WRONG123')
  await dialog.getByRole('button', { name: 'Federate' }).click()
  // A mistyped code gets a sentence, not a code.
  await expect(page.getByTestId('federate-error')).toHaveText(/^[A-Z].{10,}[.!]$/)
  await dialog.getByLabel('Federation code').fill(codeText)
  await dialog.getByRole('button', { name: 'Federate' }).click()
  await expect(dialog).toBeHidden()

  const row = page.getByTestId('federation-Bravo')
  await expect(row).toContainText('Partner Org')
  await expect(row).toContainText('Across organizations')
  await expect(chip(row, 'ours', 'In')).toHaveAttribute('data-state', 'on')
  await expect(chip(row, 'ours', 'Out')).toHaveAttribute('data-state', 'on')

  // A toggle says what it will do before it applies, and Undo puts it back through the gateway.
  expect(await flip(page, row, 'ours', 'DP-Out')).toBe('Alpha will start sending data packages to Bravo.')
  await expect(chip(row, 'ours', 'DP-Out')).toHaveAttribute('data-state', 'on')
  await page.getByTestId('toggle-undo').getByRole('button', { name: 'Undo' }).click()
  await expect(chip(row, 'ours', 'DP-Out')).toHaveAttribute('data-state', 'off')

  // We pause our end: In and Out off → Paused.
  expect(await flip(page, row, 'ours', 'Out')).toBe('Alpha will stop sending positions to Bravo.')
  await expect(chip(row, 'ours', 'Out')).toHaveAttribute('data-state', 'off')
  await flip(page, row, 'ours', 'In')
  await expect(chip(row, 'ours', 'In')).toHaveAttribute('data-state', 'off')
  await expect(row.getByTestId('paused-ours')).toBeVisible()
  await shot(page, 'federations')

  // The partner sees our end as their "theirs" end, and their own untouched.
  await switchOrganization(page, 'Partner Org')
  await openTab(page, 'Bravo', 'Federated Networks')
  const theirRow = page.getByTestId('federation-Alpha')
  await expect(chip(theirRow, 'theirs', 'Out')).toHaveAttribute('data-state', 'off')
  await expect(chip(theirRow, 'ours', 'Out')).toHaveAttribute('data-state', 'on')
  await expect(theirRow).toContainText('Paused by them')
  // A code read out but no longer wanted: Clear code withdraws it.
  await page.getByRole('button', { name: 'Generate code' }).click()
  await expect(page.getByTestId('federation-code')).toBeVisible()
  await page.getByRole('button', { name: 'Clear code' }).click()
  await expect(page.getByTestId('federation-code-card')).toHaveCount(0)

  // A Free organization: the explanation instead of the buttons.
  const free = await apiOk<{ id: string }>(request, w.served.url, 'createOrganization', { name: 'Free Org', plan: 'free' }, w.token)
  await apiOk(request, w.served.url, 'createNetwork', { organizationId: free.id, name: 'Charlie' }, w.token)
  await page.reload()
  await switchOrganization(page, 'Free Org')
  await openTab(page, 'Charlie', 'Federated Networks')
  await expect(page.getByTestId('free-plan-note')).toHaveText(
    /The Free plan does not federate\. A deployment administrator can upgrade the organization\./
  )
  await expect(page.getByRole('button', { name: 'Federate' })).toHaveCount(0)
  await expect(page.getByRole('button', { name: 'Generate code' })).toHaveCount(0)

  // A member of 2-5 Recon without any grant sees the federation and both ends, but no buttons.
  await apiOk(
    request,
    w.served.url,
    'createUser',
    { username: 'watcher', password: 'watcher password 1', organizationId: w.organizations['2-5 Recon'] },
    w.token
  )
  await page.getByTestId('user-menu').click()
  await page.getByText('Sign out').click()
  await signIn(page, w.served.url, 'watcher', 'watcher password 1')
  await openTab(page, 'Alpha', 'Federated Networks')
  const watched = page.getByTestId('federation-Bravo')
  await expect(chip(watched, 'ours', 'Out')).toHaveAttribute('data-state', 'off')
  await expect(chip(watched, 'theirs', 'Out')).toHaveAttribute('data-state', 'on')
  await expect(watched.getByTestId('paused-ours')).toBeVisible()
  for (const name of ['Federate', 'Generate code', 'Clear code', 'Stop federating']) {
    await expect(page.getByRole('button', { name })).toHaveCount(0)
  }
  await shot(page, 'federations-view-only')
})

test('External TAK Servers names the missing settings and where the file is', async ({ page, serve, request }) => {
  const w = await world(serve, request, { '2-5 Recon': ['Alpha'] })
  await signIn(page, w.served.url, 'admin', ADMIN_PASSWORD)
  await openTab(page, 'Alpha', 'External TAK Servers')
  const missing = page.getByTestId('missing-settings')
  await expect(missing).toContainText('Federation:AdvertisedHostname')
  await expect(missing).toContainText('Federation:OurFederateId')
  await expect(missing).toContainText(path.join(w.served.dataDir, 'appsettings.json'))
  await expect(page.getByRole('button', { name: 'Add peer' })).toHaveCount(0)
  await shot(page, 'peers-missing')
})

test('External TAK Servers with settings: connection info, fingerprint, artifact download, add a peer', async ({
  page,
  serve,
  request
}) => {
  const w = await world(
    serve,
    request,
    { '2-5 Recon': ['Alpha'] },
    {
      Federation__AdvertisedHostname: 'laptop.example.org',
      Federation__OurFederateId: 'fedgate-e2e'
    }
  )
  await signIn(page, w.served.url, 'admin', ADMIN_PASSWORD)
  await openTab(page, 'Alpha', 'External TAK Servers')
  await page.getByTestId('connection-info').getByRole('button').first().click()
  await expect(page.getByTestId('our-fingerprint')).toHaveText(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  // The CoreConfig snippets are on the page, ready to paste, fetched from the gateway when the panel opened.
  await expect(page.getByTestId('snippet-coreconfig-outgoing').locator('pre')).toContainText('<federation-outgoing')
  await expect(page.getByTestId('snippet-coreconfig-federate').locator('pre')).toContainText('<federate')
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('artifact-ca-cert').click()])
  const saved = path.join(await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-dl-')), download.suggestedFilename())
  await download.saveAs(saved)
  expect(await fsp.readFile(saved, 'utf8')).toContain('-----BEGIN CERTIFICATE-----')
  await fsp.rm(path.dirname(saved), { recursive: true, force: true })

  await page.getByRole('button', { name: 'Add peer' }).first().click()
  const dialog = page.getByTestId('add-peer-dialog')
  await settled(dialog.getByLabel('Fingerprint (SHA-256 of their federation certificate)'))
  const fingerprint = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, '0')).join(':')
  await dialog.getByLabel('Fingerprint (SHA-256 of their federation certificate)').fill(fingerprint)
  await dialog.getByLabel('Name').fill('HQ TAK Server')
  await dialog.getByRole('button', { name: 'Add peer' }).click()
  await expect(dialog).toBeHidden()
  const row = page.getByTestId('peer-HQ TAK Server')
  await expect(row).toBeVisible()
  await expect(row).toContainText(/down|waiting|not connected/i)
  await shot(page, 'peers')
})

test('data package: upload with progress, download, listed on the network it is shared with, delete', async ({ page, serve, request }) => {
  const w = await world(serve, request, { '2-5 Recon': ['Alpha', 'Bravo'] })
  // Alpha shares packages with Bravo, which accepts them.
  const federation = await apiOk<{ id: string }>(
    request,
    w.served.url,
    'federateWithinOrganization',
    { networkId: w.networks.Alpha, otherNetworkId: w.networks.Bravo },
    w.token
  )
  await apiOk(
    request,
    w.served.url,
    'updateFederationEnd',
    { federationId: federation.id, networkId: w.networks.Alpha, sharePackages: true },
    w.token
  )
  await apiOk(
    request,
    w.served.url,
    'updateFederationEnd',
    { federationId: federation.id, networkId: w.networks.Bravo, acceptPackages: true },
    w.token
  )
  await signIn(page, w.served.url, 'admin', ADMIN_PASSWORD)
  await openTab(page, 'Alpha', 'Data Packages')

  // Watch the progress card from inside the page so a fast upload cannot slip between two polls.
  await page.evaluate(() => {
    const seen = { appeared: false }
    ;(window as unknown as { uploadSeen: typeof seen }).uploadSeen = seen
    new MutationObserver(() => {
      if (document.querySelector('[data-testid="upload-progress"]')) seen.appeared = true
    }).observe(document.body, { childList: true, subtree: true })
  })
  const content = Buffer.alloc(6 * 1024 * 1024)
  for (let i = 0; i < content.length; i++) content[i] = (i * 31 + (i >> 10)) & 0xff
  await page.getByTestId('package-file').setInputFiles({ name: 'route-plan.zip', mimeType: 'application/zip', buffer: content })
  const row = page.getByTestId('package-route-plan.zip')
  await expect(row).toBeVisible({ timeout: 20_000 })
  expect(await page.evaluate(() => (window as unknown as { uploadSeen: { appeared: boolean } }).uploadSeen.appeared)).toBe(true)
  await expect(row).toContainText('6')
  await shot(page, 'packages')

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row.getByRole('button', { name: 'Download route-plan.zip' }).click()
  ])
  const saved = path.join(await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-dl-')), 'pkg.zip')
  await download.saveAs(saved)
  expect((await fsp.readFile(saved)).equals(content)).toBe(true)
  await fsp.rm(path.dirname(saved), { recursive: true, force: true })
  await expect(row).toContainText('Bravo')

  // Bravo lists it as one from Alpha; deleting it there leaves Alpha's.
  await openTab(page, 'Bravo', 'Data Packages')
  const received = page.getByTestId('package-route-plan.zip')
  await expect(received).toContainText('Alpha')
  await expect(received).toContainText('Federated network')
  await received.getByRole('button', { name: 'Delete route-plan.zip' }).click()
  await expect(page.getByTestId('confirm-dialog')).toContainText("Deletes it from this network only: 'Alpha' keeps its own")
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Delete package' }).click()
  await expect(page.getByTestId('package-route-plan.zip')).toHaveCount(0)

  await openTab(page, 'Alpha', 'Data Packages')
  await row.getByRole('button', { name: 'Delete route-plan.zip' }).click()
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Delete package' }).click()
  await expect(page.getByTestId('package-route-plan.zip')).toHaveCount(0)
  const left = await apiOk<unknown[]>(request, w.served.url, 'listDataPackages', { networkId: w.networks.Alpha }, w.token)
  expect(left).toEqual([])
})
