// A fresh load of the console, as an operator's first look: the browser's console stays clean (no 401 from asking
// who is signed in before anyone is, no 404 for a missing favicon) and the tab shows Fedgate's icon.

import type { Page, Response } from '@playwright/test'
import { ADMIN_PASSWORD, apiOk, expect, signIn, test } from './serve.ts'

/** Every console message and every failed answer the page gets from now on. */
function watchLoad(page: Page): { errors: string[]; failed: string[] } {
  const seen = { errors: [] as string[], failed: [] as string[] }
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') seen.errors.push(`${message.type()}: ${message.text()}`)
  })
  page.on('response', (response: Response) => {
    if (response.status() >= 400) seen.failed.push(`${response.status()} ${response.request().method()} ${response.url()}`)
  })
  page.on('requestfailed', (request) => {
    // A reload cancels the open event stream; that is the browser leaving, not a refusal.
    const reason = request.failure()?.errorText ?? ''
    if (reason !== 'net::ERR_ABORTED') seen.failed.push(`${reason} ${request.method()} ${request.url()}`)
  })
  return seen
}

test('a fresh load, before and after the first administrator exists, logs nothing and shows the favicon', async ({
  page,
  serve,
  request
}) => {
  const served = await serve()
  const seen = watchLoad(page)
  await page.goto(served.url)
  await expect(page.getByText('Create the first administrator')).toBeVisible()
  await expect(page.locator('link[rel="icon"]')).toHaveAttribute('href', /\.png$/)
  const icon = await page.locator('link[rel="icon"]').getAttribute('href')
  const iconAnswer = await request.get(new URL(icon ?? '', served.url).toString())
  expect(iconAnswer.status()).toBe(200)
  expect(iconAnswer.headers()['content-type']).toBe('image/png')
  expect(seen).toEqual({ errors: [], failed: [] })

  // With an administrator, a page that holds no token gets the sign-in screen without a refused call.
  await apiOk(request, served.url, 'setupFirstAdmin', { setupToken: served.setupToken, username: 'admin', password: ADMIN_PASSWORD }, '')
  await page.reload()
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible()
  // Signed in, a reload asks who we are with the token: still nothing refused.
  await signIn(page, served.url, 'admin', ADMIN_PASSWORD)
  await page.reload()
  await expect(page.getByTestId('nav-networks')).toBeVisible()
  expect(seen).toEqual({ errors: [], failed: [] })
})
