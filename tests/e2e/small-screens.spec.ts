/// <reference lib="dom" />
// Field laptops have small screens: every page of the console at 1024 × 640 and 1280 × 720, with rows in its tables,
// keeps every action reachable without a sideways page scroll; the navigation folds to a rail; dialogs fit the window.
//
// "Reachable", precisely: every visible `button` in the main content (or in an open dialog) has its bounding box
// inside the viewport's width, or sits in a horizontally scrollable container whose own box is inside the viewport's
// width and which, scrolled to it, shows the button whole. And the page itself never scrolls sideways:
// `document.scrollingElement.scrollWidth <= innerWidth`.

import type { APIRequestContext, Locator, Page } from '@playwright/test'
import { ADMIN_PASSWORD, apiOk, expect, loginToken, signIn, test, type Served } from './serve.ts'

const SIZES = [
  { width: 1024, height: 640 },
  { width: 1280, height: 720 }
] as const

/** A gateway with enough in it that every table has rows: two networks federated, devices, a peer, a package. */
async function populated(serve: (o?: { env?: Record<string, string> }) => Promise<Served>, request: APIRequestContext): Promise<Served> {
  const served = await serve({
    env: {
      FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      Federation__AdvertisedHostname: '127.0.0.1',
      Federation__OurFederateId: 'fedgate-field-laptop'
    }
  })
  const { url } = served
  const token = await loginToken(request, url, 'admin', ADMIN_PASSWORD)
  const call = <T>(method: string, args: unknown): Promise<T> => apiOk<T>(request, url, method, args, token)
  const org = await call<{ id: string }>('createOrganization', { name: '2-5 Recon Battalion Headquarters', plan: 'team', tokenLimit: 5 })
  const alpha = await call<{ id: string }>('createNetwork', { organizationId: org.id, name: 'Alpha North' })
  const bravo = await call<{ id: string }>('createNetwork', { organizationId: org.id, name: 'Bravo Main' })
  await call('federateWithinOrganization', { networkId: alpha.id, otherNetworkId: bravo.id })
  await call('enrollDevice', { networkId: alpha.id, callsign: 'VIPER-1' })
  await call('createDeviceEnrollment', { networkId: alpha.id, callsign: 'VIPER-2' })
  const fingerprint = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).slice(-2).toUpperCase()).join(':')
  await call('addExternalPeer', {
    networkId: alpha.id,
    fingerprint,
    displayName: 'Brigade TAK Server',
    dial: { address: '127.0.0.1', port: 9 }
  })
  const content = Buffer.from('PK\u0005\u0006' + '\u0000'.repeat(18), 'latin1').toString('base64')
  await call('uploadDataPackage', { networkId: alpha.id, name: 'route-recon-overlay-with-a-long-name.zip', contentBase64: content })
  const team = await call<{ id: string }>('createTeam', { organizationId: org.id, name: 'Watch officers' })
  const user = await call<{ id: string }>('createUser', {
    username: 'watch1',
    password: 'watch officer pass 1',
    displayName: 'Watch Officer One',
    organizationId: org.id
  })
  await call('setTeamMembers', { teamId: team.id, memberIds: [user.id] })
  await call('setTeamGrants', { teamId: team.id, grants: [{ networkId: alpha.id, permissions: ['manageDevices', 'changeFederation'] }] })
  return served
}

interface Unreachable {
  text: string
  left: number
  right: number
}

/**
 * Buttons of `scope` (CSS) an operator cannot reach: outside the viewport's width and not inside a scrollable
 * container that brings them whole into view when scrolled. Scroll positions are put back afterwards.
 */
function unreachableButtons(page: Page, scope: string): Promise<Unreachable[]> {
  return page.evaluate((selector) => {
    const width = window.innerWidth
    const inView = (r: DOMRect, left: number, right: number): boolean => r.left >= left - 0.5 && r.right <= right + 0.5
    const scroller = (element: Element): HTMLElement | null => {
      for (let node = element.parentElement; node; node = node.parentElement) {
        const overflow = getComputedStyle(node).overflowX
        if ((overflow === 'auto' || overflow === 'scroll') && node.scrollWidth > node.clientWidth) return node
      }
      return null
    }
    const visible = (b: HTMLElement): boolean => {
      const r = b.getBoundingClientRect()
      return r.width > 0 && r.height > 0 && getComputedStyle(b).visibility !== 'hidden'
    }
    const buttons = Array.from(document.querySelectorAll<HTMLElement>(`${selector} button`)).filter(visible)
    const bad: Unreachable[] = []
    for (const button of buttons) {
      const rect = button.getBoundingClientRect()
      const text = (button.innerText || button.getAttribute('aria-label') || button.title || '?').trim()
      if (inView(rect, 0, width)) continue
      const box = scroller(button)
      const boxRect = box?.getBoundingClientRect()
      if (box && boxRect && inView(boxRect, 0, width)) {
        const before = box.scrollLeft
        box.scrollLeft += rect.right > boxRect.right ? rect.right - boxRect.right : rect.left - boxRect.left
        const moved = button.getBoundingClientRect()
        const reached = inView(moved, Math.max(0, boxRect.left), Math.min(width, boxRect.right))
        box.scrollLeft = before
        if (reached) continue
      }
      bad.push({ text, left: Math.round(rect.left), right: Math.round(rect.right) })
    }
    return bad
  }, scope)
}

