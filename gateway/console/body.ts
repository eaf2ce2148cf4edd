// Request bodies of the console's HTTP API: how many bytes a call may send (decided from the method table once the
// caller is known) and a bound on the bytes all calls are reading at once; net/http.ts reads them under that bound.

import type { MethodDef } from '../api/dispatch.ts'
import type { ApiMethod } from '../api/contract.ts'
import type { Services } from '../services.ts'

/** Calls made without a session (login, setupFirstAdmin): a name, a password and a setup token fit many times over. */
export const UNAUTHENTICATED_BODY_BYTES = 16 * 1024
/** A signed-in call to a method that declares nothing larger: names, ids, toggles, a CA certificate. */
export const DEFAULT_BODY_BYTES = 64 * 1024
/**
 * Of the bytes in flight, what is kept for ordinary calls: large uploads cannot take it, so the console stays usable
 * while two data packages arrive.
 */
const ORDINARY_RESERVE_BYTES = 8 * 1_048_576

/** The largest body `method` may send: small without a session, else what its definition declares (64 KiB if nothing). */
export function bodyLimit(gw: Services, method: ApiMethod, signedIn: boolean): number {
  if (!signedIn) return UNAUTHENTICATED_BODY_BYTES
  const def = gw.methods[method] as unknown as MethodDef<ApiMethod>
  return def.maxBodyBytes?.(gw) ?? DEFAULT_BODY_BYTES
}

/**
 * Bytes that request bodies being read (and then parsed and run) may hold at once. A call reserves what it declares
 * (or its whole limit when chunked) before a byte is read, and gives it back when its response is done.
 */
export class BodyBudget {
  private inFlight = 0

  private readonly reserveBytes: number

  /** `reserveBytes` (default 8 MiB, at most a quarter of the total) is left for calls of up to 64 KiB. */
  constructor(
    private readonly totalBytes: number,
    reserveBytes = Math.min(ORDINARY_RESERVE_BYTES, totalBytes / 4)
  ) {
    this.reserveBytes = reserveBytes
  }

  /** The default for `gw`: two of the largest bodies a method accepts, plus the reserve for ordinary calls. */
  static forMethods(gw: Services): BodyBudget {
    let largest = DEFAULT_BODY_BYTES
    for (const def of Object.values(gw.methods) as MethodDef<ApiMethod>[]) largest = Math.max(largest, def.maxBodyBytes?.(gw) ?? 0)
    return new BodyBudget(2 * largest + ORDINARY_RESERVE_BYTES, ORDINARY_RESERVE_BYTES)
  }

  /** A release function, or null when the bytes are not available now. */
  reserve(bytes: number): (() => void) | null {
    const ceiling = bytes > DEFAULT_BODY_BYTES ? this.totalBytes - this.reserveBytes : this.totalBytes
    if (this.inFlight + bytes > ceiling) return null
    this.inFlight += bytes
    let released = false
    return () => {
      if (released) return
      released = true
      this.inFlight -= bytes
    }
  }

  get bytesInFlight(): number {
    return this.inFlight
  }
}

export function tooLargeMessage(maxBytes: number): string {
  const shown = maxBytes >= 1_048_576 ? `${Math.round(maxBytes / 1_048_576)} MiB` : `${Math.round(maxBytes / 1024)} KiB`
  return `The request is larger than the console accepts for this call (${shown}).`
}
