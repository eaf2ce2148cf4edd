// The address devices are told to dial: the advertised hostname first; then machine addresses its server certificate
// covers, the Wi-Fi / Ethernet kind before container bridges, hypervisor and VPN adapters; never link-local.

import fs from 'node:fs'
import path from 'node:path'
import type os from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceAddresses } from '../../../gateway/devices/addresses.ts'
import { buildCertificate, newRsaKeyPair } from '../../../gateway/pki/certificates.ts'
import { testPki, type TestPki } from '../../support/pki.ts'

type Interfaces = ReturnType<typeof os.networkInterfaces>
const iface = (address: string, family: 'IPv4' | 'IPv6' = 'IPv4', internal = false) =>
  ({
    address,
    family,
    internal,
    netmask: '',
    mac: '00:00:00:00:00:00',
    cidr: null,
    ...(family === 'IPv6' ? { scopeid: 0 } : {})
  }) as os.NetworkInterfaceInfo

// A laptop in the field: Docker first in the OS's list, a VPN, Wi-Fi with IPv4, IPv6 and link-local, loopback.
const laptop: Interfaces = {
  lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
  docker0: [iface('172.17.0.1')],
  wg0: [iface('10.66.0.2')],
  wlan0: [iface('192.168.8.20'), iface('fd00::20', 'IPv6'), iface('fe80::1c2b:3cff:fe4d:5e6f', 'IPv6')],
  eth1: [iface('192.168.50.7')]
}

let t: TestPki
let serverCertPem = ''
beforeAll(async () => {
  t = await testPki()
  const caKeyPem = fs.readFileSync(path.join(t.dir, 'ca.key'), 'utf8')
  // What openPki issues at start on this laptop: its addresses (eth1 came up later, so it is not covered).
  const names = ['localhost', '127.0.0.1', '::1', '172.17.0.1', '10.66.0.2', '192.168.8.20', 'fd00::20', 'fe80::1c2b:3cff:fe4d:5e6f']
  serverCertPem = buildCertificate(
    { commonName: 'localhost', validDays: 30, keyPair: await newRsaKeyPair(), kind: 'server', altNames: names },
    { certPem: t.pki.caCertPem, keyPem: caKeyPem }
  ).certPem
})
afterAll(() => t.cleanup())

describe('deviceAddresses', () => {
  it('without an advertised hostname: covered before not yet covered, likely interfaces first, IPv4 before IPv6', () => {
    expect(deviceAddresses('', serverCertPem, laptop)).toEqual([
      { address: '192.168.8.20', interfaceName: 'wlan0', advertised: false, likely: true, covered: true },
      { address: 'fd00::20', interfaceName: 'wlan0', advertised: false, likely: true, covered: true },
      { address: '172.17.0.1', interfaceName: 'docker0', advertised: false, likely: false, covered: true },
      { address: '10.66.0.2', interfaceName: 'wg0', advertised: false, likely: false, covered: true },
      // Came up after the certificate was issued: listed, last, not choosable until a restart.
      { address: '192.168.50.7', interfaceName: 'eth1', advertised: false, likely: true, covered: false }
    ])
  })

  it('the advertised hostname comes first', () => {
    expect(deviceAddresses(' tak.unit.example ', serverCertPem, laptop)[0]).toEqual({
      address: 'tak.unit.example',
      interfaceName: null,
      advertised: true,
      likely: true,
      covered: true
    })
  })

  it('only unlikely adapters: they are still offered, the best of them first', () => {
    expect(deviceAddresses('', serverCertPem, { docker0: laptop.docker0, wg0: laptop.wg0 }).map((a) => a.address)).toEqual([
      '172.17.0.1',
      '10.66.0.2'
    ])
    expect(deviceAddresses('', serverCertPem, { lo: laptop.lo })).toEqual([])
  })
})
