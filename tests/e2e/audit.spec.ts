// Issue 17 end to end in Chromium against `fedgate serve`: changes made through the API read in the audit log as
// sentences with names; the operator pages back, opens an entry's details, filters by what and by who, and downloads
// the filtered set as CSV and NDJSON, whose contents are checked.

import fsp from 'node:fs/promises'
import { ADMIN_PASSWORD, apiOk, expect, signIn, test } from './serve.ts'

test('audit log: sentences, paging, details, filters and both exports', async ({ page, serve, request }) => {
  const served = await serve()
  const { token: admin } = await apiOk<{ token: string }>(
    request,
    served.url,
    'setupFirstAdmin',
    { setupToken: served.setupToken, username: 'admin', password: ADMIN_PASSWORD, displayName: 'Ops Admin' },
    ''
  )
  const call = <T = { id: string }>(method: string, args: unknown, token = admin): Promise<T> =>
    apiOk<T>(request, served.url, method, args, token)
  const org = await call('createOrganization', { name: 'Alpha Recon', plan: 'team' })
  const north = await call('createNetwork', { organizationId: org.id, name: 'Alpha North' })
  const main = await call('createNetwork', { organizationId: org.id, name: 'Bravo Main' })
  const federation = await call('federateWithinOrganization', { networkId: north.id, otherNetworkId: main.id })
  await call('updateFederationEnd', { federationId: federation.id, networkId: north.id, acceptPackages: true })
  // Enough newer entries that the toggle change lands on the second page (50 a page).
  for (let i = 0; i < 50; i++) await call('createNetwork', { organizationId: org.id, name: `Spare ${i}` })
  await call('createUser', {
    username: 'lead',
    password: ADMIN_PASSWORD,
    displayName: 'Alpha Lead',
    organizationId: org.id,
    organizationAdmin: true
  })
  const lead = (await call<{ token: string }>('login', { username: 'lead', password: ADMIN_PASSWORD }, '')).token
  await call('createNetwork', { organizationId: org.id, name: 'Lead One' }, lead)
  await call('renameNetwork', { id: main.id, name: 'Bravo Renamed' })

  await signIn(page, served.url, 'admin', ADMIN_PASSWORD)
  await page.getByTestId('nav-audit').click()
  const sentences = page.getByTestId('audit-sentence')
  await expect(sentences.first()).toHaveText('Ops Admin renamed network Bravo Main to Bravo Renamed')
  await expect(sentences.nth(1)).toHaveText('Alpha Lead created network Lead One')
  await expect(sentences).toHaveCount(50)
  await expect(page.getByText('updateFederationEnd')).toHaveCount(0)

  // Page back to the toggle change: it names both networks as they were then.
  await page.getByTestId('audit-older').click()
  await expect(page.getByTestId('audit-page')).toHaveText('Page 2')
  const toggle = page.getByTestId('audit-row').filter({ hasText: 'Ops Admin turned DP-In on for Alpha North ↔ Bravo Main' })
  await expect(toggle).toHaveCount(1)
  await expect(page.getByTestId('audit-details')).toHaveCount(0)
  await toggle.getByTestId('audit-expand').click()
  const details = page.getByTestId('audit-details')
  await expect(details).toContainText('federationId: Alpha North ↔ Bravo Main')
  await expect(details).toContainText(`"federationId": "${federation.id}"`)
  await page.getByTestId('audit-newer').click()
  await expect(page.getByTestId('audit-page')).toHaveText('Page 1')

  // What: the federation switches only.
  await page.getByTestId('audit-what').click()
  await page.getByRole('option', { name: 'Federation switches (In, Out, DP-In, DP-Out)' }).click()
  await expect(sentences).toHaveText(['Ops Admin turned DP-In on for Alpha North ↔ Bravo Main'])
  await page.getByTestId('audit-what').getByRole('button', { name: /clear/i }).click()
  await expect(sentences).toHaveCount(50)

  // Who: the organization's lead.
  await page.getByTestId('audit-who').locator('input').fill('alpha lead')
  await expect(sentences).toHaveText(['Alpha Lead created network Lead One'])

  // Both exports hold the filtered set.
  const csvDownload = page.waitForEvent('download')
  await page.getByTestId('audit-export-csv').click()
  const csvFile = await csvDownload
  expect(csvFile.suggestedFilename()).toMatch(/^fedgate-audit-.*\.csv$/)
  const csv = await fsp.readFile((await csvFile.path())!, 'utf8')
  const rows = csv.trimEnd().split('\r\n')
  expect(rows).toHaveLength(2)
  expect(rows[0]).toBe('"When (UTC)","Who","What","Change","Organization","Details"')
  expect(rows[1]).toContain('"Alpha Lead","Networks","Alpha Lead created network Lead One","Alpha Recon"')

  const ndDownload = page.waitForEvent('download')
  await page.getByTestId('audit-export-ndjson').click()
  const ndFile = await ndDownload
  expect(ndFile.suggestedFilename()).toMatch(/\.ndjson$/)
  const lines = (await fsp.readFile((await ndFile.path())!, 'utf8')).trimEnd().split('\n')
  expect(lines.map((l) => (JSON.parse(l) as { sentence: string; actor: string }).sentence)).toEqual(['Alpha Lead created network Lead One'])
})
