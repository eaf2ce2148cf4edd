// In-app help in Chromium against a real `fedgate serve`, on a 1024 × 640 field laptop: the "?" of a network tab opens
// that tab's topic in a side panel that fits the window, the panel leads to the help page, whose search finds topics by
// a word of their body and marks it. Help is bundled: any request to a host other than 127.0.0.1 fails the test.

import { ADMIN_PASSWORD, apiOk, expect, loginToken, openTab, signIn, test } from './serve.ts'

test('help from a tab, then search across all topics, offline, at 1024 × 640', async ({ page, serve, request }, testInfo) => {
  const outbound: string[] = []
  await page.route('**/*', async (route) => {
    const url = new URL(route.request().url())
    if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue()
    outbound.push(route.request().url())
    return route.abort()
  })

  const served = await serve({ env: { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD } })
  const token = await loginToken(request, served.url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(request, served.url, 'createOrganization', { name: 'Recon', plan: 'team', tokenLimit: 5 }, token)
  await apiOk(request, served.url, 'createNetwork', { organizationId: org.id, name: 'Alpha North' }, token)

  await page.setViewportSize({ width: 1024, height: 640 })
  await signIn(page, served.url, 'admin', ADMIN_PASSWORD)

  // The "?" beside the network's name opens the topic of the tab on show: External TAK Servers → TAK Server peers.
  await openTab(page, 'Alpha North', 'External TAK Servers')
  await page.getByTestId('help-button').click()
  const panel = page.getByTestId('help-panel')
  const topic = panel.getByTestId('help-topic-tak-peers')
  await expect(topic).toBeVisible()
  await expect(topic).toContainText('<federation enableFederation="true">')
  await expect(topic).toContainText('v2enabled="true"')
  await expect(topic).toContainText('federation truststore')
  // Measured once it has slid in: mid-animation it still overhangs the right edge.
  const fits = async (): Promise<boolean> => {
    const box = await panel.boundingBox()
    return box !== null && box.x >= 0 && box.x + box.width <= 1024
  }
  await expect.poll(fits, { message: 'the help panel fits a 1024 px window' }).toBe(true)
  await page.screenshot({ path: testInfo.outputPath('help-panel-1024.png') })

  // A related topic opens in the same panel; closing it leaves the tab where it was.
  await panel.getByTestId('help-related-toggles').click()
  await expect(panel.getByTestId('help-topic-toggles')).toContainText('DP-Out')
  await panel.getByTestId('help-close').click()
  await expect(panel).not.toBeInViewport()
  await expect(page.getByRole('tab', { name: 'External TAK Servers' })).toHaveAttribute('aria-selected', 'true')

  // Another tab, another topic.
  await page.getByRole('tab', { name: 'Devices' }).click()
  await page.getByTestId('help-button').click()
  await expect(panel.getByTestId('help-topic-enrollment')).toContainText('iTAK: scan the QR code')

  // From the panel to the help page: one search across every topic.
  await panel.getByTestId('help-search-all').click()
  await expect(page).toHaveURL(/#\/help$/)
  const search = page.getByTestId('help-search').locator('input')
  await search.fill('truststore')
  const result = page.getByTestId('help-result-tak-peers')
  await expect(result).toBeVisible()
  await expect(result.locator('mark').first()).toHaveText(/truststore/i)
  await expect(page.getByTestId('help-result-enrollment')).toHaveCount(0)

  await search.fill('callsign')
  await expect(page.getByTestId('help-result-enrollment')).toBeVisible()
  await page.getByTestId('help-result-enrollment').click()
  await expect(page.getByTestId('help-topic-enrollment').locator('mark').first()).toHaveText(/callsign/i)
  await page.screenshot({ path: testInfo.outputPath('help-search-1024.png') })

  await search.fill('xqzvbk')
  await expect(page.getByTestId('help-no-results')).toBeVisible()
  await expect(page.locator('[data-testid^="help-result-"]')).toHaveCount(0)

  // The help page itself fits: no sideways scroll at 1024 px, and it is in the navigation.
  const sideways = await page.evaluate(() => (document.scrollingElement?.scrollWidth ?? 0) - window.innerWidth)
  expect(sideways).toBeLessThanOrEqual(0)
  await page.getByTestId('nav-networks').click()
  await page.getByTestId('nav-help').click()
  await expect(page.getByTestId('help-topic-link-codes')).toBeVisible()

  expect(outbound, 'requests that left the machine').toEqual([])
})
