// The house's boundaries as lint rules (eslint.config.js, lint/): each rule is shown to fire on a small source under
// the folder it guards, and to stay quiet on what is allowed, so a clean lint run means the boundaries hold.

import path from 'node:path'
import { ESLint } from 'eslint'
import tseslint from 'typescript-eslint'
import { beforeAll, describe, expect, it } from 'vitest'
import { GATEWAY_FLOORS } from '../../lint/floors.js'
import { floorOf } from '../../lint/plugin.js'

const root = path.resolve(import.meta.dirname, '..', '..')
let eslint: ESLint

beforeAll(() => {
  // The sources exist only in memory, so no TypeScript project holds them: lint them without type information.
  eslint = new ESLint({ cwd: root, overrideConfig: tseslint.configs.disableTypeChecked })
})

/** The rule ids that fire on `text` as if it were the file at `file` (relative to the repository). */
async function findings(file: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: path.join(root, file) })
  const fatal = result!.messages.filter((m) => !m.ruleId)
  expect(fatal.map((m) => m.message)).toEqual([])
  return result!.messages.map((m) => m.ruleId!).filter((id) => id === 'no-restricted-imports' || id.startsWith('fedgate/'))
}

describe('Electron stays in main/', () => {
  it('gateway/ and tests outside tests/unit/main may not import electron', async () => {
    expect(await findings('gateway/devices/probe.ts', "import { app } from 'electron'\nexport const a = app\n")).toEqual([
      'no-restricted-imports'
    ])
    expect(await findings('tests/unit/probe.test.ts', "import { app } from 'electron'\nexport const a = app\n")).toEqual([
      'no-restricted-imports'
    ])
  })

  it('main/ and its tests may', async () => {
    expect(await findings('main/probe.ts', "import { app } from 'electron'\nexport const a = app\n")).toEqual([])
    expect(await findings('tests/unit/main/probe.test.ts', "import { app } from 'electron'\nexport const a = app\n")).toEqual([])
  })
})

describe('the renderer is a browser page', () => {
  it('imports no Node module, no Electron and none of the gateway’s Node packages', async () => {
    for (const specifier of ['node:fs', 'fs', 'path', 'child_process', 'electron', 'lowdb', 'node-forge']) {
      const text = `import thing from '${specifier}'\nexport const a = thing\n`
      expect(await findings('renderer/src/lib/probe.ts', text), specifier).toEqual(['no-restricted-imports'])
    }
  })

  it('reaches into gateway/ only for the contract, and never into main/', async () => {
    const contract = "import { type NetworkDto, IPC_EVENT_CHANNEL } from '../../../gateway/api/contract.ts'\n"
    expect(await findings('renderer/src/lib/probe.ts', `${contract}export const a: NetworkDto | string = IPC_EVENT_CHANNEL\n`)).toEqual([])
    const store = "import { Store } from '../../../gateway/store/store.ts'\nexport const a = Store\n"
    expect(await findings('renderer/src/lib/probe.ts', store)).toEqual(['no-restricted-imports'])
    const preload = "import { API_GLOBAL } from '../../../main/preload.ts'\nexport const a = API_GLOBAL\n"
    expect(await findings('renderer/src/lib/probe.ts', preload)).toEqual(['no-restricted-imports'])
  })

  it('holds inside a .vue component too', async () => {
    const component = '<script setup lang="ts">\nimport fs from \'node:fs\'\nconst a = fs\n</script>\n<template><p>{{ a }}</p></template>\n'
    expect(await findings('renderer/src/components/Probe.vue', component)).toEqual(['no-restricted-imports'])
  })
})

describe('the gateway depends on neither renderer/ nor main/', () => {
  it('refuses both', async () => {
    expect(await findings('gateway/cot/probe.ts', "import { api } from '../../renderer/src/api.ts'\nexport const a = api\n")).toEqual([
      'no-restricted-imports'
    ])
    expect(
      await findings('gateway/cot/probe.ts', "import { desktopPaths } from '../../main/paths.ts'\nexport const a = desktopPaths\n")
    ).toEqual(['no-restricted-imports'])
  })
})

describe('the floors of gateway/', () => {
  it('refuse an import up a floor, in every form that loads the module', async () => {
    const sources = [
      "import { LocalFederations } from '../federation/local.ts'\nexport const a = LocalFederations\n",
      "export { LocalFederations } from '../federation/local.ts'\n",
      "export * from '../federation/local.ts'\n",
      "import '../federation/local.ts'\n",
      "export const load = () => import('../federation/local.ts')\n"
    ]
    for (const text of sources) expect(await findings('gateway/cot/probe.ts', text), text).toEqual(['fedgate/floors'])
  })

  it('let type-only imports go up', async () => {
    const typeOnly = [
      "import type { LocalFederations } from '../federation/local.ts'\nexport type A = LocalFederations\n",
      "import { type LocalFederations } from '../federation/local.ts'\nexport type A = LocalFederations\n",
      "export type { LocalFederations } from '../federation/local.ts'\n"
    ]
    for (const text of typeOnly) expect(await findings('gateway/cot/probe.ts', text), text).toEqual([])
    // One value among types still loads the module.
    const mixed =
      "import { type LocalFederations, computeLocalLinks } from '../federation/local.ts'\nexport const a = computeLocalLinks\nexport type B = LocalFederations\n"
    expect(await findings('gateway/cot/probe.ts', mixed)).toEqual(['fedgate/floors'])
  })

  it('resolve specifiers from the importing file, at any depth', async () => {
    // Down from a subfolder, and sideways within a floor: allowed.
    expect(
      await findings('gateway/federation/tak/probe.ts', "import { parseCot } from '../../cot/parse.ts'\nexport const a = parseCot\n")
    ).toEqual([])
    expect(
      await findings('gateway/pki/probe.ts', "import { Accounts } from '../accounts/accounts.ts'\nexport const a = Accounts\n")
    ).toEqual([])
    // './index.ts' inside devices/ is devices/index.ts, not the gateway's index.ts.
    expect(await findings('gateway/devices/probe.ts', "import { Devices } from './index.ts'\nexport const a = Devices\n")).toEqual([])
    expect(await findings('gateway/index.ts', "import { main } from './cli.ts'\nexport const a = main\n")).toEqual(['fedgate/floors'])
    expect(await findings('gateway/store/probe.ts', "import { startGateway } from '../index.ts'\nexport const a = startGateway\n")).toEqual(
      ['fedgate/floors']
    )
  })

  it('name a module that no floor holds, so a new folder gets placed', async () => {
    expect(await findings('gateway/unplaced-probe/x.ts', 'export const a = 1\n')).toEqual(['fedgate/floors'])
  })

  it('place by the longest entry that holds a module', () => {
    const floors = [['api'], ['federation'], ['federation/tak']]
    expect(floorOf(floors, 'federation/local')).toEqual({ floor: 1, entry: 'federation' })
    expect(floorOf(floors, 'federation/tak/server')).toEqual({ floor: 2, entry: 'federation/tak' })
    expect(floorOf(floors, 'federations/x')).toBeNull()
    expect(floorOf(GATEWAY_FLOORS, 'index')).toEqual({ floor: GATEWAY_FLOORS.length - 2, entry: 'index' })
  })
})