/**
 * Buttons in a table's "Actions" column that are off screen while the table sits at its first scroll position: a
 * wide table may scroll inside its card, but what an operator does to a row stays in sight.
 */
function hiddenRowActions(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const hidden: string[] = []
    for (const table of Array.from(document.querySelectorAll<HTMLTableElement>('.v-main table'))) {
      const headers = Array.from(table.querySelectorAll('thead th'))
      const column = headers.findIndex((th) => th.textContent?.trim() === 'Actions')
      if (column < 0) continue
      const wrapper = table.parentElement
      const before = wrapper?.scrollLeft ?? 0
      if (wrapper) wrapper.scrollLeft = 0
      const box = (wrapper ?? table).getBoundingClientRect()
      const right = Math.min(window.innerWidth, box.right)
      for (const row of Array.from(table.querySelectorAll('tbody tr'))) {
        for (const button of Array.from(row.children[column]?.querySelectorAll<HTMLElement>('button') ?? [])) {
          const rect = button.getBoundingClientRect()
          if (rect.right > right + 0.5 || rect.left < box.left - 0.5)
            hidden.push(button.getAttribute('aria-label') || button.innerText.trim())
        }
      }
      if (wrapper) wrapper.scrollLeft = before
    }
    return hidden
  })
}

function pageScrollsSideways(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => ({ scrollWidth: document.scrollingElement?.scrollWidth ?? 0, innerWidth: window.innerWidth }))
}

async function expectFits(page: Page, where: string, scope = '.v-main'): Promise<void> {
  // Tables and cards settle after their loads; the last row appearing is the cue.
  await page.waitForLoadState('networkidle')
  const sideways = await pageScrollsSideways(page)
  expect(sideways.scrollWidth, `${where}: the page scrolls sideways`).toBeLessThanOrEqual(sideways.innerWidth)
  expect(await unreachableButtons(page, scope), `${where}: buttons out of reach`).toEqual([])
  expect(await hiddenRowActions(page), `${where}: row actions hidden until the table is scrolled`).toEqual([])
}

/** A dialog fits the window: its box inside the viewport both ways, every button reachable. */
async function expectDialogFits(page: Page, dialog: Locator, where: string): Promise<void> {
  await expect(dialog).toBeVisible()
  const box = await dialog.boundingBox()
  const viewport = page.viewportSize()
  expect(box && viewport, where).toBeTruthy()
  if (!box || !viewport) return
  expect(box.y, `${where}: top edge`).toBeGreaterThanOrEqual(-0.5)
  expect(box.y + box.height, `${where}: bottom edge`).toBeLessThanOrEqual(viewport.height + 0.5)
  expect(box.x + box.width, `${where}: right edge`).toBeLessThanOrEqual(viewport.width + 0.5)
  expect(await unreachableButtons(page, '.v-overlay--active .v-overlay__content'), `${where}: buttons out of reach`).toEqual([])
  // The actions at the bottom are on screen without scrolling the page: the content scrolls inside the dialog.
  const last = dialog.locator('.v-card-actions button').last()
  if ((await last.count()) > 0) await expect(last).toBeInViewport()
}

const NETWORK_TABS = ['Devices', 'Federated Networks', 'External TAK Servers', 'Data Packages'] as const
const PAGES = ['organizations', 'teams', 'users', 'audit', 'health', 'settings'] as const

