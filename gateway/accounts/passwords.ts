// Password hashing with scrypt (memory-hard, in node:crypto). Stored as `scrypt$N$r$p$salt$hash`, base64 parts.

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

const N = 16384
const R = 8
const P = 1
const KEY_LENGTH = 32

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key)
    )
  })
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, N, R, P)
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  const salt = Buffer.from(parts[4]!, 'base64')
  const expected = Buffer.from(parts[5]!, 'base64')
  if (!n || !r || !p || expected.length !== KEY_LENGTH) return false
  const actual = await derive(password, salt, n, r, p)
  return timingSafeEqual(actual, expected)
}

/** A password policy an operator can meet in the field: long enough, not a single repeated character. */
export function passwordProblem(password: string): string | null {
  if (password.length < 8) return 'The password must be at least 8 characters.'
  if (password.length > 256) return 'The password must be at most 256 characters.'
  if (/^(.)\1*$/.test(password)) return 'The password must not be a single repeated character.'
  return null
}
