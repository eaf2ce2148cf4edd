// One writer per data directory: a lock file holding the owner's pid, created exclusively.
// A lock left by a process that no longer exists is taken over.

import fsp from 'node:fs/promises'

export class StoreLockedError extends Error {
  constructor(
    readonly lockFile: string,
    readonly ownerPid: number
  ) {
    super(`Another Fedgate (process ${ownerPid}) is already using this data directory (${lockFile}). Stop it first, or use another --data directory.`)
    this.name = 'StoreLockedError'
  }
}

export interface DataDirLock {
  release(): Promise<void>
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function acquireLock(lockFile: string): Promise<DataDirLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await fsp.open(lockFile, 'wx', 0o600)
      await handle.writeFile(`${process.pid}\n`)
      await handle.sync()
      await handle.close()
      let released = false
      return {
        async release() {
          if (released) return
          released = true
          await fsp.rm(lockFile, { force: true })
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const owner = Number.parseInt(await fsp.readFile(lockFile, 'utf8').catch(() => ''), 10)
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new StoreLockedError(lockFile, owner)
      }
      if (owner === process.pid) throw new StoreLockedError(lockFile, owner)
      // Stale lock (the owner died, or the file is empty from a crash mid-write): remove and retry.
      await fsp.rm(lockFile, { force: true })
    }
  }
  throw new Error(`Could not take the lock ${lockFile}`)
}
