// One writer per data directory: a lock file created exclusively, naming its owner by pid and, where /proc exists,
// by the process's start time, so a pid the system has since given to another program is not taken for a Fedgate.

import fs from 'node:fs'
import fsp from 'node:fs/promises'
import { randomUUID } from 'node:crypto'

export class StoreLockedError extends Error {
  constructor(
    readonly lockFile: string,
    readonly ownerPid: number
  ) {
    super(
      `Another Fedgate (process ${ownerPid}) is already using this data directory (${lockFile}). Stop it first, or use another --data directory.`
    )
    this.name = 'StoreLockedError'
  }
}

export interface DataDirLock {
  release(): Promise<void>
}

/** What the lock file says: line 1 the pid (what people and older versions read), line 2 `fedgate start=… instance=…`. */
interface LockOwner {
  pid: number
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22); null where unknown. */
  startTime: string | null
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The start time of `pid` from /proc; null without /proc (macOS, Windows) or when the process is gone. */
function processStartTime(pid: number): string | null {
  let stat: string
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return fields[19] ?? null
}

/** Whether /proc/<pid>/cmdline looks like a Node or Electron program (a Fedgate), for locks written without a start time. */
function looksLikeFedgate(pid: number): boolean | null {
  let cmdline: string
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return null
  }
  return /node|electron|fedgate/i.test(cmdline.split('\0')[0] ?? '')
}

function parseLock(text: string): LockOwner | null {
  const [first = '', second = ''] = text.split('\n')
  const pid = Number.parseInt(first, 10)
  if (!Number.isInteger(pid) || pid <= 0) return null
  const start = /\bstart=(\d+)/.exec(second)
  return { pid, startTime: start ? (start[1] as string) : null }
}

/** Whether the process the lock names is still the one that wrote it. */
function ownerLive(owner: LockOwner): boolean {
  if (!processAlive(owner.pid)) return false
  const now = processStartTime(owner.pid)
  // Without /proc the pid is all there is to go on: a live pid holds the lock, as before.
  if (now === null) return true
  if (owner.startTime !== null) return owner.startTime === now
  return looksLikeFedgate(owner.pid) ?? true
}

export async function acquireLock(lockFile: string): Promise<DataDirLock> {
  const startTime = processStartTime(process.pid)
  const content = `${process.pid}\nfedgate${startTime === null ? '' : ` start=${startTime}`} instance=${randomUUID()}\n`
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await fsp.open(lockFile, 'wx', 0o600)
      await handle.writeFile(content)
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
      const owner = parseLock(await fsp.readFile(lockFile, 'utf8').catch(() => ''))
      // Our own pid is this process holding it already, unless the lock is from an earlier process that had our pid
      // (a container restarting its entry point gets the same pid every time).
      const ours = owner?.pid === process.pid && (owner.startTime === null || startTime === null || owner.startTime === startTime)
      if (owner && (ours || (owner.pid !== process.pid && ownerLive(owner)))) throw new StoreLockedError(lockFile, owner.pid)
      // Stale lock (the owner died, its pid now belongs to another program, or the file is empty from a crash
      // mid-write): remove and retry.
      await fsp.rm(lockFile, { force: true })
    }
  }
  throw new Error(`Could not take the lock ${lockFile}`)
}
