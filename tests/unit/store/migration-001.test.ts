// Migration 0 → 1: a document from before versioning is upgraded on open; a file from a newer Fedgate is refused untouched.

import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrate, StoreFormatError } from '../../../gateway/store/migrate.ts'
import { migration001 } from '../../../gateway/store/migrations/001-initial.ts'
import { SCHEMA_VERSION } from '../../../gateway/store/schema.ts'
import { Store } from '../../../gateway/store/store.ts'

let dir: string
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-mig001-'))
})
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true })
})

const org = { id: 'org_1', name: 'Alpha', plan: 'team', tokenLimit: 10, createdAt: '2024-01-01T00:00:00.000Z' }

describe('migration 001 (version 0 → 1)', () => {
  it('adds every collection and a deployment id, keeping what was there', () => {
    const out = migration001({ organizations: [org], meta: { deploymentId: 'dep-1' } })
    expect(out.schemaVersion).toBe(1)
    expect(out.organizations).toEqual([org])
    for (const key of ['users', 'teams', 'networks', 'devices', 'federations', 'federationCodes', 'externalPeers', 'dataPackages']) {
      expect(out[key]).toEqual([])
    }
    expect(out.meta).toMatchObject({ deploymentId: 'dep-1' })
    expect(typeof (out.meta as { createdAt: unknown }).createdAt).toBe('string')
  })

  it('gives a version-0 document without meta a fresh deployment id', () => {
    const doc = migrate({ users: [] })
    expect(doc.schemaVersion).toBe(SCHEMA_VERSION)
    expect(doc.meta.deploymentId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('upgrades a version-0 db.json on open and writes the upgraded file and its backup', async () => {
    const file = path.join(dir, 'db.json')
    await fsp.writeFile(file, JSON.stringify({ organizations: [org] }))
    const store = await Store.open({ dir })
    try {
      expect(store.recovery).toBeNull()
      expect(store.data.schemaVersion).toBe(SCHEMA_VERSION)
      expect(store.data.organizations).toEqual([org])
      const onDisk = JSON.parse(await fsp.readFile(file, 'utf8'))
      expect(onDisk.schemaVersion).toBe(SCHEMA_VERSION)
      expect(onDisk.organizations).toEqual([org])
      expect(onDisk.meta.deploymentId).toBe(store.data.meta.deploymentId)
      const backup = JSON.parse(await fsp.readFile(`${file}.bak`, 'utf8'))
      expect(backup).toEqual(onDisk)
    } finally {
      await store.close()
    }
  })

  it('refuses a file written by a newer Fedgate and leaves it untouched', async () => {
    const file = path.join(dir, 'db.json')
    const text = JSON.stringify({ schemaVersion: SCHEMA_VERSION + 1, organizations: [org], somethingNew: { x: 1 } })
    await fsp.writeFile(file, text)
    const error = await Store.open({ dir }).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(StoreFormatError)
    expect((error as Error).message).toMatch(/newer version of Fedgate/)
    expect((error as Error).message).toMatch(/left untouched/)
    expect(await fsp.readFile(file, 'utf8')).toBe(text)
    // Not treated as corruption: nothing moved aside, no backup written, and the lock is released.
    expect(fs.readdirSync(dir).sort()).toEqual(['db.json'])
  })
})
