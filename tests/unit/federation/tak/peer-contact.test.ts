// A TAK Server peer's figures outlive a restart: since when it is down, when it was last heard and its last error are
// saved on its record, so an operator who restarts Fedgate still reads "down since 09:12, last heard 09:11, refused
// …" instead of "since never". Our own shutdown is not recorded as the peer's error.

import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { PeerStatusBoard } from '../../../../gateway/federation/tak/status.ts'
import type { DbDocument } from '../../../../gateway/store/schema.ts'
import { until } from '../../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../../support/gateway.ts'
import { federatePair, federatingEnv, startFederatingGateway, type FederatingGateway } from '../../../support/tak-gateway.ts'

const REDIAL = { baseDelayMs: 200, maxDelayMs: 400, afterDropMs: 200 }

describe('PeerStatusBoard restore', () => {
  it('a peer saved as down is down since then; one saved as up (Fedgate killed) is down since it was last heard', () => {
    let now = Date.parse('2026-11-27T10:00:00Z')
    const board = new PeerStatusBoard(() => now)
    board.restore('a', {
      connected: false,
      since: '2026-11-27T09:12:00.000Z',
      lastHeard: '2026-11-27T09:11:58.000Z',
      lastError: 'The connection closed.'
    })
    board.restore('b', { connected: true, since: '2026-11-27T08:00:00.000Z', lastHeard: '2026-11-27T09:30:00.000Z', lastError: null })
    expect(board.status('a')).toMatchObject({
      connected: false,
      since: '2026-11-27T09:12:00.000Z',
      lastHeard: '2026-11-27T09:11:58.000Z',
      lastError: 'The connection closed.'
    })
    expect(board.status('b')).toMatchObject({
      connected: false,
      since: '2026-11-27T09:30:00.000Z',
      lastHeard: '2026-11-27T09:30:00.000Z',
      lastError: null
    })
    // A connection that comes up meanwhile is not overwritten by an older save.
    now += 1000
    board.connected('c')
    board.restore('c', { connected: false, since: '2026-11-27T09:00:00.000Z', lastHeard: null, lastError: 'old' })
    expect(board.contact('c')).toEqual({ connected: true, since: '2026-11-27T10:00:01.000Z', lastHeard: null, lastError: null })
  })
})

describe('a peer after a restart', () => {
  const dirs: string[] = []
  let hq: FederatingGateway | null = null
  let laptop: FederatingGateway | null = null
  let hqAgain: TestGateway | null = null

  afterAll(async () => {
    for (const side of [hq, laptop]) {
      await side?.fed.stop()
      await side?.t.stop()
    }
    await hqAgain?.stop()
    for (const dir of dirs) await fsp.rm(dir, { recursive: true, force: true })
  })

  it('keeps since, last heard and the last error; a clean stop of our own is no error', async () => {
    const [hqDir, laptopDir] = await Promise.all([0, 1].map(() => fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-contact-'))))
    dirs.push(hqDir!, laptopDir!)
    ;[hq, laptop] = await Promise.all([
      startFederatingGateway('fedgate-hq', REDIAL, hqDir),
      startFederatingGateway('fedgate-laptop', REDIAL, laptopDir)
    ])
    const { acceptingPeerId: hqPeerId, dialingPeerId: laptopPeerId } = await federatePair(
      hq,
      laptop,
      { accepting: 'Laptop', dialing: 'HQ' },
      { withCa: true }
    )
    await until(
      () => hq!.fed.status(hqPeerId).lastHeard !== null && laptop!.fed.status(laptopPeerId).lastHeard !== null,
      10_000,
      'both heard'
    )

    // The laptop stops cleanly: HQ sees the connection go, with its reason.
    const laptopHeard = laptop.fed.status(laptopPeerId).lastHeard
    await laptop.fed.stop()
    await laptop.t.stop()
    laptop = null
    await until(() => !hq!.fed.status(hqPeerId).connected, 5000, 'HQ sees the laptop go')
    const seenByHq = hq.fed.status(hqPeerId)
    expect(seenByHq.lastError).toBeTruthy()
    expect(seenByHq.lastHeard).not.toBeNull()

    // What the laptop saved of HQ: down since its stop, HQ last heard as it was, and no error (the stop was ours).
    const laptopDoc = JSON.parse(await fsp.readFile(path.join(laptopDir!, 'db.json'), 'utf8')) as DbDocument
    const saved = laptopDoc.externalPeers.find((p) => p.id === laptopPeerId)!.lastContact
    expect(saved).toMatchObject({ connected: false, lastError: null })
    expect(Date.parse(saved!.lastHeard!)).toBeGreaterThanOrEqual(Date.parse(laptopHeard!))
    expect(Date.parse(saved!.since!)).toBeGreaterThanOrEqual(Date.parse(saved!.lastHeard!))

    // HQ restarts on its data: the laptop reads down since it went, last heard and the reason, not "since never".
    await hq.fed.stop()
    await hq.t.stop()
    hq = null
    hqAgain = await startTestGateway({ env: federatingEnv('fedgate-hq'), dataDir: hqDir })
    const admin = await hqAgain.loginAs('admin', hqAgain.adminPassword!)
    const network = hqAgain.services.store.data.networks[0]!
    const [peer] = await hqAgain.ok('listExternalPeers', { networkId: network.id }, admin)
    expect(peer!.status).toMatchObject({
      connected: false,
      since: seenByHq.since,
      lastHeard: seenByHq.lastHeard,
      lastError: seenByHq.lastError
    })
  })
})
