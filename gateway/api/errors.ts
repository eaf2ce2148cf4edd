// The one error type the contract carries: a code for machines and a sentence for the operator.

import type { ErrorCode } from './vocabulary.ts'

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export const invalid = (message: string): ApiError => new ApiError('invalid', message)
export const notFound = (message: string): ApiError => new ApiError('not_found', message)
export const forbidden = (message = 'You do not have permission to do that.'): ApiError => new ApiError('forbidden', message)
export const conflict = (message: string): ApiError => new ApiError('conflict', message)
export const planLimit = (message: string): ApiError => new ApiError('plan_limit', message)
export const rateLimited = (message: string): ApiError => new ApiError('rate_limited', message)
export const unavailable = (message: string): ApiError => new ApiError('unavailable', message)

/** HTTP status for each code (the web console transport). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  unauthenticated: 401,
  forbidden: 403,
  invalid: 400,
  not_found: 404,
  conflict: 409,
  plan_limit: 402,
  rate_limited: 429,
  unavailable: 503,
  internal: 500
}
