// Devices on a network: enrollment (certificate + connection packages), package re-download, listing with live
// status, and revocation, which tells the streaming listener through `gw.internal` to cut live connections at once.

import type { DeviceDto, EnrolledDevice, Iso } from '../api/contract.ts'
import { defineMethods } from '../services.ts'
import { ApiError, conflict, invalid, notFound } from '../api/errors.ts'
import { randomId } from '../accounts/accounts.ts'
import { requireNetwork, requireVisibleNetwork } from '../accounts/networks.ts'
import type { IssuedCertificate } from '../pki/certificates.ts'
import { deviceRevocation, revokeThen } from '../pki/revocations.ts'
import type { Services } from '../services.ts'
import type { DbDocument, DeviceEnrollmentRecord, DeviceRecord } from '../store/schema.ts'
import { deviceAddresses } from './addresses.ts'
import { buildConnectionPackages, fileSafe, type ConnectionPackages } from './connection-package.ts'

export const DEFAULT_VALID_DAYS = 365

/**
 * What the streaming listener knows about a device right now. `gw.presence` may return any part of it;
 * missing fields read as "not seen".
 */
export interface DeviceLiveStatus {
  online: boolean
  uidSeen: string | null
  lastSeen: Iso | null
  address: string | null
  connectionCount: number
  lastPosition: { lat: number; lon: number; at: Iso } | null
  drops: number
  clockSkewSeconds: number | null
}

export type PresenceLookup = (deviceId: string) => Partial<DeviceLiveStatus> | undefined

export function deviceDto(record: DeviceRecord, presence: PresenceLookup | null = null): DeviceDto {
  const live = (!record.revokedAt && presence?.(record.id)) || {}
  return {
    id: record.id,
    networkId: record.networkId,
    callsign: record.callsign,
    fingerprint: record.fingerprint,
    serial: record.serial,
    notAfter: record.notAfter,
    enrolledAt: record.enrolledAt,
    revokedAt: record.revokedAt,
    online: live.online ?? false,
    uidSeen: live.uidSeen ?? null,
    // Presence is memory only: after a restart the saved time stands until the device is heard again.
    lastSeen: live.lastSeen ?? record.lastSeen ?? null,
    address: live.address ?? null,
    connectionCount: live.connectionCount ?? 0,
    lastPosition: live.lastPosition ?? null,
    drops: live.drops ?? 0,
    clockSkewSeconds: live.clockSkewSeconds ?? null,
    enrolledBy: record.enrolledBy ?? 'package'
  }
}

/** Devices of a network as the console shows them; the streaming listener can push this as `deviceStatus`. */
export function networkDevices(gw: Services, networkId: string): DeviceDto[] {
  const presence = gw.presence as PresenceLookup | null
  return gw.store.data.devices
    .filter((d) => d.networkId === networkId)
    .sort((a, b) => a.enrolledAt.localeCompare(b.enrolledAt))
    .map((d) => deviceDto(d, presence))
}

/**
 * The device a client certificate belongs to, if it may connect: known fingerprint, not revoked, not expired.
 * The streaming listener calls this for every handshake (the store is the revocation list).
 */
export function activeDeviceByFingerprint(data: Pick<DbDocument, 'devices'>, fingerprint: string, now = Date.now()): DeviceRecord | null {
  const device = data.devices.find((d) => d.fingerprint === fingerprint)
  if (!device || device.revokedAt || Date.parse(device.notAfter) <= now) return null
  return device
}

/** An enrollment whose password can still be used to sign. */
export const isPendingEnrollment = (e: DeviceEnrollmentRecord, now: number): boolean => !e.usedAt && Date.parse(e.expiresAt) > now

/** Why `callsign` cannot be taken on the network now (an active device or a pending enrollment has it), or null. */
export function callsignTaken(
  doc: Pick<DbDocument, 'devices' | 'deviceEnrollments'>,
  networkId: string,
  callsign: string,
  now = Date.now()
): string | null {
  const same = (name: string): boolean => name.toLowerCase() === callsign.toLowerCase()
  if (doc.devices.some((d) => d.networkId === networkId && !d.revokedAt && same(d.callsign))) {
    return `A device called '${callsign}' is already enrolled on this network. Revoke it first or choose another callsign.`
  }
  if (doc.deviceEnrollments.some((e) => e.networkId === networkId && isPendingEnrollment(e, now) && same(e.callsign))) {
    return `'${callsign}' is waiting to enroll itself on this network. Cancel that enrollment first or choose another callsign.`
  }
  return null
}

