// Issue 2 end to end in Chromium against `fedgate serve`: first administrator with the printed setup token, an
// organization, a network, a team with a grant, users; the network survives a restart; a user without a grant sees
// the network but gets no buttons, and the gateway itself answers `forbidden`.

import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Page } from '@playwright/test'
import { ADMIN_PASSWORD, apiCall, apiOk, expect, loginToken, settled, shot, signIn, test } from './serve.ts'

async function pickOption(page: Page, label: string, option: string): Promise<void> {
  await page.getByRole('combobox').filter({ hasText: label }).last().click()
  await page.getByRole('option', { name: option, exact: true }).click()
}

test('first administrator, organization, network, team, users; restart keeps them; no grant, no buttons', async ({
  page,
  serve,
  request
}) => {
  const first = await serve()
  expect(first.setupToken, first.output()).toBeTruthy()

  // First screen: the setup token printed by `fedgate serve`.
  await page.goto(first.url)
  await expect(page.getByText('Create the first administrator')).toBeVisible()
  await shot(page, 'setup')
  await settled(page.getByLabel('Setup token'))
  await page.getByLabel('Setup token').fill(first.setupToken ?? '')
  await page.getByLabel('Username').fill('admin')
  await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD)
  await page.getByLabel('Password again').fill(ADMIN_PASSWORD)
  await page.getByRole('button', { name: 'Create administrator' }).click()
  await expect(page.getByTestId('nav-networks')).toBeVisible()

  // Organization (deployment admin).
  await page.getByTestId('nav-organizations').click()
  await page.getByRole('button', { name: 'New organization' }).click()
  const orgDialog = page.getByRole('dialog')
  await settled(orgDialog.getByLabel('Organization name'))
  await orgDialog.getByLabel('Organization name').fill('2-5 Recon')
  await pickOption(page, 'Plan', 'Team')
  await orgDialog.getByRole('button', { name: 'Create' }).click()
  await expect(page.getByTestId('organization-2-5 Recon')).toBeVisible()
  // Upgrade: plan and token limit.
  await page.getByTestId('organization-2-5 Recon').getByRole('button', { name: 'Edit' }).click()
  await settled(page.getByRole('dialog').getByLabel('Organization name'))
  await pickOption(page, 'Plan', 'Enterprise')
  await page.getByRole('dialog').getByLabel('Token limit').fill('25')
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click()
  await expect(page.getByTestId('organization-2-5 Recon')).toContainText('Enterprise')
  await expect(page.getByTestId('organization-2-5 Recon')).toContainText('0 / 25')
  await shot(page, 'organizations')

  // Network.
  await page.getByTestId('nav-networks').click()
  await page.getByRole('button', { name: 'New network' }).click()
  await page.getByRole('dialog').getByLabel('Network name').fill('Alpha')
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click()
  await expect(page.getByTestId('network-Alpha')).toBeVisible()
  await shot(page, 'networks')

  // Rename, then delete behind a confirmation (Cancel keeps it).
  await page.getByRole('button', { name: 'New network' }).click()
  await page.getByRole('dialog').getByLabel('Network name').fill('Scratch')
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click()
  await page.getByRole('button', { name: 'Rename Scratch' }).click()
  await page.getByRole('dialog').getByLabel('Network name').fill('Scratch 2')
  await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click()
  await expect(page.getByTestId('network-Scratch 2')).toBeVisible()
  await page.getByRole('button', { name: 'Delete Scratch 2' }).click()
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Cancel' }).click()
  await expect(page.getByTestId('network-Scratch 2')).toBeVisible()
  await page.getByRole('button', { name: 'Delete Scratch 2' }).click()
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Delete network' }).click()
  await expect(page.getByTestId('network-Scratch 2')).toHaveCount(0)

  // Users: one for the team with a grant, one with no grant at all.
  await page.getByTestId('nav-users').click()
  for (const [username, displayName] of [
    ['lead', 'Squad Lead'],
    ['viewer', 'Radio Operator']
  ] as const) {
    await page.getByRole('button', { name: 'New user' }).click()
    const dialog = page.getByRole('dialog')
    await settled(dialog.getByLabel('Username'))
    await dialog.getByLabel('Username').fill(username)
    await dialog.getByLabel('Password').fill(`${username} password 1`)
    await dialog.getByLabel('Display name').fill(displayName)
    await pickOption(page, 'Organization', '2-5 Recon')
    await dialog.getByRole('button', { name: 'Create user' }).click()
    await expect(page.getByTestId(`user-${username}`)).toBeVisible()
  }
  await shot(page, 'users')

  // Team with a grant on Alpha, and the lead as its member.
  await page.getByTestId('nav-teams').click()
  await page.getByRole('button', { name: 'New team' }).click()
  await page.getByRole('dialog').getByLabel('Team name').fill('Squad leads')
  await page.getByRole('dialog').getByRole('button', { name: 'Create team' }).click()
  const team = page.getByTestId('team-Squad leads')
  await expect(team).toBeVisible()
  await team.getByRole('combobox', { name: 'Members' }).click()
  await page.getByRole('option', { name: /Squad Lead/ }).click()
  await page.keyboard.press('Escape')
  await team.getByRole('button', { name: 'Save members' }).click()
  await expect(team).toContainText('1 member ·')
  await team.getByLabel('Alpha: Manage devices').check()
  await team.getByRole('button', { name: 'Save permissions' }).click()
  await expect(team).toContainText('1 network granted')
  await shot(page, 'teams')

  // The audit log saw all of it.
  await page.getByTestId('nav-audit').click()
  await expect(page.getByText(/created network Alpha/).first()).toBeVisible()
  await shot(page, 'audit')
  await page.getByTestId('nav-health').click()
  await expect(page.getByText('How the gateway itself is doing')).toBeVisible()
  await shot(page, 'health')
  await page.getByTestId('nav-settings').click()
  await expect(page.getByText('appsettings.json').first()).toBeVisible()
  await shot(page, 'settings')

  // Restart on the same data directory: the network is still there.
  const dataDir = first.dataDir
  await first.stop()
  const second = await serve({ dataDir })
  expect(second.setupToken).toBeNull()
  await signIn(page, second.url, 'admin', ADMIN_PASSWORD)
  await expect(page.getByTestId('network-Alpha')).toBeVisible()

  // The lead holds Manage devices on Alpha: the Enroll button is there.
  await page.getByTestId('user-menu').click()
  await page.getByText('Sign out').click()
  await signIn(page, second.url, 'lead', 'lead password 1')
  await page.getByTestId('network-Alpha').getByText('Alpha').click()
  await expect(page.getByTestId('enroll-device')).toBeVisible()

  // The viewer sees Alpha but gets no create or enroll buttons.
  await page.getByTestId('user-menu').click()
  await page.getByText('Sign out').click()
  await settled(page.getByLabel('Username'))
  await page.getByLabel('Username').fill('viewer')
  await page.getByLabel('Password', { exact: true }).fill('not the password')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('signin-error')).toBeVisible()
  await signIn(page, second.url, 'viewer', 'viewer password 1')
  await expect(page.getByTestId('network-Alpha')).toBeVisible()
  await expect(page.getByRole('button', { name: 'New network' })).toHaveCount(0)
  await page.getByTestId('network-Alpha').getByText('Alpha').click()
  await expect(page.getByTestId('network-title')).toHaveText('Alpha')
  await expect(page.getByText('View only')).toBeVisible()
  await expect(page.getByTestId('enroll-device')).toHaveCount(0)
  await shot(page, 'network-view-only')

  // And the gateway refuses the calls themselves, whatever the page shows.
  const viewerToken = await loginToken(request, second.url, 'viewer', 'viewer password 1')
  const adminToken = await loginToken(request, second.url, 'admin', ADMIN_PASSWORD)
  const [org] = await apiOk<{ id: string }[]>(request, second.url, 'listOrganizations', {}, adminToken)
  const [alpha] = await apiOk<{ id: string }[]>(request, second.url, 'listNetworks', { organizationId: org?.id }, adminToken)
  const create = await apiCall(request, second.url, 'createNetwork', { organizationId: org?.id, name: 'Sneaky' }, viewerToken)
  expect(create.ok).toBe(false)
  expect(create.error?.code).toBe('forbidden')
  const enroll = await apiCall(request, second.url, 'enrollDevice', { networkId: alpha?.id, callsign: 'SNEAKY' }, viewerToken)
  expect(enroll.error?.code).toBe('forbidden')
  const networks = await apiOk<{ name: string }[]>(request, second.url, 'listNetworks', { organizationId: org?.id }, adminToken)
  expect(networks.map((n) => n.name)).toEqual(['Alpha'])
})

test('a damaged db.json is set aside, the last good copy restored, and the console says so', async ({ page, serve, request }) => {
  const first = await serve({ env: { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD } })
  const token = await loginToken(request, first.url, 'admin', ADMIN_PASSWORD)
  await apiOk(request, first.url, 'createOrganization', { name: '2-5 Recon' }, token)
  await first.stop()
  // A clean start takes db.json.bak from the good file.
  await (await serve({ dataDir: first.dataDir })).stop()
  // A half-written file, as after a battery dying mid-write on a filesystem without atomic renames.
  await fsp.writeFile(path.join(first.dataDir, 'db.json'), '{"schemaVersion": 1, "users": [')

  const third = await serve({ dataDir: first.dataDir })
  await page.goto(third.url)
  const banner = page.getByTestId('store-recovery')
  await expect(banner).toContainText('restored the last good copy')
  await expect(banner).toContainText('db.json.corrupt-')
  await shot(page, 'store-recovery')
  await signIn(page, third.url, 'admin', ADMIN_PASSWORD)
  await expect(page.getByTestId('org-switcher')).toContainText('2-5 Recon')
  await expect(page.getByTestId('store-recovery')).toBeVisible()
})
