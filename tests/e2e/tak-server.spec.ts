/// <reference lib="dom" />
// Journey 4 in Chromium: HQ's TAK Server (our TAK-like test federate, its own CA) dials before it is registered, the
// attempt appears live in the rejected list, one click on Add peer pre-fills its fingerprint, and once registered
// the row turns Up with events per second, all from pushed events. Journey 5: the laptop dials HQ (another Fedgate)
// with the address, port and CA from the dialog, and follows the port the operator edits, down and back up.

import { testPki, type TestPki } from '../support/pki.ts'
import { geoEvent, TakFederate } from '../support/tak-federate.ts'
import { ADMIN_PASSWORD, apiOk, chip, expect, flip, loginToken, openTab, settled, shot, signIn, test } from './serve.ts'
import { closedPort } from '../support/ports.ts'

test('HQ dials unregistered, shows up as rejected, one click adds it, the row turns Up with traffic', async ({ page, serve, request }) => {
  const served = await serve({
    env: { FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-e2e' }
  })
  const token = await loginToken(request, served.url, 'admin', ADMIN_PASSWORD)
  const org = await apiOk<{ id: string }>(
    request,
    served.url,
    'createOrganization',
    { name: '2-5 Recon', plan: 'team', tokenLimit: 3 },
    token
  )
  await apiOk(request, served.url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)
  const info = await apiOk<{ port: number }>(request, served.url, 'getConnectionInfo', {}, token)
  const ca = await apiOk<{ contentBase64: string }>(request, served.url, 'downloadArtifact', { kind: 'ca-cert' }, token)
  const ourCa = Buffer.from(ca.contentBase64, 'base64').toString('utf8')

  let hq: TestPki | null = null
  const federates: TakFederate[] = []
  try {
    hq = await testPki({ freshCa: true, hostname: 'tak.hq.test', federateId: 'hq-tak' })
    const identity = hq.pki.federation
    if (!identity) throw new Error('the test PKI made no federation identity')
    const dialHq = (): TakFederate => {
      const federate = new TakFederate({
        port: info.port,
        ca: ourCa,
        key: identity.keyPem,
        certChain: `${identity.certPem.trim()}\n${hq!.pki.caCertPem.trim()}\n`,
        name: 'hq-tak',
        healthIntervalMs: 500
      })
      federates.push(federate)
      return federate.start()
    }

    await signIn(page, served.url, 'admin', ADMIN_PASSWORD)
    await openTab(page, 'Alpha', 'External TAK Servers')
    await expect(page.getByTestId('connection-info')).toBeVisible()

    // HQ connects before anyone registered it: refused, and listed live with its fingerprint.
    dialHq()
    const attempt = page.getByTestId('rejected-peer')
    await expect(attempt).toBeVisible({ timeout: 15_000 })
    const fingerprintBytes = identity.fingerprint.replace(/:/g, '').toUpperCase()
    const shownBytes = ((await attempt.textContent()) ?? '').replace(/[^0-9A-Fa-f]/g, '').toUpperCase()
    expect(shownBytes).toContain(fingerprintBytes.slice(0, 12))
    for (const federate of federates.splice(0)) federate.close()

    // One click: the dialog arrives with the fingerprint filled in.
    await attempt.getByRole('button', { name: 'Add peer' }).click()
    const dialog = page.getByTestId('add-peer-dialog')
    const fingerprintField = dialog.getByLabel('Fingerprint (SHA-256 of their federation certificate)')
    await settled(fingerprintField)
    expect((await fingerprintField.inputValue()).replace(/[^0-9A-Fa-f]/g, '').toUpperCase()).toBe(fingerprintBytes)
    await dialog.getByLabel('Name').fill('HQ TAK Server')
    await dialog.getByRole('button', { name: 'Add peer' }).click()
    await expect(dialog).toBeHidden()
    const row = page.getByTestId('peer-HQ TAK Server')
    await expect(row).toContainText('Down')
    // Registered now, so it is no longer a rejected attempt.
    await expect(page.getByTestId('rejected-peer')).toHaveCount(0)

    // HQ dials again: accepted, the row turns Up without a reload, and its traffic shows as events per second.
    const federate = dialHq()
    await federate.serving(15_000)
    await expect(row).toContainText('Up', { timeout: 10_000 })
    const sender = setInterval(() => {
      for (let i = 0; i < 5; i++) federate.send({ event: geoEvent(`hq-unit-${i}`) })
    }, 200)
    try {
      await expect(row).not.toContainText('↓ 0/s', { timeout: 10_000 })
    } finally {
      clearInterval(sender)
    }
    await shot(page, 'peers-up')
  } finally {
    for (const federate of federates) federate.close()
    hq?.cleanup()
  }
})

test('the laptop behind NAT: Fedgate dials HQ (another Fedgate) with address, port and CA from the dialog, and follows an edited port', async ({
  page,
  serve,
  request
}) => {
  const env = (id: string): Record<string, string> => ({
    FEDGATE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    Federation__AdvertisedHostname: 'localhost',
    Federation__OurFederateId: id
  })
  const [laptop, hq] = await Promise.all([serve({ env: env('fedgate-laptop') }), serve({ env: env('fedgate-hq') })])
  const prepare = async (url: string): Promise<{ token: string; fingerprint: string; port: number; caPem: string; networkId: string }> => {
    const token = await loginToken(request, url, 'admin', ADMIN_PASSWORD)
    const org = await apiOk<{ id: string }>(request, url, 'createOrganization', { name: '2-5 Recon', plan: 'team' }, token)
    const network = await apiOk<{ id: string }>(request, url, 'createNetwork', { organizationId: org.id, name: 'Alpha' }, token)
    const info = await apiOk<{ fingerprint: string; port: number }>(request, url, 'getConnectionInfo', {}, token)
    const ca = await apiOk<{ contentBase64: string }>(request, url, 'downloadArtifact', { kind: 'ca-cert' }, token)
    const caPem = Buffer.from(ca.contentBase64, 'base64').toString('utf8')
    return { token, fingerprint: info.fingerprint, port: info.port, caPem, networkId: network.id }
  }
  const [ours, theirs] = await Promise.all([prepare(laptop.url), prepare(hq.url)])
  // HQ's admin registered our fingerprint; HQ cannot reach us, so it waits for our call.
  const laptopPeer = { networkId: theirs.networkId, fingerprint: ours.fingerprint, displayName: 'Field laptop' }
  await apiOk(request, hq.url, 'addExternalPeer', laptopPeer, theirs.token)

  await signIn(page, laptop.url, 'admin', ADMIN_PASSWORD)
  await openTab(page, 'Alpha', 'External TAK Servers')
  await page.getByRole('button', { name: 'Add peer' }).first().click()
  const dialog = page.getByTestId('add-peer-dialog')
  await settled(dialog.getByLabel('Fingerprint (SHA-256 of their federation certificate)'))
  await dialog.getByLabel('Fingerprint (SHA-256 of their federation certificate)').fill(theirs.fingerprint)
  await dialog.getByLabel('Name').fill('HQ')
  await dialog.getByLabel('Fedgate dials (for a laptop nobody can reach)').check()
  await dialog.getByLabel('Their address').fill('127.0.0.1')
  await dialog.getByLabel('Port').fill(String(theirs.port))
  await dialog.getByLabel('Their CA certificate (PEM, optional)').fill(theirs.caPem)
  await dialog.getByRole('button', { name: 'Add peer' }).click()
  await expect(dialog).toBeHidden()

  const row = page.getByTestId('peer-HQ')
  await expect(row).toContainText('Up', { timeout: 20_000 })
  const hqPeers = await apiOk<{ status: { connected: boolean } }[]>(
    request,
    hq.url,
    'listExternalPeers',
    { networkId: theirs.networkId },
    theirs.token
  )
  expect(hqPeers[0]?.status.connected).toBe(true)

  // A mistyped port in Edit connection: Fedgate dials the new port at once, the row goes Down and says why; the
  // right port brings it back Up. The peer stays the same one (no remove and add again).
  const editPort = async (port: number): Promise<void> => {
    await row.getByRole('button', { name: 'Edit connection to HQ' }).click()
    const edit = page.getByTestId('edit-peer-dialog')
    await settled(edit.getByLabel('Name', { exact: true }))
    await expect(edit.getByLabel('Their address')).toHaveValue('127.0.0.1')
    await expect(edit.getByLabel('Their CA certificate (PEM, optional)')).toHaveValue(theirs.caPem.replace(/\r\n/g, '\n').trim())
    await edit.getByLabel('Port').fill(String(port))
    await edit.getByRole('button', { name: 'Save' }).click()
    await expect(edit).toBeHidden()
    await expect(row).toContainText(`Fedgate dials 127.0.0.1:${port}`)
  }
  await editPort(await closedPort())
  await expect(row).toContainText('Down', { timeout: 10_000 })
  await expect(row.getByTestId('peer-error')).toContainText('ECONNREFUSED', { timeout: 10_000 })
  await editPort(theirs.port)
  await expect(row).toContainText('Up', { timeout: 20_000 })
  await expect(row.getByTestId('peer-error')).toHaveCount(0)

  // Pausing our end (In and Out off) keeps the link up and says Paused.
  await flip(page, row, 'peer', 'In')
  await expect(chip(row, 'peer', 'In')).toHaveAttribute('data-state', 'off')
  await flip(page, row, 'peer', 'Out')
  await expect(chip(row, 'peer', 'Out')).toHaveAttribute('data-state', 'off')
  await expect(row).toContainText('Paused')
  await expect(row).toContainText('Up')
  await shot(page, 'peers-dialed')
})
