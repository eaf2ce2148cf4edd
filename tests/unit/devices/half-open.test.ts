// Issue 7, hardening item 7: a device that vanishes without a FIN (it stops sending, even pings) is detected and
// removed within the idle timeout: its connection closes, presence says offline, the others get its t-x-d-d.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceClient } from '../../support/device-client.ts'
import { enrollIdentity, pli } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

describe('half-open device connections', () => {
  let t: TestGateway
  let admin = ''
  let networkId = ''

  async function connect(callsign: string): Promise<{ client: DeviceClient; deviceId: string }> {
    const identity = await enrollIdentity(t, admin, networkId, callsign)
    const client = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
    return { client, deviceId: identity.deviceId }
  }

  beforeAll(async () => {
    // 2 s stands in for the default 45 s so the test runs in seconds; the rule under test is the same.
    t = await startTestGateway({ env: { Streaming__IdleTimeoutSeconds: '2', Federation__AdvertisedHostname: 'localhost' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon' }, admin)
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
  })

  afterAll(async () => {
    await t?.stop()
  })

  it('closes a silent connection, marks the device offline and tells the others it left, while a talking device stays', async () => {
    const silent = await connect('GHOST')
    const talker = await connect('TALKER')
    silent.client.send(pli('ghost-uid', 'GHOST'))
    talker.client.send(pli('talker-uid', 'TALKER'))
    await talker.client.waitFor((e) => e.uid === 'ghost-uid', 10_000)
    // The ghost now stops reading and writing without closing; the talker keeps pinging like ATAK does.
    silent.client.socket.pause()
    const pinger = setInterval(() => talker.client.send(pli('talker-uid', 'TALKER')), 300)
    try {
      const started = Date.now()
      const gone = await talker.client.waitFor((e) => e.type === 't-x-d-d' && e.detailXml.includes('ghost-uid'), 15_000)
      expect(gone).toBeDefined()
      // Idle timeout (2 s) plus one sweep, with generous slack for a loaded CI machine; never "eventually".
      expect(Date.now() - started).toBeLessThan(10_000)
      const devices = await t.ok('listDevices', { networkId }, admin)
      expect(devices.find((d) => d.id === silent.deviceId)).toMatchObject({ online: false, connectionCount: 0 })
      expect(devices.find((d) => d.id === talker.deviceId)).toMatchObject({ online: true, connectionCount: 1 })
    } finally {
      clearInterval(pinger)
      await silent.client.close()
      await talker.client.close()
    }
  })
})
