// What `fedgate serve` tells the operator at start: every listening port with the setting that chooses it, the
// setup token in a block of its own, and, when a port is taken, which setting to change.

import { missingSettings, type Settings } from './config/settings.ts'
import type { Services } from './services.ts'

type PortName = keyof Services['ports']

interface Listener {
  port: PortName
  label: string
  /** `Section:Key` of the port setting; the bind address is `Section:BindAddress`. */
  setting: `${keyof Settings}:${string}`
}

/** Every port Fedgate listens on, in the order an operator checks them (devices first, then peers). */
const LISTENERS: readonly Listener[] = [
  { port: 'console', label: 'Web console', setting: 'Console:Port' },
  { port: 'streaming', label: 'Device streaming (TLS)', setting: 'Streaming:TlsPort' },
  { port: 'enrollment', label: 'Device enrollment (HTTPS)', setting: 'Enrollment:Port' },
  { port: 'marti', label: 'Data packages, Marti API (HTTPS)', setting: 'Marti:Port' },
  { port: 'federation', label: 'TAK federation (gRPC over TLS)', setting: 'Federation:Port' }
]

function settingValue(settings: Settings, setting: string): unknown {
  const [section, key] = setting.split(':') as [keyof Settings, string]
  return (settings[section] as unknown as Record<string, unknown>)[key]
}

function bindAddress(settings: Settings, listener: Listener): string {
  return String(settingValue(settings, `${listener.setting.split(':')[0]}:BindAddress`))
}

/** The lines listing what listens where; `consoleHost` is the console's address (--host may override the setting). */
export function listeningReport(services: Services, consoleHost: string): string[] {
  const rows = LISTENERS.map((listener) => {
    const port = services.ports[listener.port]
    const host = listener.port === 'console' ? consoleHost : bindAddress(services.settings, listener)
    // The federation listener is the one that may be off: it needs a hostname and federate id to present.
    const where =
      listener.port === 'federation' && missingSettings(services.settings).length > 0
        ? `off until ${missingSettings(services.settings).join(' and ')} are set`
        : `${host.includes(':') ? `[${host}]` : host}:${port}`
    return { label: listener.label, where, setting: listener.setting }
  })
  const labelWidth = Math.max(...rows.map((r) => r.label.length))
  const settingWidth = Math.max(...rows.map((r) => r.setting.length))
  return ['Listening:', ...rows.map((r) => `  ${r.label.padEnd(labelWidth)}  ${r.setting.padEnd(settingWidth)}  ${r.where}`)]
}

/** The setup token framed on its own, so it is not lost among log lines; the token ends its line (scripts read it). */
export function setupTokenBlock(token: string, consoleUrl: string): string[] {
  const lines = [
    'No administrator exists yet. Open the console and create the first one with this one-time token:',
    `  ${consoleUrl}`,
    '',
    `  Setup token: ${token}`
  ]
  const rule = '='.repeat(Math.max(...lines.map((l) => l.length)))
  return ['', rule, ...lines, rule]
}

/** A listen error (EADDRINUSE) as thrown by a listener, possibly wrapped in an error that names its area. */
export function addressInUse(err: unknown): { port: number; address: string } | null {
  let e = err as (NodeJS.ErrnoException & { port?: unknown; address?: unknown }) | undefined
  // A few levels at most: a cause chain is short, and one that loops must not hang the failure path.
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    if (e.code === 'EADDRINUSE' && typeof e.port === 'number') return { port: e.port, address: String(e.address ?? '') }
    e = e.cause as typeof e
  }
  return null
}

/**
 * One sentence for a port already taken, naming the setting that chose it (by its value: the listener that failed
 * is not otherwise known here), or null when no setting holds that port.
 */
export function portInUseSentence(inUse: { port: number; address: string }, settings: Settings, settingsFile: string): string | null {
  const settingsOfPort = LISTENERS.map((l) => l.setting).filter((s) => settingValue(settings, s) === inUse.port)
  if (settingsOfPort.length === 0) return null
  const [first] = settingsOfPort as [string, ...string[]]
  const where = `port ${inUse.port}${inUse.address ? ` on ${inUse.address}` : ''}`
  if (settingsOfPort.length > 1) {
    return `${where} is already in use: ${settingsOfPort.join(' and ')} are ${settingsOfPort.length === 2 ? 'both' : 'all'} ${inUse.port}; give each its own port in ${settingsFile}.`
  }
  return `${where} is already in use (${first}); stop what uses it or set another ${first} in ${settingsFile} (or ${first.replace(':', '__')} in the environment).`
}
