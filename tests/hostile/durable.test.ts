// Issue 22, "nothing lost, nothing undone": against a running gateway with its real data directory, over mutual TLS
// with our CA's certificates on loopback. Odd Marti ranges are answered; a stale db.lock whose pid now belongs to
// another program does not block the start while a live owner's still does; a change that cannot be saved (a
// real ENOSPC from /dev/full) is not applied; a revocation survives a restore of db.json from its backup.

import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceClient } from '../support/device-client.ts'
import { enrollIdentity, martiGet, martiRequest, until, type EnrolledIdentity } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { probeTls } from '../support/hardening-certs.ts'
import { StoreLockedError } from '../../gateway/store/lock.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** A long-lived child that is not a Fedgate; killed by the test that started it. */
function spawnIdle(command: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: 'ignore' })
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child))
    child.once('error', reject)
  })
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

/** /proc/<pid>/stat field 22, as the lock records it. */
function startTimeOf(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!
}

describe('Marti content ranges', () => {
  let t: TestGateway
  let phone: EnrolledIdentity
  let hash = ''
  const content = Buffer.from('0123456789'.repeat(100))

  beforeAll(async () => {
    t = await startTestGateway()
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Ranges', plan: 'team' }, admin)
    const networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
    phone = await enrollIdentity(t, admin, networkId, 'RANGER')
    hash = (await t.ok('uploadDataPackage', { networkId, name: 'digits.bin', contentBase64: content.toString('base64') }, admin)).hash
    expect(hash).toBe(sha(content))
  })
  afterAll(() => t?.stop())

  const get = (query: string): Promise<{ status: number; body: Buffer }> =>
    martiGet(t.services.ports.marti, `/Marti/sync/content?hash=${hash}&${query}`, phone)

  it('answers offset=0&length=0 with an empty part instead of resetting the connection', async () => {
    const answer = await get('offset=0&length=0')
    expect(answer.status).toBe(206)
    expect(answer.body.length).toBe(0)
  })

  it('answers every odd offset/length with a status, and logs no stack trace', async () => {
    const cases: [string, number, number | null][] = [
      ['offset=10&length=0', 206, 0],
      ['offset=995&length=100', 206, 5],
      ['offset=0&length=99999999999999999999999', 206, 1000],
      ['offset=1000&length=1', 416, 0],
      ['offset=99999999999999999999999&length=1', 416, 0],
      ['offset=-1&length=5', 400, null],
      ['offset=0&length=-5', 400, null],
      ['offset=abc&length=5', 400, null],
      ['offset=1.5&length=5', 400, null],
      ['offset=&length=', 400, null]
    ]
    for (const [query, status, bodyLength] of cases) {
      const answer = await get(query)
      expect({ query, status: answer.status }).toEqual({ query, status })
      if (bodyLength !== null) expect({ query, length: answer.body.length }).toEqual({ query, length: bodyLength })
    }
    // The clamped read still returns the right bytes.
    expect((await get('offset=995&length=100')).body.toString()).toBe('56789')
    expect(t.logs.filter((l) => /Marti API: GET/.test(l) || /\n\s+at /.test(l))).toEqual([])
  })
})

describe('db.lock', () => {
  const children: ChildProcess[] = []
  let dir = ''
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-lock-'))
  })
  afterAll(async () => {
    for (const child of children) await stopChild(child)
    await fsp.rm(dir, { recursive: true, force: true })
  })

  it('takes over a lock whose pid now belongs to an unrelated live program', async () => {
    const sleeper = await spawnIdle('sleep', ['30'])
    children.push(sleeper)
    // The pid a crashed Fedgate left, since reused by `sleep`: in the old format (pid only) and in the new one
    // (with the start time of the process that wrote it, which was not this `sleep`).
    for (const content of [`${sleeper.pid}\n`, `${sleeper.pid}\nfedgate start=1 instance=crashed\n`]) {
      await fsp.writeFile(path.join(dir, 'db.lock'), content)
      const t = await startTestGateway({ dataDir: dir })
      try {
        expect((await fsp.readFile(path.join(dir, 'db.lock'), 'utf8')).split('\n')[0]).toBe(String(process.pid))
      } finally {
        await t.stop()
      }
    }
    expect(sleeper.exitCode).toBeNull()
  })

  it("still refuses to start on a live Fedgate's lock", async () => {
    // Another live owner, named by its pid and its real start time.
    const owner = await spawnIdle(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'])
    children.push(owner)
    await fsp.writeFile(path.join(dir, 'db.lock'), `${owner.pid}\nfedgate start=${startTimeOf(owner.pid!)} instance=live\n`)
    const refused = await startTestGateway({ dataDir: dir }).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(StoreLockedError)
    expect((refused as StoreLockedError).ownerPid).toBe(owner.pid)
    // A lock in the old format naming a live node process is also a Fedgate's.
    await fsp.writeFile(path.join(dir, 'db.lock'), `${owner.pid}\n`)
    expect(await startTestGateway({ dataDir: dir }).catch((err: unknown) => err)).toBeInstanceOf(StoreLockedError)
    await stopChild(owner)
    // And a second gateway in the same process on a held directory.
    await fsp.rm(path.join(dir, 'db.lock'))
    const first = await startTestGateway({ dataDir: dir })
    try {
      expect(await startTestGateway({ dataDir: dir }).catch((err: unknown) => err)).toBeInstanceOf(StoreLockedError)
    } finally {
      await first.stop()
    }
  })
})

