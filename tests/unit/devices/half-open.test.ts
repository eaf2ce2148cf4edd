// Issue 7, hardening item 7: a device that vanishes without a FIN (it stops sending, even pings) is detected and
// removed within the idle timeout: its connection closes, presence says offline, the others get its t-x-d-d.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceClient } from '../../support/device-client.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'
import { pemFromP12, unzipEntries } from '../../support/pki.ts'

function pli(uid: string, callsign: string): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 60_000)
  return (
    `<event version="2.0" uid="${uid}" type="a-f-G-U-C" how="m-g" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="1" lon="2" hae="0" ce="9999999" le="9999999"/><detail><contact callsign="${callsign}" endpoint="*:-1:stcp"/></detail></event>`
  )
}

describe('half-open device connections', () => {
  let t: TestGateway
  let admin = ''
  let networkId = ''

  async function connect(callsign: string): Promise<{ client: DeviceClient; deviceId: string }> {
    const enrolled = await t.ok('enrollDevice', { networkId, callsign }, admin)
    const entries = await unzipEntries(Buffer.from(enrolled.packageBase64, 'base64'))
    const [, clientP12] = [...entries].find(([n]) => n.endsWith('.p12') && !n.includes('truststore'))!
    const pem = await pemFromP12(clientP12, enrolled.clientPassword)
    const client = await DeviceClient.connect({ port: t.services.ports.streaming, cert: pem.certPems[0]!, key: pem.keyPem!, ca: t.services.pki.caCertPem })
    return { client, deviceId: enrolled.device.id }
  }

  beforeAll(async () => {
    // 1 s stands in for the default 45 s so the test runs in seconds; the rule under test is the same.
    t = await startTestGateway({ env: { Streaming__IdleTimeoutSeconds: '1', Federation__AdvertisedHostname: 'localhost' } })
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
    await talker.client.waitFor((e) => e.uid === 'ghost-uid')
    // The ghost now stops reading and writing without closing; the talker keeps pinging like ATAK does.
    silent.client.socket.pause()
    const pinger = setInterval(() => talker.client.send(pli('talker-uid', 'TALKER')), 300)
    try {
      const started = Date.now()
      const gone = await talker.client.waitFor((e) => e.type === 't-x-d-d' && e.detailXml.includes('ghost-uid'), 5000)
      expect(gone).toBeDefined()
      expect(Date.now() - started).toBeLessThan(2 * 1000 + 1500)
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
