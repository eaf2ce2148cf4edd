// What a live device connection keeps: not its peer certificate (a parsed certificate is ~2.5 KB of strings and
// buffers; at 1,000 devices that was the difference between meeting and missing the idle-memory target in tests/bench).

import v8 from 'node:v8'
import vm from 'node:vm'
import tls from 'node:tls'
import { afterAll, expect, it } from 'vitest'
import { Router } from '../../../gateway/routing/router.ts'
import { startStreamingListener } from '../../../gateway/devices/streaming.ts'
import { createLogger } from '../../../gateway/log.ts'
import { testPki } from '../../support/pki.ts'
import { DeviceClient } from '../../support/device-client.ts'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

const pki = await testPki()
afterAll(() => pki.cleanup())

it('lets the peer certificate go once the device is identified', async () => {
  const seen: WeakRef<tls.PeerCertificate>[] = []
  const listener = await startStreamingListener({
    port: 0,
    host: '127.0.0.1',
    tls: { key: pki.pki.server.keyPem, cert: pki.pki.server.certPem, ca: pki.pki.caCertPem },
    authorize: (certificate) => {
      seen.push(new WeakRef(certificate))
      return { deviceId: 'dev-1', networkId: 'net-1', callsign: 'ALPHA-1' }
    },
    router: new Router(),
    log: createLogger(() => {}, true)
  })
  const cert = await pki.device('ALPHA-1')
  const device = await DeviceClient.connect({ port: listener.port, cert: cert.certPem, key: cert.keyPem, ca: pki.pki.caCertPem })
  try {
    await device.waitFor((e) => e.type === 't-x-takp-v') // identified and attached
    expect(listener.connections()).toHaveLength(1)
    for (let i = 0; i < 3 && seen[0]!.deref() !== undefined; i++) {
      await new Promise((r) => setImmediate(r))
      gc()
    }
    expect(seen).toHaveLength(1)
    expect(seen[0]!.deref()).toBeUndefined()
    expect(listener.connections()).toHaveLength(1) // the connection itself is still there
  } finally {
    device.socket.destroy()
    await listener.close()
  }
})
