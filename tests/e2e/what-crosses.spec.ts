/// <reference lib="dom" />
// "What crosses" end to end in Chromium against `fedgate serve`, at 1024 × 640: on a federation end the editor opens
// inside the window with every kind ticked for a new filter and the sentence on emergencies; unticking positions and
// saving reaches the gateway (the API then answers the filter) and the row says what crosses.

import { ADMIN_PASSWORD, apiOk, expect, loginToken, openTab, signIn, test } from './serve.ts'

test('a federation end: what crosses, edited at 1024 × 640', async ({ page, serve, request }) => {
  const served = await serve({ env: { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD } })
  const token = await loginToken(request, served.url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(request, served.url, 'createOrganization', { name: '2-5 Recon', plan: 'team' }, token)
  const alpha = await apiOk<{ id: string }>(request, served.url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)
  const bravo = await apiOk<{ id: string }>(request, served.url, 'createNetwork', { organizationId: org.id, name: 'Bravo' }, token)
  await apiOk(request, served.url, 'federateWithinOrganization', { networkId: alpha.id, otherNetworkId: bravo.id }, token)

  await page.setViewportSize({ width: 1024, height: 640 })
  await signIn(page, served.url, 'admin', ADMIN_PASSWORD)
  await openTab(page, 'Alpha', 'Federated Networks')
  const row = page.getByTestId('federation-Bravo')
  await expect(row.getByTestId('crosses-out')).toContainText('Everything')

  await row.getByTestId('what-crosses-edit').click()
  const dialog = page.getByTestId('what-crosses-dialog')
  await expect(dialog).toContainText('emergencies cross unless you untick them')
  await dialog.getByTestId('everything-out').getByRole('checkbox').click()
  await expect(dialog.getByTestId('kind-out-emergencies')).toHaveClass(/text-success/)
  await dialog.getByTestId('kind-out-positions').click()
  await expect(dialog.getByTestId('kind-out-positions')).not.toHaveClass(/text-success/)
  // The dialog and its Save button are inside the window: no scrolling sideways at 1024 × 640.
  const box = await dialog.boundingBox()
  expect(box!.x).toBeGreaterThanOrEqual(0)
  expect(box!.x + box!.width).toBeLessThanOrEqual(1024)
  const save = dialog.getByTestId('what-crosses-save')
  await save.scrollIntoViewIfNeeded()
  const saveBox = await save.boundingBox()
  expect(saveBox!.y + saveBox!.height).toBeLessThanOrEqual(640)
  await save.click()
  await expect(dialog).toBeHidden()

  await expect(row.getByTestId('crosses-out')).toContainText('All but positions')
  const [federation] = await apiOk<{ ours: { outFilter: unknown } }[]>(
    request,
    served.url,
    'listFederations',
    { networkId: alpha.id },
    token
  )
  expect(federation!.ours.outFilter).toEqual({ kinds: ['chat', 'markers', 'emergencies', 'packages', 'other'] })
  await page.screenshot({ path: '/tmp/filters-e2e/what-crosses-1024.png' })
})
