// Migration 1 → 2: a db.json of the first schema (devices only with connection packages) opens with an empty list of
// device enrollments, its devices unchanged and read as package-enrolled.

import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { deviceDto } from '../../../gateway/devices/enrollment.ts'
import { migrate, StoreFormatError } from '../../../gateway/store/migrate.ts'
import { migration002 } from '../../../gateway/store/migrations/002-device-enrollments.ts'
import { SCHEMA_VERSION } from '../../../gateway/store/schema.ts'
import { Store } from '../../../gateway/store/store.ts'

let dir: string
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-mig002-'))
})
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true })
})

const device = {
  id: 'dev_1',
  networkId: 'net_1',
  callsign: 'VIPER-1',
  fingerprint: 'AA:BB',
  serial: '01',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2027-01-01T00:00:00.000Z',
  enrolledAt: '2026-01-01T00:00:00.000Z',
  revokedAt: null,
  certPem: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'
}
const versionOne = {
  schemaVersion: 1,
  organizations: [],
  users: [],
  teams: [],
  networks: [],
  devices: [device],
  federations: [],
  federationCodes: [],
  externalPeers: [],
  dataPackages: [],
  meta: { deploymentId: 'dep-1', createdAt: '2026-01-01T00:00:00.000Z' }
}

describe('migration 002 (version 1 → 2)', () => {
  it('adds the device enrollments list and keeps the devices', () => {
    const out = migration002(structuredClone(versionOne))
    expect(out.schemaVersion).toBe(2)
    expect(out.deviceEnrollments).toEqual([])
    expect(out.devices).toEqual([device])
  })

  it('a version-1 db.json opens, is written as the current version, and its devices read as package-enrolled', async () => {
    const file = path.join(dir, 'db.json')
    await fsp.writeFile(file, JSON.stringify(versionOne))
    const store = await Store.open({ dir })
    try {
      expect(store.data.schemaVersion).toBe(SCHEMA_VERSION)
      expect(store.data.deviceEnrollments).toEqual([])
      expect(deviceDto(store.data.devices[0]!).enrolledBy).toBe('package')
      const onDisk = JSON.parse(await fsp.readFile(file, 'utf8'))
      expect(onDisk.schemaVersion).toBe(SCHEMA_VERSION)
      expect(onDisk.deviceEnrollments).toEqual([])
    } finally {
      await store.close()
    }
  })

  it('a version-2 file whose enrollments are not a list is damage, not an empty list', () => {
    expect(() => migrate({ ...versionOne, schemaVersion: 2, deviceEnrollments: {} })).toThrow(StoreFormatError)
  })
})
