// Journey 1 with a real TAK client library: devices enrolled through the contract, their certificates read from
// the connection package's .p12 files, connected with @tak-ps/node-tak to the running gateway's streaming port.

import type TAK from '@tak-ps/node-tak'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectNodeTak, enrollIdentity, pli, until, type EnrolledIdentity, type TakPhone } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'

describe('enrolled devices with @tak-ps/node-tak', () => {
  let t: TestGateway
  let admin = ''
  const ids: Record<'alpha' | 'bravo', string> = { alpha: '', bravo: '' }
  const clients: TAK[] = []

  const enroll = (networkId: string, callsign: string): Promise<EnrolledIdentity> => enrollIdentity(t, admin, networkId, callsign)

  async function connect(identity: EnrolledIdentity): Promise<TakPhone> {
    const phone = await connectNodeTak(t.services.ports.streaming, identity)
    clients.push(phone.tak)
    return phone
  }

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: '2-5 Recon' }, admin)
    ids.alpha = (await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
    ids.bravo = (await t.ok('createNetwork', { organizationId: org.id, name: 'Bravo' }, admin)).id
  })

  afterAll(async () => {
    for (const c of clients) c.destroy()
    await t?.stop()
  })

  it('two devices on a network see each other; a device on another network sees nothing; pings get pongs', async () => {
    const [viper1, viper2, other] = await Promise.all([
      enroll(ids.alpha, 'VIPER-1'),
      enroll(ids.alpha, 'VIPER-2'),
      enroll(ids.bravo, 'COBRA-1')
    ])
    const one = await connect(viper1)
    const two = await connect(viper2)
    const far = await connect(other)
    one.tak.write_xml(pli('viper-1-uid', 'VIPER-1', { lat: 51.5, lon: -0.12 }))
    two.tak.write_xml(pli('viper-2-uid', 'VIPER-2'))
    await until(() => one.seen.includes('viper-2-uid') && two.seen.includes('viper-1-uid'))
    far.tak.write_xml(pli('cobra-1-uid', 'COBRA-1'))
    await new Promise((r) => setTimeout(r, 300))
    expect(far.seen).not.toContain('viper-1-uid')
    expect(far.seen).not.toContain('viper-2-uid')
    expect(one.seen).not.toContain('cobra-1-uid')
    // Never back to the sender.
    expect(one.seen).not.toContain('viper-1-uid')

    const devices = await t.ok('listDevices', { networkId: ids.alpha }, admin)
    const v1 = devices.find((d) => d.callsign === 'VIPER-1')!
    expect(v1).toMatchObject({ online: true, uidSeen: 'viper-1-uid', connectionCount: 1 })
    expect(v1.lastPosition).toMatchObject({ lat: 51.5, lon: -0.12 })
  })

  it('a revoked device is cut off at once and cannot reconnect', async () => {
    const identity = await enroll(ids.alpha, 'LOST-PHONE')
    const lost = await connect(identity)
    const closed = new Promise<void>((resolve) => lost.tak.once('end', () => resolve()).once('close', () => resolve()))
    await t.ok('revokeDevice', { id: identity.deviceId }, admin)
    await closed
    // A fresh handshake with the same certificate is refused by the gateway.
    const refused = await new Promise<string>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: t.services.ports.streaming,
        cert: identity.cert,
        key: identity.key,
        ca: identity.ca,
        servername: 'localhost'
      })
      socket.on('error', (e) => resolve(`error: ${e.message}`))
      socket.on('close', () => resolve('closed'))
      socket.on('data', () => resolve('data'))
    })
    expect(refused).not.toBe('data')
    const [record] = (await t.ok('listDevices', { networkId: ids.alpha }, admin)).filter((d) => d.id === identity.deviceId)
    expect(record!.revokedAt).not.toBeNull()
    expect(record!.online).toBe(false)
  })
})
