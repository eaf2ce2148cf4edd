// Editing how Fedgate reaches a TAK Server peer (updateExternalPeer with `dial`) acts at once: a new address or port is
// dialed right away (not at the next redial, which is far off here), and removing `dial` ends our connection and stops
// dialing for good. The remote is another Fedgate that accepts our certificate.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { until } from '../../../support/devices.ts'
import { federatePair, startFederatingGateway, type FederatingGateway } from '../../../support/tak-gateway.ts'
import { closedPort } from '../../../support/ports.ts'

/** So slow that only a fresh dialer can reconnect within the waits below. */
const SLOW_REDIAL = { baseDelayMs: 60_000, maxDelayMs: 60_000, afterDropMs: 60_000 }

type Side = FederatingGateway

const side = (federateId: string): Promise<Side> => startFederatingGateway(federateId, SLOW_REDIAL)

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('changing the dial settings of a TAK Server peer', () => {
  let hq: Side
  let laptop: Side
  let hqPeerId = ''
  let laptopPeerId = ''

  beforeAll(async () => {
    ;[hq, laptop] = await Promise.all([side('fedgate-hq'), side('fedgate-laptop')])
    ;({ acceptingPeerId: hqPeerId, dialingPeerId: laptopPeerId } = await federatePair(
      hq,
      laptop,
      { accepting: 'Laptop', dialing: 'HQ' },
      { withCa: true }
    ))
  })

  afterAll(async () => {
    for (const s of [hq, laptop]) {
      await s?.fed.stop()
      await s?.t.stop()
    }
  })

  it('dials a new port at once: a wrong one goes down with its error, the right one comes back up', async () => {
    const wrong = await closedPort()
    const edited = await laptop.t.ok(
      'updateExternalPeer',
      { id: laptopPeerId, dial: { address: '127.0.0.1', port: wrong, caPem: hq.t.services.pki.caCertPem } },
      laptop.admin
    )
    expect(edited.dial).toMatchObject({ address: '127.0.0.1', port: wrong })
    await until(() => !laptop.fed.status(laptopPeerId).connected && !hq.fed.status(hqPeerId).connected, 3000, 'both sides down')
    await until(
      () => /ECONNREFUSED|No connection/i.test(laptop.fed.status(laptopPeerId).lastError ?? ''),
      3000,
      'the refused dial as the last error'
    )

    await laptop.t.ok(
      'updateExternalPeer',
      { id: laptopPeerId, dial: { address: '127.0.0.1', port: hq.fed.port, caPem: hq.t.services.pki.caCertPem } },
      laptop.admin
    )
    await until(
      () => laptop.fed.status(laptopPeerId).connected && hq.fed.status(hqPeerId).connected,
      5000,
      'the connection to the right port'
    )
    expect(laptop.fed.sessionsOf(laptopPeerId).map((s) => s.role)).toEqual(['client'])
  })

  it('a change that keeps address, port and CA leaves the connection alone', async () => {
    const since = laptop.fed.status(laptopPeerId).since
    await laptop.t.ok(
      'updateExternalPeer',
      { id: laptopPeerId, displayName: 'HQ main', dial: { address: '127.0.0.1', port: hq.fed.port, caPem: hq.t.services.pki.caCertPem } },
      laptop.admin
    )
    await settle(600)
    expect(laptop.fed.status(laptopPeerId)).toMatchObject({ connected: true, since })
  })

  it('stops dialing when dial is removed: our connection ends and stays down', async () => {
    const edited = await laptop.t.ok('updateExternalPeer', { id: laptopPeerId, dial: null }, laptop.admin)
    expect(edited.dial).toBeNull()
    await until(() => !laptop.fed.status(laptopPeerId).connected && !hq.fed.status(hqPeerId).connected, 3000, 'both sides down')
    await settle(1500)
    expect(laptop.fed.status(laptopPeerId).connected).toBe(false)
    expect(hq.fed.status(hqPeerId).connected).toBe(false)
    expect(laptop.fed.sessionsOf(laptopPeerId)).toEqual([])
  })
})
