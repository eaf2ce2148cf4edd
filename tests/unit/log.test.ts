import { describe, expect, it } from 'vitest'
import { redact } from '../../gateway/log.ts'

describe('log redaction', () => {
  it('masks secrets given as key=value or key: value, and PEM private keys', () => {
    expect(redact('login failed password=hunter22 for admin')).toBe('login failed password=[redacted] for admin')
    expect(redact('{"token": "abc.def"}')).toBe('{"token": "[redacted]"}')
    expect(redact('Authorization: Bearer eyJhbGciOi.xyz')).toBe('Authorization: [redacted]')
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----'
    expect(redact(`key ${pem} end`)).toBe('key [redacted] end')
  })

  it('leaves ordinary sentences that merely mention a secret alone', () => {
    const sentence = 'No administrator exists yet: use the setup token to create the first one.'
    expect(redact(sentence)).toBe(sentence)
  })
})
