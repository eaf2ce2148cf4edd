// More of a gateway killed and restarted under an open console (see reconnect.spec.ts): the Users, Teams and Audit
// pages bring in what changed while the console could not reach the gateway, and a device's "Last activity" is still
// there after the restart instead of "never".

import fsp from 'node:fs/promises'
import path from 'node:path'
import { DeviceClient } from '../support/device-client.ts'
import { identityFromEnrollment, pli, type EnrollAnswer } from '../support/devices.ts'
import { ADMIN_PASSWORD, apiOk, expect, loginToken, openTab, signIn, test } from './serve.ts'

const env = { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD }

test('Users, Teams and Audit reload when the gateway is back: what was done meanwhile shows without a reload', async ({
  page,
  serve,
  request
}) => {
  const first = await serve({ env })
  const port = Number(new URL(first.url).port)
  const token = await loginToken(request, first.url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(request, first.url, 'createOrganization', { name: '2-5 Recon', plan: 'team' }, token)
  await apiOk(request, first.url, 'createTeam', { organizationId: org.id, name: 'Team Alpha' }, token)
  await apiOk(request, first.url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)

  // One browser, three tabs, one sign-in: each shows one of the pages while the gateway goes away.
  await signIn(page, first.url, 'admin', ADMIN_PASSWORD)
  const tabs = { users: page, teams: await page.context().newPage(), audit: await page.context().newPage() }
  for (const [name, tab] of Object.entries(tabs)) {
    if (tab !== page) await tab.goto(first.url)
    await tab.getByTestId(`nav-${name}`).click()
  }
  await expect(tabs.users.getByTestId('user-admin')).toBeVisible()
  await expect(tabs.teams.getByTestId('team-Team Alpha')).toBeVisible()
  await expect(tabs.audit.getByTestId('audit-row').first()).toBeVisible()
  // An edit on the Teams page not saved yet: the reload after the outage must not throw it away.
  const alphaTeam = tabs.teams.getByTestId('team-Team Alpha')
  await alphaTeam
    .getByRole('row', { name: /^Alpha/ })
    .getByRole('button', { name: 'All' })
    .click()
  await expect(alphaTeam.getByRole('checkbox', { name: /^Alpha: / }).first()).toBeChecked()

  await first.kill()
  for (const tab of Object.values(tabs)) await expect(tab.getByTestId('gateway-unreachable')).toBeVisible({ timeout: 5000 })

  // Meanwhile another console (on another port these tabs do not know) adds a user and a team.
  const elsewhere = await serve({ env, dataDir: first.dataDir })
  const other = await loginToken(request, elsewhere.url, 'admin', ADMIN_PASSWORD)
  await apiOk(
    request,
    elsewhere.url,
    'createUser',
    { username: 'ops-2', password: 'a long enough password', organizationId: org.id },
    other
  )
  await apiOk(request, elsewhere.url, 'createTeam', { organizationId: org.id, name: 'Team Bravo' }, other)
  await elsewhere.stop()

  await serve({ env, dataDir: first.dataDir, port })
  for (const tab of Object.values(tabs)) await expect(tab.getByTestId('gateway-unreachable')).toBeHidden({ timeout: 15_000 })
  // Soft: a page that does not reload is named even when another one fails too.
  await expect.soft(tabs.users.getByTestId('user-ops-2')).toBeVisible()
  await expect.soft(tabs.teams.getByTestId('team-Team Bravo')).toBeVisible()
  await expect.soft(tabs.teams.getByTestId('team-Team Alpha')).toBeVisible()
  await expect.soft(alphaTeam.getByRole('checkbox', { name: /^Alpha: / }).first()).toBeChecked()
  await expect.soft(alphaTeam.getByRole('button', { name: 'Save permissions' })).toBeEnabled()
  await expect.soft(tabs.audit.getByTestId('audit-row').filter({ hasText: 'Team Bravo' })).toBeVisible()
  for (const tab of [tabs.teams, tabs.audit]) await tab.close()
})

test('a device’s Last activity is still shown after the gateway restarts', async ({ page, serve, request }) => {
  const first = await serve({ env })
  const port = Number(new URL(first.url).port)
  const token = await loginToken(request, first.url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(request, first.url, 'createOrganization', { name: '2-5 Recon', plan: 'team' }, token)
  const network = await apiOk<{ id: string }>(request, first.url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)
  const enrolled = await apiOk<EnrollAnswer>(request, first.url, 'enrollDevice', { networkId: network.id, callsign: 'VIPER-1' }, token)
  const identity = await identityFromEnrollment('VIPER-1', enrolled)
  const settings = await apiOk<{ ports: { streaming: number } }>(request, first.url, 'getDeploymentSettings', {}, token)

  // The phone connects, reports its position and leaves.
  const phone = await DeviceClient.connect({ port: settings.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
  await phone.waitFor((e) => e.type === 't-x-takp-v')
  phone.send(pli('ANDROID-viper', 'VIPER-1'))
  await signIn(page, first.url, 'admin', ADMIN_PASSWORD)
  await openTab(page, 'Alpha', 'Devices')
  const row = page.getByTestId('device-VIPER-1')
  await expect(row).toContainText('ANDROID-viper')
  await phone.close()
  await expect(row).toContainText('Offline')
  // Saved a moment after it went offline; the crash below must not lose it.
  await expect.poll(async () => (await fsp.readFile(path.join(first.dataDir, 'db.json'), 'utf8')).includes('"lastSeen"')).toBe(true)

  await first.kill()
  await expect(page.getByTestId('gateway-unreachable')).toBeVisible({ timeout: 5000 })
  await serve({ env, dataDir: first.dataDir, port })
  await expect(page.getByTestId('gateway-unreachable')).toBeHidden({ timeout: 15_000 })
  await expect(row).toContainText('Offline')
  await expect(row).toContainText(/\d+ (s|min) ago/)
  await expect(row).not.toContainText('never')
})
