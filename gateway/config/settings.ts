// appsettings.json: the deployment's configuration (docs/ARCHITECTURE.md §9). Read at start; created with defaults
// when missing; overridden by environment variables in the .NET style (`Federation__AdvertisedHostname=…`).

import fs from 'node:fs'
import path from 'node:path'
import { applyEnvOverrides } from './env.ts'

export interface Settings {
  Federation: {
    /** Hostname remote TAK Servers use to reach us. Required for TAK federation. Default: '' (missing). */
    AdvertisedHostname: string
    /** Our federate id, stamped into the provenance of every event we federate. Required. Default: ''. */
    OurFederateId: string
    /** TAK federation v2 (gRPC) port. Default 9001; 0 = any free port. */
    Port: number
    /** Default '0.0.0.0'. */
    BindAddress: string
    /** Seconds a federation code stays valid. Default 86400 (24 h). */
    CodeLifetimeSeconds: number
  }
  Streaming: {
    /** Device streaming port (mutual TLS). Default 8089. */
    TlsPort: number
    BindAddress: string
    /** Largest CoT event or unframed buffer accepted from a device, in bytes. Default 1 MiB. */
    MaxEventBytes: number
    /**
     * A device connection that sends nothing (not even a ping) for this long is closed as half-open when nothing has
     * reached it from us for as long either (ATAK pings after 15 s without receiving anything, so 45 s is two of its
     * ping intervals plus slack), or what we write to it has not drained for as long. A device that keeps receiving
     * may stay silent until its next position report (180 s when stationary); it is dropped only after 10 minutes of
     * silence. Default 45.
     */
    IdleTimeoutSeconds: number
  }
  Marti: {
    /** Marti HTTPS API for devices (data packages). Default 8443. */
    Port: number
    BindAddress: string
  }
  Enrollment: {
    /**
     * Certificate enrollment API (HTTPS, HTTP Basic with a one-time password, no client certificate), where ATAK, iTAK
     * and WinTAK enroll themselves. Default 8446, the port TAK clients use; 0 = any free port.
     */
    Port: number
    BindAddress: string
  }
  Packages: {
    /** Largest data package accepted, in bytes. Default 100 MiB. */
    MaxBytes: number
    /** File extensions never federated to TAK Servers (like TAK's fileFilter). Default ['pref']. */
    BlockedExtensions: string[]
  }
  Memory: {
    /**
     * Bytes all caches that remote input grows may hold together (latest positions for replay, a TAK federate's
     * contacts); past it the oldest entries go first. Default 64 MiB.
     */
    CacheBytes: number
  }
  Console: {
    /** Web console port. Default 7080. */
    Port: number
    /** Default '127.0.0.1'. Any other address requires TLS with our server certificate. */
    BindAddress: string
    /** Seconds between two points of the Health and link charts (1 to 60; the charts keep one hour). Default 5. */
    ChartSampleSeconds: number
  }
}

export const DEFAULT_SETTINGS: Settings = {
  Federation: { AdvertisedHostname: '', OurFederateId: '', Port: 9001, BindAddress: '0.0.0.0', CodeLifetimeSeconds: 86_400 },
  Streaming: { TlsPort: 8089, BindAddress: '0.0.0.0', MaxEventBytes: 1_048_576, IdleTimeoutSeconds: 45 },
  Marti: { Port: 8443, BindAddress: '0.0.0.0' },
  Enrollment: { Port: 8446, BindAddress: '0.0.0.0' },
  Packages: { MaxBytes: 100 * 1_048_576, BlockedExtensions: ['pref'] },
  Memory: { CacheBytes: 64 * 1_048_576 },
  Console: { Port: 7080, BindAddress: '127.0.0.1', ChartSampleSeconds: 5 }
}

/** Keys that need a real value before TAK federation can be offered. */
const REQUIRED_FOR_FEDERATION = ['Federation:AdvertisedHostname', 'Federation:OurFederateId'] as const

export class SettingsError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[]
  ) {
    super(`${file} has problems:\n  - ${problems.join('\n  - ')}`)
    this.name = 'SettingsError'
  }
}

export interface LoadedSettings {
  settings: Settings
  file: string
  /** True when this start created the file with defaults. */
  created: boolean
}

