// A gateway killed and restarted under an open console: the console says at once that the gateway cannot be reached
// (one banner, values greyed, no "not available" note, Health no longer "live"), and when `fedgate serve` comes back
// on the same data directory and port it reconnects by itself: the same page, the same session, live data again.

import { ADMIN_PASSWORD, apiOk, expect, loginToken, shot, signIn, test } from './serve.ts'

test('a gateway restart under an open console: banner while it is gone, back live without a reload or a sign-in', async ({
  page,
  serve,
  request
}) => {
  const env = { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD }
  const first = await serve({ env })
  const port = Number(new URL(first.url).port)
  const token = await loginToken(request, first.url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(request, first.url, 'createOrganization', { name: '2-5 Recon', plan: 'team' }, token)
  await apiOk(request, first.url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)

  await signIn(page, first.url, 'admin', ADMIN_PASSWORD)
  await page.getByTestId('nav-health').click()
  await expect(page.getByTestId('health-freshness')).toContainText('Updates live.')
  // Survives only as long as the page is not reloaded.
  await page.evaluate(() => ((window as unknown as { sameLoad: boolean }).sameLoad = true))

  await first.kill()
  const banner = page.getByTestId('gateway-unreachable')
  await expect(banner).toHaveText(/Gateway not reachable — reconnecting/, { timeout: 5000 })
  await expect(page.locator('[data-stale="true"]')).toBeVisible()
  await expect(page.getByTestId('health-freshness')).not.toContainText('Updates live')
  await expect(page.getByTestId('health-freshness')).toContainText('cannot be reached')
  // Calls that fail meanwhile do not add a toast each: the banner already says it.
  const refused = page.waitForEvent('requestfailed', (req) => req.url().endsWith('/api/getHealth'))
  await page.getByRole('button', { name: 'Refresh' }).click()
  await refused
  await page.getByTestId('nav-networks').click()
  // The snackbar would open within a frame or two of the failed call; give it ample time to show up wrongly.
  await page.waitForTimeout(1000)
  // Counted once, not awaited: a toast would pass an auto-retrying check by fading out after four seconds.
  expect(await page.getByText('not available in this build').count()).toBe(0)
  expect(await page.locator('.v-snackbar__content').count()).toBe(0)
  await expect(banner).toBeVisible()
  await shot(page, 'gateway-unreachable')

  await serve({ env, dataDir: first.dataDir, port })
  await expect(banner).toBeHidden({ timeout: 15_000 })
  await expect(page.locator('[data-stale="false"]')).toBeVisible()
  // The session held across the restart: same page, no sign-in form.
  await expect(page.getByLabel('Username')).toHaveCount(0)
  expect(await page.evaluate(() => (window as unknown as { sameLoad?: boolean }).sameLoad)).toBe(true)

  // Live data again: the token from before the restart still works, and a network made now appears on its own.
  await apiOk(request, first.url, 'createNetwork', { organizationId: org.id, name: 'Charlie' }, token)
  await expect(page.getByTestId('network-Charlie')).toBeVisible({ timeout: 10_000 })
  await expect(page.getByTestId('network-Alpha')).toBeVisible()
  // Once the reconnect reloads are done, only the event stream can bring this one.
  await page.waitForTimeout(1000)
  await apiOk(request, first.url, 'createNetwork', { organizationId: org.id, name: 'Delta' }, token)
  await expect(page.getByTestId('network-Delta')).toBeVisible({ timeout: 10_000 })
  await page.getByTestId('nav-health').click()
  await expect(page.getByTestId('health-freshness')).toContainText('Updates live.')

  // One sign-in serves every tab of the browser: a new tab opens signed in.
  const tab = await page.context().newPage()
  await tab.goto(first.url)
  await expect(tab.getByTestId('nav-networks')).toBeVisible({ timeout: 20_000 })
  await expect(tab.getByLabel('Username')).toHaveCount(0)
  await tab.close()
})
