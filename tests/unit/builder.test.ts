// electron-builder.yml against electron-builder's own schema (scripts/validate-builder-config.cjs), plus the targets
// and resources the release needs, and proof that the validator really rejects an unknown key.

import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '..', '..')
const validator = path.join(root, 'scripts', 'validate-builder-config.cjs')
const scratchDirs: string[] = []

interface BuilderConfigModule {
  getConfig(projectDir: string, configPath: string, configFromOptions: null): Promise<unknown>
  validateConfiguration(config: unknown, debug: unknown): Promise<void>
}
const builderConfig = createRequire(import.meta.url)('app-builder-lib/out/util/config/config') as BuilderConfigModule
const quietDebug = { isEnabled: false, add() {}, addValue() {}, save: () => Promise.resolve() }

/** The same check as the script, in this process (loading app-builder-lib per case costs seconds). */
async function schemaComplaint(configPath: string): Promise<string | null> {
  try {
    await builderConfig.validateConfiguration(await builderConfig.getConfig(root, configPath, null), quietDebug)
    return null
  } catch (err) {
    return (err as Error).message
  }
}

async function validate(configPath: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [validator, configPath], { cwd: root, timeout: 30_000 })
    return { code: 0, output: stdout + stderr }
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` }
  }
}

/** A copy of the real config with extra lines, inside the project so `extends` and relative paths still resolve. */
function variant(extraLines: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-builder-'))
  scratchDirs.push(dir)
  const file = path.join(dir, 'electron-builder.yml')
  fs.writeFileSync(file, `${fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')}\n${extraLines}\n`)
  return file
}

afterAll(() => {
  for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true })
})

describe('electron-builder configuration', () => {
  it('electron-builder.yml matches the schema', async () => {
    const result = await validate('electron-builder.yml')
    expect(result.output).toContain('OK electron-builder.yml')
    expect(result.code).toBe(0)
  })

  it('the script exits non-zero with the schema complaint for an unknown key', async () => {
    const result = await validate(variant('bogusOption: true'))
    expect(result.code).not.toBe(0)
    expect(result.output).toMatch(/unknown property 'bogusOption'/)
  })

  it('the --dir smoke config (fuses off) matches the schema too', async () => {
    expect(await schemaComplaint(path.join(root, 'electron-builder.dirsmoke.yml'))).toBeNull()
  })

  it('a wrongly typed value or a misplaced key fails validation', async () => {
    expect(await schemaComplaint(variant('compression: 3'))).toMatch(/compression/)
    expect(await schemaComplaint(variant('nsis2:\n  oneClick: false'))).toMatch(/unknown property 'nsis2'/)
  })

  it('builds AppImage + deb, NSIS and dmg, and ships our .proto files as resources', () => {
    const text = fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')
    expect(text).toMatch(/^linux:\n(?:\s.*\n)*?\s+target: \[AppImage, deb\]/m)
    expect(text).toMatch(/^win:\n(?:\s.*\n)*?\s+- target: nsis/m)
    expect(text).toMatch(/^mac:\n(?:\s.*\n)*?\s+- target: dmg/m)
    expect(text).toMatch(/from: gateway\/federation\/tak\/proto\n\s+to: proto/)
    expect(fs.readdirSync(path.join(root, 'gateway', 'federation', 'tak', 'proto'))).toContain('fig.proto')
    expect(fs.existsSync(path.join(root, 'build', 'icon.png'))).toBe(true)
    // No update feed: the app runs on networks without internet.
    expect(text).toMatch(/^publish: null/m)
  })
})