/** A device of `networkId` holding the certificate just issued for it (the key is kept in pki/ or on the device). */
export function newDeviceRecord(
  networkId: string,
  callsign: string,
  issued: IssuedCertificate,
  enrolledBy: 'package' | 'password'
): DeviceRecord {
  return {
    id: randomId('dev'),
    networkId,
    callsign,
    fingerprint: issued.fingerprint,
    serial: issued.serial,
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
    enrolledAt: new Date().toISOString(),
    revokedAt: null,
    certPem: issued.certPem,
    enrolledBy
  }
}

/** Unique per deployment and readable: goes into package file names so two servers' files never clash on a device. */
export function deploymentName(gw: Services): string {
  const base = fileSafe(gw.settings.Federation.OurFederateId, 'fedgate')
  return `${base}-${gw.store.data.meta.deploymentId.replace(/-/g, '').slice(0, 8)}`
}

/**
 * The address devices are told to dial: `chosen` when it is one of deviceAddresses (the operator picked it), else the
 * best of them; 127.0.0.1 on a machine with no other address.
 */
export function deviceHost(gw: Services, chosen?: string): string {
  const all = deviceAddresses(gw.settings.Federation.AdvertisedHostname, gw.pki.server.certPem)
  const offered = all.filter((a) => a.covered)
  if (chosen !== undefined) {
    if (offered.some((a) => a.address === chosen)) return chosen
    if (all.some((a) => a.address === chosen)) {
      throw invalid(
        `'${chosen}' is new on this machine and its certificate does not name it yet; Fedgate adds it within half a minute. Try again then.`
      )
    }
    throw invalid(
      `'${chosen}' is not an address devices can use: pick one this machine has and its certificate covers (${offered.map((a) => a.address).join(', ') || 'none'}).`
    )
  }
  return offered[0]?.address ?? '127.0.0.1'
}

async function packagesFor(gw: Services, device: DeviceRecord, keyPem: string, host: string): Promise<ConnectionPackages> {
  const network = requireNetwork(gw, device.networkId)
  return buildConnectionPackages({
    deploymentName: deploymentName(gw),
    serverName: network.name,
    host,
    port: gw.ports.streaming,
    martiPort: gw.ports.marti,
    callsign: device.callsign,
    clientCertPem: device.certPem,
    clientKeyPem: keyPem,
    caCertPem: gw.pki.caCertPem
  })
}

function requireDevice(gw: Services, id: string): DeviceRecord {
  const device = gw.store.data.devices.find((d) => d.id === id)
  if (!device) throw notFound('That device does not exist.')
  return device
}

/** The network of a device for the auth rule; an unknown id checks nothing and the handler answers not_found. */
const networkOfDevice = (gw: Services, id: string): string[] => {
  const device = gw.store.data.devices.find((d) => d.id === id)
  return device ? [device.networkId] : []
}

