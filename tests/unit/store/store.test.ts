// The store against real files: acknowledged writes are on disk, failed mutations change nothing, writes coalesce,
// corrupt files are moved aside and restored from the backup with a notice, one process per directory, and the
// temp + fsync + rename + directory fsync path, including a disk that is full.

import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { OrganizationRecord } from '../../../gateway/store/schema.ts'
import { Store, StoreLockedError, writeFileDurablySync } from '../../../gateway/store/store.ts'

const STORE_MODULE = pathToFileURL(path.resolve('gateway/store/store.ts')).href

let dir: string
const openStores: Store[] = []

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-store-'))
})
afterEach(async () => {
  vi.restoreAllMocks()
  for (const store of openStores.splice(0)) await store.close()
  await fsp.rm(dir, { recursive: true, force: true })
})

async function open(options: { debounceMs?: number; log?: (level: string, message: string) => void } = {}): Promise<Store> {
  const store = await Store.open({ dir, ...options })
  openStores.push(store)
  return store
}

async function close(store: Store): Promise<void> {
  await store.close()
  openStores.splice(openStores.indexOf(store), 1)
}

function org(name: string): OrganizationRecord {
  return { id: `org_${name}`, name, plan: 'team', tokenLimit: 10, createdAt: '2024-01-01T00:00:00.000Z' }
}

const dbFile = (): string => path.join(dir, 'db.json')
const onDisk = async (): Promise<{ organizations: OrganizationRecord[] }> => JSON.parse(await fsp.readFile(dbFile(), 'utf8'))
const names = (doc: { organizations: OrganizationRecord[] }): string[] => doc.organizations.map((o) => o.name)

/** Runs a small ESM program in another Node process with the tsx loader; resolves with its exit code and output. */
function runChild(
  source: string,
  onStdout?: (text: string) => void
): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; pid: number; kill(): void } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    onStdout?.(stdout)
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  )
  return { done, pid: child.pid!, kill: () => child.kill('SIGKILL') }
}

