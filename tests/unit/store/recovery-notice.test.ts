// A gateway started on a corrupt db.json tells the operator: the notice reaches the console (getSetupState) and the log.

import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

let gw: TestGateway | null = null
let dataDir = ''
afterEach(async () => {
  await gw?.stop()
  await fsp.rm(dataDir, { recursive: true, force: true })
})

it('shows the recovery notice in getSetupState and the log after a corrupt db.json', async () => {
  dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-notice-'))
  // Two starts: the second makes the backup, which holds the admin.
  for (let i = 0; i < 2; i++) await (await startTestGateway({ dataDir })).stop()
  await fsp.writeFile(path.join(dataDir, 'db.json'), '{"schemaVersion":1,"users":[')
  gw = await startTestGateway({ dataDir })
  const state = await gw.ok('getSetupState')
  expect(state.needsFirstAdmin).toBe(false)
  expect(state.storeRecovery).toMatchObject({ restoredFrom: 'backup', movedTo: expect.stringMatching(/db\.json\.corrupt-/) })
  expect(gw.logs.some((line) => line.startsWith('error') && line.includes('restored the last good copy'))).toBe(true)
  expect(await gw.loginAs('admin', gw.adminPassword!)).toEqual(expect.any(String))
})