export const deviceMethods = defineMethods({
  listDevices: {
    auth: 'user',
    run({ gw, args, user }) {
      requireVisibleNetwork(gw, user, args.networkId)
      return networkDevices(gw, args.networkId)
    }
  },

  enrollDevice: {
    auth: { anyOf: ['manageDevices'], networks: (a) => [a.networkId] },
    async run({ gw, args, audit }): Promise<EnrolledDevice> {
      const network = requireNetwork(gw, args.networkId)
      const taken = callsignTaken(gw.store.data, network.id, args.callsign)
      if (taken) throw conflict(taken)
      const host = deviceHost(gw, args.host)
      const validDays = args.validDays ?? DEFAULT_VALID_DAYS
      const issued = await gw.pki.issueDeviceCertificate({ callsign: args.callsign, validDays })
      const record = newDeviceRecord(network.id, args.callsign, issued, 'package')
      // The key goes to pki/devices/ first: a device in the store without its key could never get a package again.
      gw.pki.saveDeviceKey(record.id, issued.keyPem)
      try {
        await gw.store.update((doc) => {
          if (!doc.networks.some((n) => n.id === network.id)) throw notFound('That network was deleted meanwhile.')
          const takenNow = callsignTaken(doc, network.id, args.callsign)
          if (takenNow) throw conflict(takenNow)
          doc.devices.push(record)
        })
      } catch (err) {
        gw.pki.deleteDeviceKey(record.id)
        throw err
      }
      const packages = await packagesFor(gw, record, issued.keyPem, host)
      audit(
        'enrollDevice',
        `device ${record.callsign}`,
        { networkId: network.id, deviceId: record.id, fingerprint: record.fingerprint, validDays },
        network.organizationId
      )
      gw.events.emit({ type: 'changed', area: 'devices', networkId: network.id })
      return {
        device: deviceDto(record, gw.presence as PresenceLookup | null),
        packageFilename: packages.atakFilename,
        packageBase64: packages.atakZip.toString('base64'),
        itakPackageFilename: packages.itakFilename,
        itakPackageBase64: packages.itakZip.toString('base64'),
        wintakPackageFilename: packages.wintakFilename,
        wintakPackageBase64: packages.wintakZip.toString('base64'),
        clientPassword: packages.clientPassword,
        truststorePassword: packages.truststorePassword,
        itakQrText: packages.itakQrText,
        itakQrDataUrl: packages.itakQrDataUrl
      }
    }
  },

  downloadDevicePackage: {
    auth: { anyOf: ['manageDevices'], networks: (a, gw) => networkOfDevice(gw, a.id) },
    async run({ gw, args, audit }) {
      const device = requireDevice(gw, args.id)
      if (device.revokedAt) throw conflict(`'${device.callsign}' was revoked; enroll the device again to get a new package.`)
      if (Date.parse(device.notAfter) <= Date.now())
        throw conflict(`The certificate of '${device.callsign}' has expired; enroll the device again.`)
      if (device.enrolledBy === 'password') {
        throw conflict(
          `'${device.callsign}' enrolled itself: its private key exists only on the device, so there is no package to download. Revoke it and enroll it again to replace it.`
        )
      }
      const keyPem = gw.pki.readDeviceKey(device.id)
      if (!keyPem)
        throw new ApiError('not_found', `The private key of '${device.callsign}' is no longer on this machine; enroll the device again.`)
      // New p12 passwords every time: the ones shown at enrollment were shown once and are not kept.
      const packages = await packagesFor(gw, device, keyPem, deviceHost(gw, args.host))
      const variant = args.variant ?? 'atak'
      const network = requireNetwork(gw, device.networkId)
      audit(
        'downloadDevicePackage',
        `device ${device.callsign}`,
        { networkId: device.networkId, deviceId: device.id, variant },
        network.organizationId
      )
      const chosen = {
        atak: { filename: packages.atakFilename, zip: packages.atakZip },
        itak: { filename: packages.itakFilename, zip: packages.itakZip },
        wintak: { filename: packages.wintakFilename, zip: packages.wintakZip }
      }[variant]
      return {
        filename: chosen.filename,
        mimeType: 'application/zip',
        contentBase64: chosen.zip.toString('base64'),
        clientPassword: packages.clientPassword,
        truststorePassword: packages.truststorePassword
      }
    }
  },

  revokeDevice: {
    auth: { anyOf: ['manageDevices'], networks: (a, gw) => networkOfDevice(gw, a.id) },
    async run({ gw, args, audit }) {
      const existing = requireDevice(gw, args.id)
      if (existing.revokedAt) return deviceDto(existing)
      const revokedAt = new Date().toISOString()
      await revokeThen(gw.pki.revocations, [deviceRevocation(existing, revokedAt)], () =>
        gw.store.update((doc) => {
          const device = doc.devices.find((d) => d.id === args.id)
          if (device && !device.revokedAt) device.revokedAt = revokedAt
        })
      ).catch((err: unknown) => {
        // Journaled means in force even when db.json could not save it: its live connections go now too.
        if (gw.pki.revocations.deviceRevoked(existing.fingerprint)) revokeHook(gw, args.id)
        throw err
      })
      revokeHook(gw, args.id)
      gw.pki.deleteDeviceKey(args.id)
      const device = requireDevice(gw, args.id)
      const network = gw.store.data.networks.find((n) => n.id === device.networkId)
      audit(
        'revokeDevice',
        `device ${device.callsign}`,
        { networkId: device.networkId, deviceId: device.id, fingerprint: device.fingerprint },
        network?.organizationId ?? null
      )
      gw.events.emit({ type: 'changed', area: 'devices', networkId: device.networkId })
      return deviceDto(device)
    }
  }
})

/**
 * Revocation reaches the streaming listener as `gw.internal.on('deviceRevoked', (deviceId) => …)`: it must close
 * every live connection of that device at once. The store already says revoked when this fires, so a handshake
 * racing with it is refused by `activeDeviceByFingerprint`.
 */
function revokeHook(gw: Services, deviceId: string): void {
  gw.internal.emit('deviceRevoked', deviceId)
}

/**
 * Removes private keys of devices that are gone (their network was deleted). Call once from startGateway;
 * returns the function that stops listening.
 */
export function startDeviceHousekeeping(gw: Services): () => void {
  const onNetworkDeleted = (): void => {
    const kept = new Set(gw.store.data.devices.filter((d) => !d.revokedAt).map((d) => d.id))
    for (const id of gw.pki.deviceKeyIds()) if (!kept.has(id)) gw.pki.deleteDeviceKey(id)
  }
  gw.internal.on('networkDeleted', onNetworkDeleted)
  return () => gw.internal.off('networkDeleted', onNetworkDeleted)
}