describe('store basics', () => {
  it('creates db.json on an empty directory', async () => {
    const store = await open()
    expect(store.recovery).toBeNull()
    expect(fs.existsSync(dbFile())).toBe(true)
    expect((await onDisk()).organizations).toEqual([])
  })

  it('has an acknowledged write on disk when update() resolves, without close or flush', async () => {
    const store = await open({ debounceMs: 20 })
    await store.update((doc) => {
      doc.organizations.push(org('Alpha'))
    })
    expect(names(await onDisk())).toEqual(['Alpha'])
  })

  it('leaves the document and the file unchanged when the mutation throws', async () => {
    const store = await open()
    await store.update((doc) => {
      doc.organizations.push(org('Alpha'))
    })
    const before = structuredClone(store.data)
    const bytes = await fsp.readFile(dbFile())
    await expect(
      store.update((doc) => {
        doc.organizations.push(org('Bravo'))
        doc.organizations[0]!.name = 'Changed'
        throw new Error('refused halfway')
      })
    ).rejects.toThrow('refused halfway')
    expect(store.data).toEqual(before)
    await store.flush()
    expect(await fsp.readFile(dbFile())).toEqual(bytes)
    // The store still works afterwards.
    await store.update((doc) => {
      doc.organizations.push(org('Charlie'))
    })
    expect(names(await onDisk())).toEqual(['Alpha', 'Charlie'])
  })

  it('coalesces many updates into few writes, and acknowledges every one', async () => {
    const store = await open({ debounceMs: 30 })
    const rename = vi.spyOn(fsp, 'rename')
    const updates = Array.from({ length: 100 }, (_, i) =>
      store.update((doc) => {
        doc.organizations.push(org(`o${i}`))
        return i
      })
    )
    expect(await Promise.all(updates)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    const writes = rename.mock.calls.filter(([, to]) => to === dbFile()).length
    expect(writes).toBeGreaterThanOrEqual(1)
    expect(writes).toBeLessThanOrEqual(3)
    expect((await onDisk()).organizations).toHaveLength(100)
  })

  it('flushes pending changes on close and writes nothing after it', async () => {
    const store = await open({ debounceMs: 30 })
    const realRename = fsp.rename.bind(fsp)
    let writesToDb = 0
    // A slow first write: it is still in flight when the next change arrives and when close() is called.
    vi.spyOn(fsp, 'rename').mockImplementation(async (from, to) => {
      if (to === dbFile() && ++writesToDb === 1) await new Promise((resolve) => setTimeout(resolve, 60))
      return realRename(from, to)
    })
    const first = store.update((doc) => {
      doc.organizations.push(org('Alpha'))
    })
    await new Promise((resolve) => setTimeout(resolve, 45))
    const second = store.update((doc) => {
      doc.organizations.push(org('Bravo'))
    })
    await close(store)
    await Promise.all([first, second])
    expect(names(await onDisk())).toEqual(['Alpha', 'Bravo'])
    expect(fs.existsSync(path.join(dir, 'db.lock'))).toBe(false)
    const afterClose = writesToDb
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(writesToDb).toBe(afterClose)
    await expect(store.update(() => {})).rejects.toThrow(/closed/)
  })
})

describe('recovery from an unreadable db.json', () => {
  async function storeWithBackup(): Promise<void> {
    // First open creates the file; the second open reads it cleanly and makes it the backup.
    let store = await open()
    await store.update((doc) => {
      doc.organizations.push(org('Alpha'))
    })
    await close(store)
    store = await open()
    await store.update((doc) => {
      doc.organizations.push(org('Bravo'))
    })
    await close(store)
  }

  it('moves a corrupt file aside, restores the backup and tells the operator', async () => {
    await storeWithBackup()
    await fsp.writeFile(dbFile(), '{"schemaVersion":1,"organizations":[{"id":')
    const logged: string[] = []
    const store = await open({ log: (level, message) => logged.push(`${level} ${message}`) })
    expect(store.recovery).not.toBeNull()
    expect(store.recovery!.restoredFrom).toBe('backup')
    expect(path.basename(store.recovery!.movedTo)).toMatch(/^db\.json\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/)
    expect(await fsp.readFile(store.recovery!.movedTo, 'utf8')).toBe('{"schemaVersion":1,"organizations":[{"id":')
    expect(store.recovery!.message).toMatch(/restored the last good copy from db\.json\.bak/)
    expect(names(store.data)).toEqual(['Alpha'])
    expect(names(await onDisk())).toEqual(['Alpha'])
    expect(logged.some((line) => line.startsWith('error') && line.includes('moved to'))).toBe(true)
  })

  it('starts empty only with a notice when there is no backup', async () => {
    await fsp.writeFile(dbFile(), 'not json at all')
    const store = await open()
    expect(store.recovery).toMatchObject({ restoredFrom: 'empty' })
    expect(store.recovery!.message).toMatch(/no readable backup exists/)
    expect(fs.existsSync(store.recovery!.movedTo)).toBe(true)
    expect(store.data.organizations).toEqual([])
  })

  it('treats an empty file and a wrong shape as corrupt, never as an empty store', async () => {
    await storeWithBackup()
    for (const content of ['', '[]', '{"schemaVersion":1,"organizations":{}}', '{"schemaVersion":"1"}']) {
      await fsp.writeFile(dbFile(), content)
      const store = await open()
      expect(store.recovery, `content ${JSON.stringify(content)}`).toMatchObject({ restoredFrom: 'backup' })
      expect(names(store.data)).toEqual(['Alpha'])
      await close(store)
    }
  })

  it('takes a backup after the first write of a first run, so a corrupt file the next time loses nothing', async () => {
    let store = await open()
    expect(fs.existsSync(`${dbFile()}.bak`)).toBe(false)
    await store.update((doc) => {
      doc.organizations.push(org('Alpha'))
    })
    await close(store)
    await fsp.writeFile(dbFile(), '{"schemaVersion":1,"organ')
    store = await open()
    expect(store.recovery).toMatchObject({ restoredFrom: 'backup' })
    expect(names(store.data)).toEqual(['Alpha'])
  })

  it('keeps an unreadable backup aside instead of overwriting it', async () => {
    await fsp.writeFile(dbFile(), 'not json')
    await fsp.writeFile(`${dbFile()}.bak`, 'not json either')
    const store = await open()
    expect(store.recovery).toMatchObject({ restoredFrom: 'empty' })
    await store.update((doc) => {
      doc.organizations.push(org('Bravo'))
    })
    await store.flush()
    const kept = fs.readdirSync(path.dirname(dbFile())).filter((n) => n.startsWith('db.json.bak.corrupt-'))
    expect(kept).toHaveLength(1)
    expect(await fsp.readFile(path.join(path.dirname(dbFile()), kept[0]!), 'utf8')).toBe('not json either')
    expect(names(JSON.parse(await fsp.readFile(`${dbFile()}.bak`, 'utf8')))).toEqual(['Bravo'])
  })

  it('restores from the backup when db.json is missing but the backup exists', async () => {
    await storeWithBackup()
    await fsp.rm(dbFile())
    const store = await open()
    expect(store.recovery).toMatchObject({ restoredFrom: 'backup', movedTo: '' })
    expect(store.recovery!.message).toMatch(/missing/)
    expect(names(store.data)).toEqual(['Alpha'])
  })
})

describe('one process per data directory', () => {
  it('refuses a second Store.open from another process with StoreLockedError', async () => {
    await open()
    const child = runChild(`
      import { Store } from ${JSON.stringify(STORE_MODULE)}
      try {
        await Store.open({ dir: ${JSON.stringify(dir)} })
        console.log('OPENED')
      } catch (err) {
        console.log(err.name + ': ' + err.message)
        process.exitCode = 3
      }
    `)
    const result = await child.done
    const expected = new StoreLockedError(path.join(dir, 'db.lock'), process.pid).message
    expect(result.stdout.trim()).toBe(`StoreLockedError: ${expected}`)
    expect(result.code).toBe(3)
  })

  it('refuses while another process holds it, and takes over the lock once that process is dead', async () => {
    let ready!: () => void
    const isReady = new Promise<void>((resolve) => (ready = resolve))
    const child = runChild(
      `
      import { Store } from ${JSON.stringify(STORE_MODULE)}
      await Store.open({ dir: ${JSON.stringify(dir)} })
      console.log('READY')
      setInterval(() => {}, 1000)
    `,
      (out) => out.includes('READY') && ready()
    )
    try {
      await isReady
      const error = await Store.open({ dir }).catch((err: unknown) => err)
      expect(error).toBeInstanceOf(StoreLockedError)
      expect((error as StoreLockedError).ownerPid).toBe(child.pid)
    } finally {
      child.kill()
    }
    await child.done
    // The dead owner's pid is still in the lock file: a stale lock.
    expect((await fsp.readFile(path.join(dir, 'db.lock'), 'utf8')).split('\n')[0]).toBe(String(child.pid))
    const store = await open()
    expect(store.recovery).toBeNull()
    expect((await fsp.readFile(path.join(dir, 'db.lock'), 'utf8')).split('\n')[0]).toBe(String(process.pid))
  })

  it('refuses a second open in the same process', async () => {
    await open()
    await expect(Store.open({ dir })).rejects.toBeInstanceOf(StoreLockedError)
  })
})

describe('durability path', () => {
  /** Records open/write/sync/close/rename with the paths involved. */
  function traceFs(): string[] {
    const trace: string[] = []
    const realOpen = fsp.open.bind(fsp)
    const realRename = fsp.rename.bind(fsp)
    vi.spyOn(fsp, 'open').mockImplementation(async (file, flags, mode) => {
      const name = path.basename(String(file))
      const handle = await realOpen(file, flags, mode)
      trace.push(`open ${name} ${String(flags)}`)
      const wrap = <K extends 'writeFile' | 'sync' | 'close'>(method: K): void => {
        const real = handle[method].bind(handle) as (...args: unknown[]) => Promise<void>
        ;(handle as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
          await real(...args)
          trace.push(`${method} ${name}`)
        }
      }
      wrap('writeFile')
      wrap('sync')
      wrap('close')
      return handle
    })
    vi.spyOn(fsp, 'rename').mockImplementation(async (from, to) => {
      await realRename(from, to)
      trace.push(`rename ${path.basename(String(from))} ${path.basename(String(to))}`)
    })
    return trace
  }

  it('writes a temp file, fsyncs it, renames it over db.json and fsyncs the directory', async () => {
    const store = await open()
    const trace = traceFs()
    await store.update((doc) => {
      doc.organizations.push(org('Alpha'))
    })
    await store.flush() // a first run also takes its first backup after this write
    const tmp = `.db.json.${process.pid}.tmp`
    const dirName = path.basename(dir)
    expect(trace.slice(0, 8)).toEqual([
      `open ${tmp} w`,
      `writeFile ${tmp}`,
      `sync ${tmp}`,
      `close ${tmp}`,
      `rename ${tmp} db.json`,
      `open ${dirName} r`,
      `sync ${dirName}`,
      `close ${dirName}`
    ])
    expect(trace).toContain(`rename .db.json.bak.${process.pid}.tmp db.json.bak`)
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('writes keys durably too (writeFileDurablySync): created in their mode, flushed before the rename, the folder after', () => {
    const file = path.join(dir, 'device.key')
    fs.writeFileSync(file, 'old key')
    const fsync = vi.spyOn(fs, 'fsyncSync')
    const rename = vi.spyOn(fs, 'renameSync')
    try {
      writeFileDurablySync(file, 'new key', 0o600)
      expect(fsync).toHaveBeenCalledTimes(2)
      expect(rename).toHaveBeenCalledTimes(1)
      expect(fsync.mock.invocationCallOrder[0]).toBeLessThan(rename.mock.invocationCallOrder[0]!)
      expect(fsync.mock.invocationCallOrder[1]).toBeGreaterThan(rename.mock.invocationCallOrder[0]!)
    } finally {
      fsync.mockRestore()
      rename.mockRestore()
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('new key')
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('removes temp files left by a crashed process when it opens', async () => {
    await close(await open())
    await fsp.writeFile(path.join(dir, '.db.json.999999.tmp'), '{"half":')
    await fsp.writeFile(path.join(dir, '.db.json.bak.999998.tmp'), '')
    await open()
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })
})

describe('disk full', () => {
  /** Makes every write of a temp file next to db.json store half its bytes and then fail like a full disk. */
  function injectEnospc(): { restore(): void } {
    const realOpen = fsp.open.bind(fsp)
    const spy = vi.spyOn(fsp, 'open').mockImplementation(async (file, flags, mode) => {
      const handle = await realOpen(file, flags, mode)
      if (String(file).endsWith('.tmp')) {
        handle.writeFile = async (data: unknown) => {
          const bytes = Buffer.from(String(data))
          await handle.write(bytes.subarray(0, bytes.length >> 1))
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' })
        }
      }
      return handle
    })
    return { restore: () => spy.mockRestore() }
  }

  it('rejects the update with a readable message, keeps the old file, and persists everything on the next good write', async () => {
    const logged: string[] = []
    const store = await open({ log: (level, message) => logged.push(`${level} ${message}`) })
    await store.update((doc) => {
      doc.organizations.push(org('Alpha'))
    })
    const good = await fsp.readFile(dbFile())

    const fault = injectEnospc()
    const error = await store
      .update((doc) => {
        doc.organizations.push(org('Bravo'))
      })
      .catch((err: unknown) => err as Error)
    fault.restore()

    expect(error).toBeInstanceOf(Error)
    expect(error!.message).toMatch(/could not be saved/)
    expect(error!.message).toMatch(/disk is full/i)
    expect(logged.some((line) => line.startsWith('error') && /could not be saved/.test(line))).toBe(true)
    expect(await fsp.readFile(dbFile())).toEqual(good)
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(store.lastWriteError).not.toBeNull()
    // A change that could not be saved is not applied: memory is what db.json holds.
    expect(names(store.data)).toEqual(['Alpha'])

    await store.update((doc) => {
      doc.organizations.push(org('Charlie'))
    })
    expect(store.lastWriteError).toBeNull()
    expect(names(await onDisk())).toEqual(['Alpha', 'Charlie'])
    await close(store)
    expect(names((await open()).data)).toEqual(['Alpha', 'Charlie'])
  })

  it('refuses the changes made on top of a write that then fails, and memory returns to what db.json holds', async () => {
    const store = await open()
    await store.update((doc) => {
      doc.organizations.push(org('Alpha'))
    })
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let writing = false
    const realOpen = fsp.open.bind(fsp)
    const spy = vi.spyOn(fsp, 'open').mockImplementation(async (file, flags, mode) => {
      const handle = await realOpen(file, flags, mode)
      if (String(file).endsWith('.tmp')) {
        handle.writeFile = async () => {
          writing = true
          await gate
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
        }
      }
      return handle
    })
    try {
      const first = store.update((doc) => void doc.organizations.push(org('Bravo'))).catch((err: unknown) => err as Error)
      for (let i = 0; i < 200 && !writing; i++) await new Promise((r) => setTimeout(r, 5))
      expect(writing).toBe(true)
      // Made while Bravo's write is in flight, on top of Bravo.
      const layered = store.update((doc) => void doc.organizations.push(org('Charlie'))).catch((err: unknown) => err as Error)
      expect(names(store.data)).toEqual(['Alpha', 'Bravo', 'Charlie'])
      release()
      expect((await first)?.message).toMatch(/disk is full.*nothing was changed/)
      expect((await layered)?.message).toMatch(/disk is full.*nothing was changed/)
    } finally {
      spy.mockRestore()
    }
    expect(names(store.data)).toEqual(['Alpha'])
    await store.update((doc) => void doc.organizations.push(org('Delta')))
    expect(names(await onDisk())).toEqual(['Alpha', 'Delta'])
  })

  it('fails open with the I/O error instead of moving a good file aside when a write at open fails', async () => {
    const first = await open()
    await first.update((doc) => {
      doc.organizations.push(org('Alpha'))
    })
    await close(first)
    const good = await fsp.readFile(dbFile())
    const fault = injectEnospc()
    const error = (await Store.open({ dir }).catch((err: unknown) => err)) as Error
    fault.restore()
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toMatch(/ENOSPC|disk is full/i)
    expect(await fsp.readFile(dbFile())).toEqual(good)
    expect(fs.readdirSync(dir).filter((f) => f.includes('corrupt'))).toEqual([])
    expect(fs.existsSync(path.join(dir, 'db.lock'))).toBe(false)
    expect(names((await open()).data)).toEqual(['Alpha'])
  })
})

// A real full filesystem where the machine lets us mount one (root on Linux); otherwise the injected test above stands.
const canMountTmpfs = ((): boolean => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-tmpfs-probe-'))
  try {
    const result = spawnSyncQuiet('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe])
    if (result !== 0) return false
    spawnSyncQuiet('umount', [probe])
    return true
  } finally {
    fs.rmSync(probe, { recursive: true, force: true })
  }
})()

function spawnSyncQuiet(command: string, args: string[]): number | null {
  return spawnSync(command, args, { stdio: 'ignore' }).status
}

describe.skipIf(!canMountTmpfs)('disk full on a real tmpfs', () => {
  it('fails the write visibly, keeps the old file, and recovers once space is freed', async () => {
    const mountDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-tmpfs-'))
    expect(spawnSyncQuiet('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountDir])).toBe(0)
    const storeDir = path.join(mountDir, 'data')
    let store: Store | null = null
    try {
      store = await Store.open({ dir: storeDir })
      await store.update((doc) => {
        doc.organizations.push(org('Alpha'))
      })
      const good = await fsp.readFile(path.join(storeDir, 'db.json'))
      // Fill the filesystem to the last byte.
      const filler = await fsp.open(path.join(mountDir, 'filler'), 'w')
      const chunk = Buffer.alloc(4096, 1)
      for (;;) {
        try {
          const { bytesWritten } = await filler.write(chunk)
          if (bytesWritten === 0) break
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break
          throw err
        }
      }
      await filler.close()
      const big = Array.from({ length: 50 }, (_, i) => org(`filler-${i}-${'x'.repeat(50)}`))
      const error = await store
        .update((doc) => {
          doc.organizations.push(...big)
        })
        .catch((err: unknown) => err as Error)
      expect(error?.message).toMatch(/disk is full.*could not be saved/i)
      expect(await fsp.readFile(path.join(storeDir, 'db.json'))).toEqual(good)
      await fsp.rm(path.join(mountDir, 'filler'))
      await store.update((doc) => {
        doc.organizations.push(org('Bravo'))
      })
      const saved = JSON.parse(await fsp.readFile(path.join(storeDir, 'db.json'), 'utf8'))
      // The 50 that could not be saved were not applied.
      expect(saved.organizations).toHaveLength(2)
      expect(fs.readdirSync(storeDir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    } finally {
      await store?.close()
      spawnSyncQuiet('umount', [mountDir])
      await fsp.rm(mountDir, { recursive: true, force: true })
    }
  })
})
