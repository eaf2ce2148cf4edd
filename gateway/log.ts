// A small leveled logger. Callers never pass secrets; `redact` masks anything that looks like one anyway.

export interface Logger {
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

// Each pattern with what stays of a match: key=value secrets keep their key, whole tokens and keys vanish.
const SECRET_PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[redacted]'],
  [/(password|passwd|token|secret|passphrase)(["']?\s*[:=]\s*["']?)([^\s"',}]+)/gi, '$1$2[redacted]'],
  [/Bearer\s+[A-Za-z0-9._~+/=-]+/g, '[redacted]']
]

export function redact(text: string): string {
  let out = text
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement)
  return out
}

export function createLogger(write: (line: string) => void = (line) => process.stderr.write(`${line}\n`), quiet = false): Logger {
  const emit = (level: string, message: string): void => {
    if (quiet && level === 'info') return
    write(`${new Date().toISOString()} ${level.padEnd(5)} ${redact(message)}`)
  }
  return {
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m)
  }
}
