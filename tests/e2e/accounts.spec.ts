// Issue 17, the whole account lifecycle in Chromium against `fedgate serve`: edit a display name, reset a password
// (the one-time password shown once, then it works), disable and enable, delete a user; rename and delete a team;
// delete an organization through the typed-name dialog; change my own password from the user menu.

import { ADMIN_PASSWORD, apiCall, apiOk, expect, loginToken, settled, shot, signIn, test } from './serve.ts'

test('users, teams and organizations through their whole life', async ({ page, serve, request }) => {
  // One long journey through four pages; on a shared two-core machine it needs more than the default minute.
  test.setTimeout(120_000)
  const served = await serve({ env: { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD } })
  const url = served.url
  const token = await loginToken(request, url, 'admin', ADMIN_PASSWORD)
  const alpha = await apiOk<{ id: string }>(request, url, 'createOrganization', { name: 'Alpha', plan: 'team' }, token)
  await apiOk(request, url, 'createOrganization', { name: 'Bravo', plan: 'team' }, token)
  await apiOk(request, url, 'createNetwork', { organizationId: alpha.id, name: 'Alpha North' }, token)
  await apiOk(request, url, 'createUser', { username: 'kim', password: 'kim first pw', organizationId: alpha.id }, token)
  await apiOk(request, url, 'createTeam', { organizationId: alpha.id, name: 'Red' }, token)

  await signIn(page, url, 'admin', ADMIN_PASSWORD)
  await page.getByTestId('nav-users').click()
  const kim = page.getByTestId('user-kim')

  // Display name.
  await kim.getByRole('button', { name: 'Edit' }).click()
  await settled(page.getByRole('dialog').getByLabel('Display name'))
  await page.getByRole('dialog').getByLabel('Display name').fill('Kim Field')
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click()
  await expect(kim).toContainText('Kim Field')

  // Password reset: the one-time password is shown once, and it is the one that now signs kim in.
  await kim.getByRole('button', { name: 'Reset the password of kim' }).click()
  const reset = page.getByTestId('reset-password-dialog')
  await reset.getByRole('button', { name: 'Reset password' }).click()
  const shown = reset.getByTestId('one-time-password')
  await expect(shown).toHaveText(/^[A-Za-z2-9]{16}$/)
  await expect(reset.getByRole('button', { name: /copy/i })).toBeVisible()
  await shot(page, 'one-time-password')
  const oneTime = (await shown.textContent()) ?? ''
  await reset.getByRole('button', { name: 'Done' }).click()
  await expect(reset).toBeHidden()
  expect((await apiCall(request, url, 'login', { username: 'kim', password: 'kim first pw' })).ok).toBe(false)
  const kimToken = await loginToken(request, url, 'kim', oneTime)

  // Disable: kim's session ends and sign-in is refused; enable: sign-in works again.
  await kim.getByRole('button', { name: 'Disable' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click()
  await expect(kim).toContainText('Disabled')
  expect((await apiCall(request, url, 'whoami', {}, kimToken)).error?.code).toBe('unauthenticated')
  expect((await apiCall(request, url, 'login', { username: 'kim', password: oneTime })).error?.message).toMatch(/disabled/)
  await kim.getByRole('button', { name: 'Enable' }).click()
  await expect(kim).not.toContainText('Disabled')
  await loginToken(request, url, 'kim', oneTime)

  // Teams: rename, then delete.
  await page.getByTestId('nav-teams').click()
  await page.getByTestId('team-Red').getByRole('button', { name: 'Rename' }).click()
  await settled(page.getByRole('dialog').getByLabel('Team name'))
  await page.getByRole('dialog').getByLabel('Team name').fill('Blue')
  await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click()
  await expect(page.getByTestId('team-Blue')).toBeVisible()
  await page.getByTestId('team-Blue').getByRole('button', { name: 'Delete' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Delete team' }).click()
  await expect(page.getByTestId('team-Blue')).toHaveCount(0)

  // Delete a user.
  await page.getByTestId('nav-users').click()
  await kim.getByRole('button', { name: 'Delete' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Delete user' }).click()
  await expect(kim).toHaveCount(0)
  // Not yourself: the admin's own row offers no delete.
  await expect(page.getByTestId('user-admin').getByRole('button', { name: 'Delete' })).toHaveCount(0)

  // Organization: the dialog names what goes and deletes only once the name is typed exactly.
  await page.getByTestId('nav-organizations').click()
  await page.getByTestId('organization-Alpha').getByRole('button', { name: 'Delete' }).click()
  const dialog = page.getByTestId('delete-organization-dialog')
  await expect(dialog).toContainText('1 network: Alpha North')
  const confirm = dialog.getByRole('button', { name: 'Delete organization' })
  await settled(dialog.getByTestId('confirm-name').getByRole('textbox'))
  await dialog.getByTestId('confirm-name').getByRole('textbox').fill('alpha')
  await expect(confirm).toBeDisabled()
  await dialog.getByTestId('confirm-name').getByRole('textbox').fill('Alpha')
  await shot(page, 'delete-organization')
  await confirm.click()
  await expect(page.getByTestId('organization-Alpha')).toHaveCount(0)
  await expect(page.getByTestId('organization-Bravo')).toBeVisible()

  // Change my password from the user menu: a wrong current password is refused in place, the right one changes it.
  await page.getByTestId('user-menu').click()
  await page.getByTestId('change-password').click()
  const change = page.getByTestId('change-password-dialog')
  await settled(change.getByLabel('Current password'))
  await change.getByLabel('Current password').fill('not my password')
  await change.getByLabel('New password', { exact: true }).fill('a brand new admin pw')
  await change.getByLabel('New password again').fill('a brand new admin pw')
  await change.getByRole('button', { name: 'Change password' }).click()
  await expect(change).toContainText('current password is not right')
  await change.getByLabel('Current password').fill(ADMIN_PASSWORD)
  await change.getByRole('button', { name: 'Change password' }).click()
  await expect(change).toBeHidden()
  await loginToken(request, url, 'admin', 'a brand new admin pw')
})