describe('a full disk', () => {
  let t: TestGateway
  let admin = ''
  let organizationId = ''
  let networkId = ''
  let phone: EnrolledIdentity

  beforeAll(async () => {
    t = await startTestGateway()
    admin = await t.loginAs('admin', t.adminPassword!)
    organizationId = (await t.ok('createOrganization', { name: 'Disk', plan: 'team' }, admin)).id
    networkId = (await t.ok('createNetwork', { organizationId, name: 'Main' }, admin)).id
    phone = await enrollIdentity(t, admin, networkId, 'FILLER')
  })
  afterAll(() => t?.stop())

  /**
   * The next save of db.json goes through its temp file, here a link to /dev/full: writes there fail with a real
   * ENOSPC from the kernel. The store removes the link when it cleans up after the failed write.
   */
  const fillDisk = (): Promise<void> => fsp.symlink('/dev/full', path.join(t.dataDir, `.db.json.${process.pid}.tmp`))
  const networkNames = async (): Promise<string[]> => (await t.ok('listNetworks', { organizationId }, admin)).map((n) => n.name)

  it('createNetwork that cannot be saved says the disk is full and leaves no network behind', async () => {
    await fillDisk()
    const answer = await t.call('createNetwork', { organizationId, name: 'Ghost' }, admin)
    expect(answer.ok).toBe(false)
    if (answer.ok) return
    expect(answer.error.code).toBe('unavailable')
    expect(answer.error.message).toMatch(/disk is full.*nothing was changed/)
    expect(await networkNames()).toEqual(['Main'])
    // Not written later either: the next change saves the document without it.
    await t.ok('createNetwork', { organizationId, name: 'Real' }, admin)
    expect(await networkNames()).toEqual(['Main', 'Real'])
    const onDisk = JSON.parse(await fsp.readFile(path.join(t.dataDir, 'db.json'), 'utf8')) as { networks: { name: string }[] }
    expect(onDisk.networks.map((n) => n.name).sort()).toEqual(['Main', 'Real'])
  })

  it('a package upload that hits the full disk says so and leaves no file', async () => {
    const files = (): string[] => fs.readdirSync(path.join(t.dataDir, 'packages')).filter((f) => f !== 'tmp')
    const before = files()
    await fillDisk()
    const bytes = Buffer.from('a mission package that will not fit')
    const answer = await t.call('uploadDataPackage', { networkId, name: 'full.zip', contentBase64: bytes.toString('base64') }, admin)
    expect(answer.ok).toBe(false)
    if (answer.ok) return
    expect(answer.error.code).toBe('unavailable')
    expect(answer.error.message).toMatch(/disk is full/)

    // A device's upload over the Marti API (mutual TLS) gets an HTTP answer naming the disk, not "internal".
    await fillDisk()
    const device = await martiRequest(t.services.ports.marti, `/Marti/sync/upload?name=full.zip&keywords=missionpackage`, phone, bytes)
    expect(device.status).toBe(507)
    expect(device.body.toString()).toMatch(/disk is full/)
    expect(files()).toEqual(before)
    expect(fs.readdirSync(path.join(t.dataDir, 'packages', 'tmp'))).toEqual([])
    expect(await t.ok('listDataPackages', { networkId }, admin)).toEqual([])
    expect(t.logs.filter((l) => /internal error|\n\s+at /.test(l))).toEqual([])
  })

  it('a revocation that db.json cannot save is still in force, and says so', async () => {
    const live = await DeviceClient.connect({ port: t.services.ports.streaming, ...phone })
    await until(() => t.services.presence?.(phone.deviceId)?.online === true, 10_000, 'the phone to be attached')
    await fillDisk()
    const answer = await t.call('revokeDevice', { id: phone.deviceId }, admin)
    expect(answer.ok).toBe(false)
    if (answer.ok) return
    expect(answer.error.code).toBe('unavailable')
    expect(answer.error.message).toMatch(/disk is full.*recorded and in force/)
    const after = await probeTls({ port: t.services.ports.streaming, cert: phone.cert, key: phone.key, ca: phone.ca, waitMs: 1000 })
    expect(after.closed).toBe(true)
    // Its connection from before is cut as well.
    const outcome = await Promise.race([live.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 10_000))])
    live.socket.destroy()
    expect(outcome).toBe('closed')
  })
})

