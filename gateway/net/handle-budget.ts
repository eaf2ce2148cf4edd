// The process's file handles shared out among the listening ports: each port keeps a reserve no other port can take,
// and the rest is shared, so a flood on one port cannot leave the others (or the store and the packages) without one.

import fs from 'node:fs'

/** The soft RLIMIT_NOFILE of this process (Node raises it to the hard limit at start), or null where it is not known. */
export function fileHandleLimit(): number | null {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = line ? Number(/^Max open files\s+(\S+)/.exec(line)?.[1]) : NaN
    return Number.isFinite(soft) && soft > 0 ? soft : null
  } catch {
    // Windows has no small per-process limit; macOS has no /proc: the ports' own caps are the bound there.
    return null
  }
}

/** One listening port's account with the budget. */
export interface HandleAccount {
  /** Takes a handle for a new connection; false when the port has used its reserve and the shared part is gone. */
  take(): boolean
  release(): void
  /** The port stopped listening: its reserve goes back to the others. */
  close(): void
  readonly held: number
}

interface Entry {
  weight: number
  held: number
  reserve: number
}

export class HandleBudget {
  /** Handles the listeners may use together: the limit less what the store, packages, dials and the runtime need. */
  readonly forListeners: number
  private readonly entries = new Set<Entry>()

  constructor(limit: number) {
    const headroom = Math.min(Math.floor(limit / 2), Math.max(256, Math.floor(limit / 4)))
    this.forListeners = Math.max(0, limit - headroom)
  }

  /** `weight` is the port's own total cap: reserves are half the budget, split in proportion to it. */
  open(weight: number): HandleAccount {
    const entry: Entry = { weight, held: 0, reserve: 0 }
    this.entries.add(entry)
    this.share()
    return {
      take: () => {
        if (entry.held >= entry.reserve && this.sharedInUse() >= this.shared()) return false
        entry.held++
        return true
      },
      release: () => {
        if (entry.held > 0) entry.held--
      },
      close: () => {
        this.entries.delete(entry)
        this.share()
      },
      get held() {
        return entry.held
      }
    }
  }

  private share(): void {
    let weights = 0
    for (const e of this.entries) weights += e.weight
    for (const e of this.entries) e.reserve = Math.min(e.weight, Math.floor(((this.forListeners / 2) * e.weight) / weights))
  }

  private shared(): number {
    let reserved = 0
    for (const e of this.entries) reserved += e.reserve
    return this.forListeners - reserved
  }

  private sharedInUse(): number {
    let used = 0
    for (const e of this.entries) used += Math.max(0, e.held - e.reserve)
    return used
  }
}

let processBudget: HandleBudget | null | undefined

/** The budget of this process, from its RLIMIT_NOFILE; null where the limit is not known. */
export function processHandleBudget(): HandleBudget | null {
  if (processBudget === undefined) {
    const limit = fileHandleLimit()
    processBudget = limit === null ? null : new HandleBudget(limit)
  }
  return processBudget
}