/** Load appsettings.json from `dataDir` (creating it with defaults), apply `env` overrides, validate. */
export function loadSettings(dataDir: string, env: NodeJS.ProcessEnv = process.env): LoadedSettings {
  const file = path.join(dataDir, 'appsettings.json')
  let created = false
  let fromFile: unknown = {}
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dataDir, { recursive: true })
    fs.writeFileSync(file, `${JSON.stringify(DEFAULT_SETTINGS, null, 2)}\n`, { mode: 0o600 })
    created = true
  }
  const text = fs.readFileSync(file, 'utf8')
  try {
    fromFile = JSON.parse(text)
  } catch (err) {
    throw new SettingsError(file, [`it is not valid JSON (${(err as Error).message}). Fix it or delete it to get the defaults back.`])
  }
  const problems: string[] = []
  const merged = mergeSection(structuredClone(DEFAULT_SETTINGS) as unknown as Record<string, unknown>, fromFile, '', problems)
  applyEnvOverrides(merged as Record<string, Record<string, unknown>>, env, problems)
  validate(merged as unknown as Settings, problems)
  if (problems.length > 0) throw new SettingsError(file, problems)
  return { settings: merged as unknown as Settings, file, created }
}

/** Names of required keys without a real value, as `Section:Key`. */
export function missingSettings(settings: Settings): string[] {
  const missing: string[] = []
  for (const key of REQUIRED_FOR_FEDERATION) {
    const [section, name] = key.split(':') as [keyof Settings, string]
    const value = (settings[section] as unknown as Record<string, unknown>)[name]
    if (typeof value !== 'string' || value.trim() === '') missing.push(key)
  }
  return missing
}

function mergeSection(target: Record<string, unknown>, source: unknown, prefix: string, problems: string[]): Record<string, unknown> {
  if (source === null || typeof source !== 'object' || Array.isArray(source)) {
    problems.push(`${prefix || 'the file'} must be a JSON object`)
    return target
  }
  for (const [key, value] of Object.entries(source as Record<string, unknown>)) {
    const name = prefix ? `${prefix}:${key}` : key
    if (!Object.hasOwn(target, key)) {
      problems.push(`unknown setting '${name}'`)
      continue
    }
    const current = target[key]
    if (current !== null && typeof current === 'object' && !Array.isArray(current)) {
      mergeSection(current as Record<string, unknown>, value, name, problems)
    } else {
      target[key] = value
    }
  }
  return target
}

function validate(s: Settings, problems: string[]): void {
  const port = (name: string, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
      problems.push(`${name} must be a port number from 0 to 65535 (0 = any free port), not ${JSON.stringify(value)}`)
    }
  }
  const text = (name: string, value: unknown): void => {
    if (typeof value !== 'string') problems.push(`${name} must be text, not ${JSON.stringify(value)}`)
  }
  const positive = (name: string, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      problems.push(`${name} must be a positive number, not ${JSON.stringify(value)}`)
  }
  port('Federation:Port', s.Federation.Port)
  port('Streaming:TlsPort', s.Streaming.TlsPort)
  port('Marti:Port', s.Marti.Port)
  port('Enrollment:Port', s.Enrollment.Port)
  port('Console:Port', s.Console.Port)
  text('Federation:AdvertisedHostname', s.Federation.AdvertisedHostname)
  text('Federation:OurFederateId', s.Federation.OurFederateId)
  text('Federation:BindAddress', s.Federation.BindAddress)
  text('Streaming:BindAddress', s.Streaming.BindAddress)
  text('Marti:BindAddress', s.Marti.BindAddress)
  text('Enrollment:BindAddress', s.Enrollment.BindAddress)
  text('Console:BindAddress', s.Console.BindAddress)
  positive('Federation:CodeLifetimeSeconds', s.Federation.CodeLifetimeSeconds)
  positive('Streaming:MaxEventBytes', s.Streaming.MaxEventBytes)
  positive('Streaming:IdleTimeoutSeconds', s.Streaming.IdleTimeoutSeconds)
  positive('Packages:MaxBytes', s.Packages.MaxBytes)
  positive('Memory:CacheBytes', s.Memory.CacheBytes)
  if (!Number.isInteger(s.Console.ChartSampleSeconds) || s.Console.ChartSampleSeconds < 1 || s.Console.ChartSampleSeconds > 60)
    problems.push(
      `Console:ChartSampleSeconds must be a whole number of seconds from 1 to 60, not ${JSON.stringify(s.Console.ChartSampleSeconds)}`
    )
  if (!Array.isArray(s.Packages.BlockedExtensions) || !s.Packages.BlockedExtensions.every((x) => typeof x === 'string')) {
    problems.push('Packages:BlockedExtensions must be a list of file extensions')
  }
  if (
    typeof s.Federation.OurFederateId === 'string' &&
    s.Federation.OurFederateId &&
    !/^[A-Za-z0-9._:-]{1,64}$/.test(s.Federation.OurFederateId)
  ) {
    problems.push('Federation:OurFederateId may use letters, digits and . _ : - (at most 64 characters)')
  }
}