test('every page at 1024 × 640 and 1280 × 720: actions in reach, no sideways page scroll, a rail for navigation', async ({
  page,
  serve,
  request
}, testInfo) => {
  test.setTimeout(150_000)
  const served = await populated(serve, request)
  await page.setViewportSize(SIZES[0])
  await signIn(page, served.url, 'admin', ADMIN_PASSWORD)

  for (const size of SIZES) {
    await page.setViewportSize(size)
    const at = `${size.width}×${size.height}`
    // Below 1280 px the navigation is a rail of icons, leaving the width to the tables; at 1280 it has its names.
    const drawer = page.getByTestId('navigation')
    await page.mouse.move(size.width / 2, size.height / 2)
    await expect.poll(async () => (await drawer.boundingBox())?.width ?? 0).toBeLessThanOrEqual(size.width < 1280 ? 72 : 260)
    if (size.width >= 1280) await expect(page.getByTestId('nav-networks')).toContainText('Networks')
    else {
      // The menu button opens the names until the next choice.
      await page.getByTestId('nav-toggle').click()
      await expect.poll(async () => (await drawer.boundingBox())?.width ?? 0).toBeGreaterThan(200)
      await page.getByTestId('nav-networks').click()
      await page.mouse.move(size.width / 2, size.height / 2)
      await expect.poll(async () => (await drawer.boundingBox())?.width ?? 0).toBeLessThanOrEqual(72)
    }

    await page.getByTestId('nav-networks').click()
    await expect(page.getByTestId('network-Alpha North')).toBeVisible()
    await expectFits(page, `networks at ${at}`)
    // The pointer off the rail, so no tooltip covers the page in the pictures.
    await page.mouse.move(size.width / 2, size.height - 10)
    if (size.width === 1024) await page.screenshot({ path: testInfo.outputPath('networks-1024.png') })

    await page.getByTestId('network-Alpha North').getByText('Alpha North', { exact: true }).click()
    await expect(page.getByTestId('network-title')).toHaveText('Alpha North')
    for (const tab of NETWORK_TABS) {
      await page.getByRole('tab', { name: tab }).click()
      await expect(page.getByRole('tab', { name: tab })).toHaveAttribute('aria-selected', 'true')
      await expectFits(page, `${tab} at ${at}`)
      if (size.width === 1024 && tab === 'External TAK Servers') await page.screenshot({ path: testInfo.outputPath('peers-1024.png') })
    }

    for (const name of PAGES) {
      await page.getByTestId(`nav-${name}`).click()
      await expect(page).toHaveURL(new RegExp(`#/${name}$`))
      await expectFits(page, `${name} at ${at}`)
    }
  }
})

test('dialogs fit a 1024 × 640 window: the content scrolls inside, the buttons stay on screen', async ({
  page,
  serve,
  request
}, testInfo) => {
  test.setTimeout(90_000)
  const served = await populated(serve, request)
  await page.setViewportSize(SIZES[0])
  await signIn(page, served.url, 'admin', ADMIN_PASSWORD)
  await page.getByTestId('nav-networks').click()
  await page.getByTestId('network-Alpha North').getByText('Alpha North', { exact: true }).click()

  await page.getByRole('tab', { name: 'Devices' }).click()
  await page.getByTestId('enroll-device').click()
  const enroll = page.getByTestId('enroll-dialog')
  await expectDialogFits(page, enroll, 'enroll dialog')
  await enroll.getByLabel('Callsign').fill('VIPER-3')
  await enroll.getByRole('button', { name: 'Enroll', exact: true }).click()
  await expect(enroll).toContainText('VIPER-3 is enrolled')
  // The answer (passwords, QR, downloads) is the tallest thing the console shows.
  await expectDialogFits(page, enroll, 'enrolled answer')
  await enroll.getByRole('button', { name: 'Done', exact: true }).click()
  await expect(enroll).toBeHidden()

  // The tallest form: a code from another organization, four switches and the gateway's refusal under them.
  await page.getByRole('tab', { name: 'Federated Networks' }).click()
  await page.getByRole('button', { name: 'Federate', exact: true }).click()
  const federate = page.getByTestId('federate-dialog')
  await federate.getByRole('button', { name: 'With a code from another organization' }).click()
  await federate.getByLabel('Federation code').fill('ZZZZ9999')
  await federate.getByRole('button', { name: 'Federate', exact: true }).click()
  await expect(page.getByTestId('federate-error')).toBeVisible()
  await expectDialogFits(page, federate, 'federate dialog')
  await federate.getByRole('button', { name: 'Cancel', exact: true }).click()
  await expect(federate).toBeHidden()

  await page.getByRole('tab', { name: 'External TAK Servers' }).click()
  await page.getByRole('button', { name: 'Add peer', exact: true }).click()
  const addPeer = page.getByTestId('add-peer-dialog')
  await expectDialogFits(page, addPeer, 'add peer dialog')
  // Dialing out adds the address, the port and a box for their CA: taller than the window.
  await addPeer.getByLabel('Fedgate dials (for a laptop nobody can reach)').check()
  await expect(addPeer.getByLabel('Their address')).toBeVisible()
  await expectDialogFits(page, addPeer, 'add peer dialog, dialing out')
  // What does not fit scrolls inside the dialog's text, under the title and above the buttons.
  const text = addPeer.locator('.v-card-text')
  expect(await text.evaluate((el) => el.scrollHeight > el.clientHeight && getComputedStyle(el).overflowY === 'auto')).toBe(true)
  await page.screenshot({ path: testInfo.outputPath('add-peer-1024.png') })
})
