// Device methods through the contract on a real gateway: enroll, re-download with new passwords, list with live
// status, revoke (hook, key removal, handshake lookup), permissions, and key files that never reach db.json.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, type Gateway } from '../../../gateway/index.ts'
import { dispatch, type DispatchResult } from '../../../gateway/api/dispatch.ts'
import type { DeviceDto, EnrolledDevice } from '../../../gateway/api/contract.ts'
import { activeDeviceByFingerprint } from '../../../gateway/devices/enrollment.ts'
import { createLogger } from '../../../gateway/log.ts'
import { pemFromP12, seedPkiDir, unzipEntries } from '../../support/pki.ts'

let gw: Gateway
let dir: string
let admin: string
let operator: string
let outsider: string
const ids: Record<string, string> = {}

const call = (method: string, args: unknown, token: string | null): Promise<DispatchResult> =>
  dispatch(gw.services, method, args, { token, address: '127.0.0.1' })
async function ok<T = any>(method: string, args: unknown, token: string | null): Promise<T> {
  const r = await call(method, args, token)
  if (!r.ok) throw new Error(`${method}: ${r.error.code} ${r.error.message}`)
  return r.result as T
}
function expectError(r: DispatchResult, code: string, message?: RegExp): void {
  expect(r.ok).toBe(false)
  if (r.ok) return
  expect(r.error.code).toBe(code)
  if (message) expect(r.error.message).toMatch(message)
}
const keyFile = (deviceId: string): string => path.join(dir, 'pki', 'devices', `${deviceId}.key`)

async function clientP12(zipBase64: string, password: string): Promise<{ certPems: string[]; keyPem: string | null }> {
  const entries = await unzipEntries(Buffer.from(zipBase64, 'base64'))
  const name = [...entries.keys()].find((n) => n.endsWith('.p12') && !n.includes('truststore-'))!
  return pemFromP12(entries.get(name)!, password)
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-devices-'))
  await seedPkiDir(dir)
  gw = await startGateway({
    dataDir: dir,
    env: {
      FEDGATE_ADMIN_PASSWORD: 'field-admin-pass',
      Streaming__TlsPort: '0',
      Federation__Port: '0',
      Marti__Port: '0',
      Enrollment__Port: '0',
      Federation__AdvertisedHostname: 'fedgate.test',
      Federation__OurFederateId: 'fedgate-test'
    },
    log: createLogger(() => {}, true)
  })
  admin = (await ok<{ token: string }>('login', { username: 'admin', password: 'field-admin-pass' }, null)).token
  const org = await ok('createOrganization', { name: 'Recon', plan: 'team' }, admin)
  const otherOrg = await ok('createOrganization', { name: 'Elsewhere', plan: 'team' }, admin)
  ids.org = org.id
  ids.alpha = (await ok('createNetwork', { organizationId: org.id, name: 'Alpha' }, admin)).id
  ids.bravo = (await ok('createNetwork', { organizationId: org.id, name: 'Bravo' }, admin)).id
  const op = await ok('createUser', { username: 'operator', password: 'operator-pass-123', organizationId: org.id }, admin)
  await ok('createUser', { username: 'outsider', password: 'outsider-pass-123', organizationId: otherOrg.id }, admin)
  const team = await ok('createTeam', { organizationId: org.id, name: 'Alpha devices' }, admin)
  await ok('setTeamMembers', { teamId: team.id, memberIds: [op.id] }, admin)
  await ok('setTeamGrants', { teamId: team.id, grants: [{ networkId: ids.alpha, permissions: ['manageDevices'] }] }, admin)
  operator = (await ok<{ token: string }>('login', { username: 'operator', password: 'operator-pass-123' }, null)).token
  outsider = (await ok<{ token: string }>('login', { username: 'outsider', password: 'outsider-pass-123' }, null)).token
})

