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

const seconds = (ms: number): string => (ms === 60_000 ? 'minute' : `${ms / 1000} s`)

/**
 * One log line now, then at most one a window summing up what came after it: for what a stranger can make happen
 * as often as they like (refused connections, failed handshakes).
 */
export class SummarizedLog {
  private open = false
  private count = 0
  private last = ''

  /** @param verb what befell the ones summed up ("refused", "failed") */
  constructor(
    private readonly log: Logger,
    private readonly label: string,
    private readonly windowMs: number,
    private readonly o: { verb?: string; level?: 'info' | 'warn' } = {}
  ) {}

  note(what: string): void {
    if (!this.open) {
      this.log[this.o.level ?? 'info'](`${this.label}: ${what}`)
      this.startWindow()
      return
    }
    this.count++
    this.last = what
  }

  private startWindow(): void {
    this.open = true
    setTimeout(() => {
      this.open = false
      if (this.count === 0) return
      this.log[this.o.level ?? 'info'](
        `${this.label}: ${this.count} more ${this.o.verb ?? 'refused'} in the last ${seconds(this.windowMs)} (the last: ${this.last})`
      )
      this.count = 0
      this.startWindow()
    }, this.windowMs).unref()
  }
}

/** OpenSSL's short reason ("http request", "wrong version number") rather than its whole error string. */
export function tlsReason(err: Error & { reason?: unknown; code?: unknown }): string {
  if (typeof err.reason === 'string' && err.reason) return err.reason
  if (typeof err.code === 'string' && err.code) return err.code
  return err.message.split('\n')[0]!
}
