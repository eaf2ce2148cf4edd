// appsettings.json: defaults written on first start, .NET-style environment overrides, validation that names
// the problem for the operator, and the list of missing required keys.

import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS, loadSettings, missingSettings, SettingsError } from '../../../gateway/config/settings.ts'

let dir: string
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fedgate-config-'))
})
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true })
})

const file = (): string => path.join(dir, 'appsettings.json')
const write = (value: unknown): void => fs.writeFileSync(file(), typeof value === 'string' ? value : JSON.stringify(value))

function problemsOf(fn: () => unknown): string[] {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsError)
    expect((err as SettingsError).file).toBe(file())
    return (err as SettingsError).problems
  }
  throw new Error('expected a SettingsError')
}

describe('loadSettings', () => {
  it('creates appsettings.json with the defaults on an empty (even missing) data directory', () => {
    const dataDir = path.join(dir, 'new', 'data')
    const loaded = loadSettings(dataDir, {})
    expect(loaded.created).toBe(true)
    expect(loaded.settings).toEqual(DEFAULT_SETTINGS)
    const written = path.join(dataDir, 'appsettings.json')
    expect(JSON.parse(fs.readFileSync(written, 'utf8'))).toEqual(DEFAULT_SETTINGS)
    expect(fs.statSync(written).mode & 0o777).toBe(0o600)
    // The second start reads the file it wrote.
    expect(loadSettings(dataDir, {}).created).toBe(false)
  })

  it('merges a partial file over the defaults', () => {
    write({ Federation: { AdvertisedHostname: 'tak.example.com', Port: 9101 } })
    const { settings } = loadSettings(dir, {})
    expect(settings.Federation).toEqual({ ...DEFAULT_SETTINGS.Federation, AdvertisedHostname: 'tak.example.com', Port: 9101 })
    expect(settings.Console).toEqual(DEFAULT_SETTINGS.Console)
  })

  it('applies environment overrides in the .NET style, over the file', () => {
    write({ Federation: { AdvertisedHostname: 'from-file.example.com' } })
    const { settings } = loadSettings(dir, {
      Federation__AdvertisedHostname: 'from-env.example.com',
      Federation__OurFederateId: 'fedgate-01',
      Streaming__TlsPort: '18089',
      Console__Port: '0',
      Packages__BlockedExtensions: 'pref, exe ,',
      UNRELATED: 'x'
    })
    expect(settings.Federation.AdvertisedHostname).toBe('from-env.example.com')
    expect(settings.Federation.OurFederateId).toBe('fedgate-01')
    expect(settings.Streaming.TlsPort).toBe(18089)
    expect(settings.Console.Port).toBe(0)
    expect(settings.Packages.BlockedExtensions).toEqual(['pref', 'exe'])
    // Overrides are not written back to the file.
    expect(JSON.parse(fs.readFileSync(file(), 'utf8')).Federation.AdvertisedHostname).toBe('from-file.example.com')
  })

  it('names a bad number from the environment', () => {
    loadSettings(dir, {})
    expect(problemsOf(() => loadSettings(dir, { Marti__Port: 'eighty' }))).toEqual([`environment Marti__Port='eighty' is not a number`])
    expect(problemsOf(() => loadSettings(dir, { Streaming__TlsPort: ' ' }))[0]).toMatch(/Streaming__TlsPort/)
    expect(problemsOf(() => loadSettings(dir, { Console__Port: '70000' }))[0]).toMatch(/Console:Port must be a port number from 0 to 65535/)
  })

  it('reports unknown keys and wrong types, all at once', () => {
    write({ Federation: { AdvertisedHostname: 5, Prot: 9001 }, Streaming: 'fast', Extra: {}, Marti: { Port: -1 } })
    const problems = problemsOf(() => loadSettings(dir, {}))
    expect(problems).toEqual(
      expect.arrayContaining([
        "unknown setting 'Federation:Prot'",
        "unknown setting 'Extra'",
        'Streaming must be a JSON object',
        'Federation:AdvertisedHostname must be text, not 5',
        'Marti:Port must be a port number from 0 to 65535 (0 = any free port), not -1'
      ])
    )
    expect(problems).toHaveLength(5)
  })

  it('does not let __proto__ in the file reach Object.prototype', () => {
    write('{"__proto__": {"polluted": true}, "Federation": {"__proto__": {"polluted": true}}}')
    const problems = problemsOf(() => loadSettings(dir, {}))
    expect(problems).toEqual(["unknown setting '__proto__'", "unknown setting 'Federation:__proto__'"])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('explains a file that is not JSON, with the way out', () => {
    write('{ "Federation": { "Port": 9001, } ')
    const problems = problemsOf(() => loadSettings(dir, {}))
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^it is not valid JSON \(.+\)\. Fix it or delete it to get the defaults back\.$/)
    expect(problemsOf(() => loadSettings(dir, {}))).toEqual(problems)
    try {
      loadSettings(dir, {})
    } catch (err) {
      expect((err as Error).message).toContain(`${file()} has problems:`)
    }
  })

  it('takes the chart sample period in whole seconds from 1 to 60 only', () => {
    loadSettings(dir, {})
    expect(loadSettings(dir, { Console__ChartSampleSeconds: '1' }).settings.Console.ChartSampleSeconds).toBe(1)
    for (const bad of ['0', '61', '2.5']) {
      expect(problemsOf(() => loadSettings(dir, { Console__ChartSampleSeconds: bad }))[0]).toMatch(
        /^Console:ChartSampleSeconds must be a whole number/
      )
    }
  })

  it('refuses an unknown key of one of our sections, naming the close match, and ignores variables not ours', () => {
    loadSettings(dir, {})
    expect(problemsOf(() => loadSettings(dir, { Federation__Hostname: 'tak.example.com' }))).toEqual([
      'Federation__Hostname is not a setting; did you mean Federation__AdvertisedHostname?'
    ])
    expect(problemsOf(() => loadSettings(dir, { Streaming__Port: '8089', Marti__Prot: '8443' }))).toEqual([
      'Streaming__Port is not a setting; did you mean Streaming__TlsPort?',
      'Marti__Prot is not a setting; did you mean Marti__Port?'
    ])
    expect(problemsOf(() => loadSettings(dir, { Console__Colour: 'blue' }))).toEqual([
      'Console__Colour is not a setting; Console has Console__Port, Console__BindAddress, Console__ChartSampleSeconds'
    ])
    expect(problemsOf(() => loadSettings(dir, { Federation____proto__: 'x' }))[0]).toMatch(/^Federation____proto__ is not a setting/)
    // Not a Section of ours: someone else's variable.
    const { settings } = loadSettings(dir, { Logging__LogLevel: 'Debug', FEDGATE_DATA: '/x', npm_config__cache: '/y', __CF: '1' })
    expect(settings).toEqual(DEFAULT_SETTINGS)
  })

  it('matches names without regard to case, as .NET does, and refuses two spellings of one setting', () => {
    loadSettings(dir, {})
    expect(loadSettings(dir, { FEDERATION__PORT: '9101', console__bindaddress: '0.0.0.0' }).settings).toMatchObject({
      Federation: { Port: 9101 },
      Console: { BindAddress: '0.0.0.0' }
    })
    expect(problemsOf(() => loadSettings(dir, { Federation__Port: '9101', FEDERATION__PORT: '9102' }))).toEqual([
      'Federation__Port and FEDERATION__PORT both set Federation:Port; keep one of them'
    ])
  })

  it('checks the federate id format', () => {
    expect(problemsOf(() => loadSettings(dir, { Federation__OurFederateId: 'has spaces' }))).toEqual([
      'Federation:OurFederateId may use letters, digits and . _ : - (at most 64 characters)'
    ])
  })
})

describe('missingSettings', () => {
  it('names both required keys on the defaults', () => {
    expect(missingSettings(loadSettings(dir, {}).settings)).toEqual(['Federation:AdvertisedHostname', 'Federation:OurFederateId'])
  })

  it('treats blanks as missing and drops keys once they have values', () => {
    const blank = loadSettings(dir, { Federation__AdvertisedHostname: '   ', Federation__OurFederateId: 'fg-1' }).settings
    expect(missingSettings(blank)).toEqual(['Federation:AdvertisedHostname'])
    const full = loadSettings(dir, { Federation__AdvertisedHostname: 'tak.example.com', Federation__OurFederateId: 'fg-1' }).settings
    expect(missingSettings(full)).toEqual([])
  })
})
