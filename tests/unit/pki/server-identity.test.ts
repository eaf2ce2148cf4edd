// The server certificate follows the machine's names while Fedgate runs: when one is missing (here the advertised
// hostname changes; on a laptop, a network joined after start), a new certificate is issued from the same CA and the
// streaming, Marti and enrollment ports, and the console's HTTPS, present it to new connections, while a connection
// already open stays up.

import tls from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startConsoleServer, type ConsoleServer } from '../../../gateway/console/server.ts'
import { refreshServerIdentity, serverTls } from '../../../gateway/pki/server-identity.ts'
import { enrollIdentity, type EnrolledIdentity } from '../../support/devices.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

describe('the server certificate follows the machine', () => {
  let t: TestGateway
  let admin = ''
  let phone: EnrolledIdentity
  /** The console as `fedgate serve --host <address>` runs it: HTTPS with our server certificate. */
  let console_: ConsoleServer

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'old.fedgate.test' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon' }, admin)
    const network = await t.ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)
    phone = await enrollIdentity(t, admin, network.id, 'VIPER-1')
    console_ = await startConsoleServer({
      services: t.services,
      port: 0,
      host: '127.0.0.1',
      tls: () => serverTls(t.services.pki),
      staticDir: null,
      log: t.services.log
    })
  })

  afterAll(async () => {
    await console_?.close()
    await t?.stop()
  })

  /** Connects as the phone, trusting only our CA and checking that the certificate names `servername`. */
  function handshake(port: number, servername: string): Promise<{ socket: tls.TLSSocket; names: string }> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        servername,
        ca: phone.ca,
        cert: phone.cert,
        key: phone.key,
        ALPNProtocols: ['http/1.1']
      })
      socket.once('secureConnect', () =>
        resolve({ socket, names: new X509Certificate(socket.getPeerCertificate(true).raw).subjectAltName ?? '' })
      )
      socket.once('error', reject)
    })
  }

  it('a missing name gets a new certificate at once, on the device ports and the console, and an open connection stays', async () => {
    const ports = {
      streaming: t.services.ports.streaming,
      marti: t.services.ports.marti,
      enrollment: t.services.ports.enrollment,
      console: console_.port
    }
    for (const port of Object.values(ports)) await expect(handshake(port, 'new.fedgate.test')).rejects.toThrow(/altnames|Hostname/i)
    const open = await handshake(ports.streaming, 'old.fedgate.test')
    const before = t.services.pki.server.fingerprint

    expect(await refreshServerIdentity(t.services)).toBe(false)
    t.services.settings.Federation.AdvertisedHostname = 'new.fedgate.test'
    expect(await refreshServerIdentity(t.services)).toBe(true)
    expect(t.services.pki.server.fingerprint).not.toBe(before)
    expect(t.logs.join('\n')).toContain('Issued a new server certificate')

    for (const [name, port] of Object.entries(ports)) {
      const { socket, names } = await handshake(port, 'new.fedgate.test')
      expect({ name, names }).toMatchObject({ name, names: expect.stringContaining('DNS:new.fedgate.test') })
      socket.destroy()
    }
    // The devices' truststores hold the CA, not the leaf: nothing to redo on the phones. The open connection stays.
    expect(open.socket.destroyed).toBe(false)
    open.socket.destroy()

    // The console offers the new name to devices at once.
    const settings = await t.ok('getDeploymentSettings', {}, admin)
    expect(settings.deviceAddresses[0]).toMatchObject({ address: 'new.fedgate.test', covered: true })
  })
})