afterAll(async () => {
  await gw?.stop()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('enrollDevice', () => {
  let enrolled: EnrolledDevice

  it('issues a certificate, keeps the key in pki/devices (0600, not in db.json) and returns both packages', async () => {
    enrolled = await ok<EnrolledDevice>('enrollDevice', { networkId: ids.alpha, callsign: 'Viper 1', validDays: 90 }, operator)
    const device = enrolled.device
    expect(device).toMatchObject({ networkId: ids.alpha, callsign: 'Viper 1', revokedAt: null, online: false, connectionCount: 0 })
    expect(Math.round((Date.parse(device.notAfter) - Date.now()) / 86_400_000)).toBe(90)
    expect(fs.statSync(keyFile(device.id)).mode & 0o777).toBe(0o600)

    const fromPackage = await clientP12(enrolled.packageBase64, enrolled.clientPassword)
    expect(new X509Certificate(fromPackage.certPems[0]!).fingerprint256).toBe(device.fingerprint)
    expect(new X509Certificate(fromPackage.certPems[0]!).subject).toBe('CN=Viper 1')
    expect(enrolled.packageFilename).toMatch(/^fedgate-test-[0-9a-f]{8}-Viper_1\.zip$/)
    const itak = await unzipEntries(Buffer.from(enrolled.itakPackageBase64, 'base64'))
    expect(itak.has('config.pref')).toBe(true)
    expect(enrolled.itakQrText).toBe(`Alpha,fedgate.test,${gw.services.ports.streaming},ssl`)

    await gw.services.store.flush()
    const db = fs.readFileSync(path.join(dir, 'db.json'), 'utf8')
    expect(db).toContain(device.fingerprint)
    expect(db).not.toMatch(/PRIVATE KEY/)
    expect(db).not.toContain(enrolled.clientPassword)
  })

  it('audits the enrollment without any password', () => {
    const audit = fs.readFileSync(path.join(dir, 'audit.ndjson'), 'utf8')
    expect(audit).toMatch(/"action":"enrollDevice"/)
    expect(audit).toContain(enrolled.device.fingerprint)
    expect(audit).not.toContain(enrolled.clientPassword)
    expect(audit).not.toContain(enrolled.truststorePassword)
  })

  it('refuses a second live device with the same callsign on the network, a bad callsign or validity', async () => {
    expectError(await call('enrollDevice', { networkId: ids.alpha, callsign: 'viper 1' }, operator), 'conflict', /already enrolled/)
    expectError(await call('enrollDevice', { networkId: ids.alpha, callsign: 'bad\u0000name' }, operator), 'invalid')
    expectError(await call('enrollDevice', { networkId: ids.alpha, callsign: '   ' }, operator), 'invalid')
    expectError(await call('createDeviceEnrollment', { networkId: ids.alpha, callsign: ' \t ' }, operator), 'invalid')
    expectError(await call('enrollDevice', { networkId: ids.alpha, callsign: 'X', validDays: 0 }, operator), 'invalid')
    expectError(await call('enrollDevice', { networkId: 'net_missing', callsign: 'X' }, admin), 'forbidden')
  })

  it('re-download rebuilds the package from the stored key with new passwords', async () => {
    const again = await ok('downloadDevicePackage', { id: enrolled.device.id }, operator)
    expect(again.mimeType).toBe('application/zip')
    expect(again.filename).toBe(enrolled.packageFilename)
    expect(again.clientPassword).not.toBe(enrolled.clientPassword)
    expect(again.truststorePassword).not.toBe(enrolled.truststorePassword)
    const fromPackage = await clientP12(again.contentBase64, again.clientPassword)
    expect(new X509Certificate(fromPackage.certPems[0]!).fingerprint256).toBe(enrolled.device.fingerprint)
    await expect(clientP12(again.contentBase64, enrolled.clientPassword)).rejects.toThrow()
    const itak = await ok('downloadDevicePackage', { id: enrolled.device.id, variant: 'itak' }, operator)
    expect(itak.filename).toMatch(/-iTAK\.zip$/)
    // WinTAK: the ATAK package nested in an outer one, opened with the passwords of this download.
    const wintak = await ok('downloadDevicePackage', { id: enrolled.device.id, variant: 'wintak' }, operator)
    expect(wintak.filename).toBe(enrolled.packageFilename.replace(/\.zip$/, '-WinTAK.zip'))
    const inner = (await unzipEntries(Buffer.from(wintak.contentBase64, 'base64'))).get(enrolled.packageFilename)!
    const nested = await clientP12(inner.toString('base64'), wintak.clientPassword)
    expect(new X509Certificate(nested.certPems[0]!).fingerprint256).toBe(enrolled.device.fingerprint)
    expectError(await call('downloadDevicePackage', { id: enrolled.device.id, variant: 'windows' }, operator), 'invalid')
  })

  it('packages carry the address the operator picks from deviceAddresses; any other is refused', async () => {
    const { deviceAddresses } = await ok('getDeploymentSettings', {}, operator)
    expect(deviceAddresses[0]).toEqual({ address: 'fedgate.test', interfaceName: null, advertised: true, likely: true, covered: true })
    const connectString = async (host?: string): Promise<string> => {
      const answer = await ok('downloadDevicePackage', { id: enrolled.device.id, host }, operator)
      const entries = await unzipEntries(Buffer.from(answer.contentBase64, 'base64'))
      const pref = entries.get([...entries.keys()].find((n) => n.endsWith('.pref'))!)!.toString()
      return /key="connectString0"[^>]*>([^<]+)</.exec(pref)![1]!
    }
    expect(await connectString()).toBe(`fedgate.test:${gw.services.ports.streaming}:ssl`)
    const last = deviceAddresses.filter((a: { covered: boolean }) => a.covered).at(-1)!.address
    expect(await connectString(last)).toBe(`${last}:${gw.services.ports.streaming}:ssl`)
    const refused = await call('downloadDevicePackage', { id: enrolled.device.id, host: 'evil.example' }, operator)
    expectError(refused, 'invalid')
    expect(JSON.stringify(refused)).toContain('fedgate.test')
    expectError(await call('enrollDevice', { networkId: ids.alpha, callsign: 'NOWHERE-1', host: '203.0.113.9' }, operator), 'invalid')
    expect(gw.services.store.data.devices.some((d) => d.callsign === 'NOWHERE-1')).toBe(false)
  })
})

describe('permissions', () => {
  it('needs Manage devices on that network to enroll, download or revoke', async () => {
    const onBravo = await ok<EnrolledDevice>('enrollDevice', { networkId: ids.bravo, callsign: 'Bravo 1' }, admin)
    expectError(await call('enrollDevice', { networkId: ids.bravo, callsign: 'Sneaky' }, operator), 'forbidden', /Manage devices/)
    expectError(await call('downloadDevicePackage', { id: onBravo.device.id }, operator), 'forbidden')
    expectError(await call('revokeDevice', { id: onBravo.device.id }, operator), 'forbidden')
    expectError(await call('enrollDevice', { networkId: ids.alpha, callsign: 'Sneaky' }, outsider), 'forbidden')
  })

  it('lists devices to members of the organization only', async () => {
    const list = await ok<DeviceDto[]>('listDevices', { networkId: ids.bravo }, operator)
    expect(list.map((d) => d.callsign)).toEqual(['Bravo 1'])
    expectError(await call('listDevices', { networkId: ids.alpha }, outsider), 'forbidden')
    expectError(await call('listDevices', { networkId: ids.alpha }, null), 'unauthenticated')
  })
})

describe('listDevices with live status', () => {
  it('takes online, uid, address, counts and position from the presence lookup', async () => {
    const [viper] = await ok<DeviceDto[]>('listDevices', { networkId: ids.alpha }, operator)
    gw.services.presence = (id) =>
      id === viper!.id
        ? ({
            online: true,
            uidSeen: 'ANDROID-1',
            lastSeen: '2026-01-01T00:00:00.000Z',
            address: '10.0.0.5',
            connectionCount: 2,
            lastPosition: null,
            drops: 3
          } as { online: boolean })
        : undefined
    try {
      const [live] = await ok<DeviceDto[]>('listDevices', { networkId: ids.alpha }, operator)
      expect(live).toMatchObject({ online: true, uidSeen: 'ANDROID-1', address: '10.0.0.5', connectionCount: 2, drops: 3 })
    } finally {
      gw.services.presence = null
    }
  })
})

describe('revokeDevice', () => {
  it('marks the device revoked, fires deviceRevoked at once, deletes its key and refuses further packages', async () => {
    const enrolled = await ok<EnrolledDevice>('enrollDevice', { networkId: ids.alpha, callsign: 'Lost Phone' }, operator)
    const id = enrolled.device.id
    expect(activeDeviceByFingerprint(gw.services.store.data, enrolled.device.fingerprint)?.id).toBe(id)
    const fired: { id: string; revokedInStore: boolean }[] = []
    const listener = (deviceId: string): void => {
      fired.push({ id: deviceId, revokedInStore: Boolean(gw.services.store.data.devices.find((d) => d.id === deviceId)?.revokedAt) })
    }
    gw.services.internal.on('deviceRevoked', listener)
    try {
      const revoked = await ok<DeviceDto>('revokeDevice', { id }, operator)
      expect(revoked.revokedAt).not.toBeNull()
      expect(fired).toEqual([{ id, revokedInStore: true }])
      expect(fs.existsSync(keyFile(id))).toBe(false)
      expect(activeDeviceByFingerprint(gw.services.store.data, enrolled.device.fingerprint)).toBeNull()
      expectError(await call('downloadDevicePackage', { id }, operator), 'conflict', /revoked/)
      // Revoking twice changes nothing and fires nothing.
      await ok('revokeDevice', { id }, operator)
      expect(fired).toHaveLength(1)
      // The callsign is free again for a new enrollment.
      await ok('enrollDevice', { networkId: ids.alpha, callsign: 'Lost Phone' }, operator)
    } finally {
      gw.services.internal.off('deviceRevoked', listener)
    }
    const audit = fs.readFileSync(path.join(dir, 'audit.ndjson'), 'utf8')
    expect(audit).toMatch(/"action":"revokeDevice"/)
  })

  it('ignores expired certificates in the handshake lookup', () => {
    const record = gw.services.store.data.devices[0]!
    expect(
      activeDeviceByFingerprint({ devices: [{ ...record, revokedAt: null, notAfter: '2000-01-01T00:00:00.000Z' }] }, record.fingerprint)
    ).toBeNull()
  })
})

describe('deleting a network', () => {
  it('removes the private keys of its devices', async () => {
    const devices = gw.services.store.data.devices.filter((d) => d.networkId === ids.bravo)
    expect(devices.length).toBeGreaterThan(0)
    for (const d of devices) expect(fs.existsSync(keyFile(d.id))).toBe(true)
    await ok('deleteNetwork', { id: ids.bravo }, admin)
    for (const d of devices) expect(fs.existsSync(keyFile(d.id))).toBe(false)
    const alphaDevice = gw.services.store.data.devices.find((d) => d.networkId === ids.alpha && !d.revokedAt)!
    expect(fs.existsSync(keyFile(alphaDevice.id))).toBe(true)
  })
})
