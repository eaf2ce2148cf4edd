// Federation codes and devices' one-time enrollment passwords: characters from an alphabet without look-alikes
// (no 0/O, 1/I/L), read out over a radio.
// Only an HMAC of a code is stored, keyed by a deployment secret that lives in pki/ with mode 0600.

import { createHmac, randomBytes, randomInt } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { writeFileDurablySync } from '../store/store.ts'

const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'
const CODE_LENGTH = 8

/** Random characters from CODE_ALPHABET: a federation code, or (longer) a device's one-time enrollment password. */
export function generateCode(length = CODE_LENGTH): string {
  let code = ''
  for (let i = 0; i < length; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]
  return code
}

/** Upper-case, without spaces or dashes; null when it cannot be a code at all. */
export function normalizeCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, '')
  if (code.length !== CODE_LENGTH) return null
  for (const ch of code) if (!CODE_ALPHABET.includes(ch)) return null
  return code
}

/** `ABCD-EFGH`, easier to read out. */
export function formatCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

export class CodeHasher {
  private constructor(private readonly key: Buffer) {}

  /** Load the secret from `<pkiDir>/federation-code.key`, creating it (mode 0600) on first use. */
  static open(pkiDir: string): CodeHasher {
    fs.mkdirSync(pkiDir, { recursive: true, mode: 0o700 })
    const file = path.join(pkiDir, 'federation-code.key')
    let key: Buffer
    try {
      key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64')
      if (key.length < 32) throw new Error('short key')
    } catch {
      key = randomBytes(32)
      writeFileDurablySync(file, `${key.toString('base64')}\n`, 0o600)
    }
    return new CodeHasher(key)
  }

  hash(normalizedCode: string): string {
    return createHmac('sha256', this.key).update(normalizedCode).digest('hex')
  }

  /** A key for another purpose (`label`), derived from the same secret: HMAC-SHA-256(secret, label). */
  derive(label: string): Buffer {
    return createHmac('sha256', this.key).update(`derive:${label}`).digest()
  }
}
