// How a failed save reaches the operator: as `unavailable` (their disk, not our bug), in a sentence that says
// nothing was changed, because the store rolls the change back when it cannot be written.

import { ApiError } from '../api/errors.ts'

/** Error codes meaning "no space left" on the data directory's filesystem (or the user's quota there). */
export const isDiskFull = (err: unknown): boolean => ['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException | null)?.code ?? '')

/** A change that could not be written to `file`; `diskFull` lets callers (package uploads) say so in their own words. */
export class StoreWriteError extends ApiError {
  readonly diskFull: boolean
  constructor(file: string, cause: Error) {
    const diskFull = isDiskFull(cause)
    super(
      'unavailable',
      diskFull
        ? `The data directory's disk is full, so the change could not be saved to ${file}; nothing was changed. Free some space and try again.`
        : `The change could not be saved to ${file} (${cause.message}); nothing was changed.`
    )
    this.name = 'StoreWriteError'
    this.diskFull = diskFull
  }
}

/** The operator-facing reason a write failed (for the log lines about backups and the start). */
export function describeWriteError(err: Error): string {
  if (isDiskFull(err)) return `the disk is full (${err.message}). Free some space; the previous state is still on disk`
  return err.message
}
