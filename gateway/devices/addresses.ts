// Which address a device is told to dial (connection packages, QR codes). Federation:AdvertisedHostname when set;
// otherwise one of this machine's addresses, and a laptop has many: Wi-Fi, Ethernet, but also container bridges,
// hypervisor and VPN adapters that a phone cannot reach. Only names in the server certificate are offered, so the
// device's TLS check of the name it dialed holds.

import os from 'node:os'
import type { DeviceAddressDto } from '../api/contract.ts'
import { altNamesOf, canonicalAddress } from '../pki/certificates.ts'

/** Interface names that are rarely the network the phones are on: listed last, never the default when another exists. */
const UNLIKELY_INTERFACE = /^(docker|br-|veth|virbr|vboxnet|vmnet|vethernet|utun|tun|tap|wg|zt|tailscale|ham|lxc|lxd|cni|flannel)/i

type Interfaces = ReturnType<typeof os.networkInterfaces>

/**
 * Addresses a device may be told to dial, best first: the advertised hostname, then machine addresses the server
 * certificate covers: likely interfaces before unlikely ones, IPv4 before IPv6, link-local never. Addresses the
 * certificate does not name yet come last, marked `covered: false`.
 */
export function deviceAddresses(
  advertisedHostname: string,
  serverCertPem: string,
  interfaces: Interfaces = os.networkInterfaces()
): DeviceAddressDto[] {
  const covered = new Set(altNamesOf(serverCertPem))
  const out: DeviceAddressDto[] = []
  const advertised = advertisedHostname.trim()
  if (advertised) out.push({ address: advertised, interfaceName: null, advertised: true, likely: true, covered: true })
  const found: (DeviceAddressDto & { order: number })[] = []
  for (const [name, list] of Object.entries(interfaces)) {
    for (const entry of list ?? []) {
      if (entry.internal) continue
      if (entry.family === 'IPv6' && /^fe[89ab]/i.test(entry.address)) continue
      const likely = !UNLIKELY_INTERFACE.test(name)
      const inCertificate = covered.has(canonicalAddress(entry.address))
      const order = (inCertificate ? 0 : 4) + (likely ? 0 : 2) + (entry.family === 'IPv4' ? 0 : 1)
      found.push({ address: entry.address, interfaceName: name, advertised: false, likely, covered: inCertificate, order })
    }
  }
  found.sort((a, b) => a.order - b.order)
  for (const { order: _order, ...address } of found) if (!out.some((o) => o.address === address.address)) out.push(address)
  return out
}