describe('a revocation and a restore of db.json from its backup', () => {
  let dir = ''
  let t: TestGateway | null = null
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-revoke-'))
  })
  afterAll(async () => {
    await t?.stop()
    await fsp.rm(dir, { recursive: true, force: true })
  })

  /** Whether the streaming port keeps a TLS connection with this certificate open (a refused one is closed at once). */
  async function streams(gw: TestGateway, device: EnrolledIdentity): Promise<boolean> {
    const probe = await probeTls({ port: gw.services.ports.streaming, cert: device.cert, key: device.key, ca: device.ca, waitMs: 1500 })
    return probe.handshook && !probe.closed
  }

  it("the restored db.json cannot bring back a revoked device or a deleted network's devices", async () => {
    t = await startTestGateway({ dataDir: dir })
    let admin = await t.loginAs('admin', t.adminPassword!)
    const organizationId = (await t.ok('createOrganization', { name: 'Field', plan: 'team' }, admin)).id
    const main = (await t.ok('createNetwork', { organizationId, name: 'Main' }, admin)).id
    const doomed = (await t.ok('createNetwork', { organizationId, name: 'Doomed' }, admin)).id
    const lost = await enrollIdentity(t, admin, main, 'LOST-PHONE')
    const kept = await enrollIdentity(t, admin, main, 'KEPT-PHONE')
    const orphan = await enrollIdentity(t, admin, doomed, 'ORPHAN')
    await t.stop()

    // The start takes db.json.bak: every device in it is active.
    t = await startTestGateway({ dataDir: dir })
    admin = await t.loginAs('admin', t.adminPassword!)
    expect(await streams(t, lost)).toBe(true)
    await t.ok('revokeDevice', { id: lost.deviceId }, admin)
    await t.ok('deleteNetwork', { id: doomed }, admin)
    expect(await streams(t, lost)).toBe(false)
    expect(await streams(t, orphan)).toBe(false)
    await t.stop()
    t = null
    const backup = JSON.parse(await fsp.readFile(path.join(dir, 'db.json.bak'), 'utf8')) as {
      devices: { id: string; revokedAt: string | null }[]
    }
    expect(backup.devices.find((d) => d.id === lost.deviceId)?.revokedAt).toBeNull()

    // db.json is damaged: the next start restores the backup taken before the revocation.
    await fsp.writeFile(path.join(dir, 'db.json'), '{"schemaVersion": 3, "devic')
    t = await startTestGateway({ dataDir: dir })
    admin = await t.loginAs('admin', t.adminPassword!)
    expect(t.services.store.recovery?.restoredFrom).toBe('backup')
    expect(await streams(t, lost)).toBe(false)
    expect(await streams(t, orphan)).toBe(false)
    expect(await streams(t, kept)).toBe(true)
    const listed = await t.ok('listDevices', { networkId: main }, admin)
    expect(listed.find((d) => d.id === lost.deviceId)?.revokedAt).not.toBeNull()
    expect(listed.find((d) => d.id === kept.deviceId)?.revokedAt).toBeNull()
    // The notice says what was lost and what was put back.
    const notice = (await t.ok('getSetupState')).storeRecovery!.message
    expect(notice).toMatch(/changes made after it was taken \(\d{4}-.*\) are missing/)
    expect(notice).toMatch(/Re-applied .*LOST-PHONE.*ORPHAN|Re-applied .*ORPHAN.*LOST-PHONE/)
    const journal = path.join(dir, 'pki', 'revocations.ndjson')
    expect(fs.statSync(journal).mode & 0o777).toBe(0o600)
  })
})
