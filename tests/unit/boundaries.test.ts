// The layering of DESIGN §2 checked on the source: gateway/ and renderer/ never import Electron, the renderer never
// imports Node (built-ins or the gateway's Node packages), and reaches into gateway/ only for gateway/api/contract.ts.

import { builtinModules } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '..', '..')
const CONTRACT = path.join(root, 'gateway', 'api', 'contract.ts')
const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.vue', '.html']

interface ImportSite {
  file: string
  line: number
  specifier: string
  typeOnly: boolean
}

/** Every module specifier in a source text: static import/export-from, side-effect imports, import() and require(). */
export function importsOf(file: string, text: string): ImportSite[] {
  const sites: ImportSite[] = []
  const patterns = [
    /\b(import|export)\s+(type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /<script[^>]*\bsrc=['"]([^'"]+)['"]/g
  ]
  for (const [index, pattern] of patterns.entries()) {
    for (const match of text.matchAll(pattern)) {
      const specifier = index === 0 ? match[3]! : match[1]!
      const typeOnly = index === 0 && Boolean(match[2])
      const line = text.slice(0, match.index).split('\n').length
      sites.push({ file, line, specifier, typeOnly })
    }
  }
  return sites
}

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  const found: string[] = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) found.push(...sourceFiles(full))
    else if (SOURCE_EXTENSIONS.includes(path.extname(entry.name))) found.push(full)
  }
  return found
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
const packageJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
/** The production dependencies are the gateway's Node packages; the renderer's (vue, vuetify, pinia) are build-time only. */
const GATEWAY_PACKAGES = new Set(Object.keys(packageJson.dependencies ?? {}))

const packageName = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!
const isRelative = (specifier: string): boolean => specifier.startsWith('.') || specifier.startsWith('/')
const isElectron = (specifier: string): boolean => packageName(specifier) === 'electron' || specifier.startsWith('@electron/')

function resolveRelative(site: ImportSite): string {
  return path.resolve(path.dirname(site.file), site.specifier.split('?')[0]!)
}

function describeSite(site: ImportSite, why: string): string {
  return `${path.relative(root, site.file)}:${site.line} imports '${site.specifier}': ${why}`
}

/** Violations for a gateway/ file. */
export function gatewayViolations(site: ImportSite): string[] {
  const problems: string[] = []
  if (isElectron(site.specifier)) problems.push(describeSite(site, 'the gateway runs without Electron (fedgate serve)'))
  if (isRelative(site.specifier)) {
    const target = resolveRelative(site)
    for (const forbidden of ['renderer', 'main']) {
      if (target.startsWith(path.join(root, forbidden) + path.sep)) {
        problems.push(describeSite(site, `the gateway must not depend on ${forbidden}/`))
      }
    }
  }
  return problems
}

/** Violations for a renderer/ file. */
export function rendererViolations(site: ImportSite): string[] {
  const { specifier } = site
  if (isElectron(specifier)) return [describeSite(site, 'the renderer talks to window.fedgate only')]
  if (NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(packageName(specifier)) || specifier.startsWith('node:')) {
    return [describeSite(site, 'the renderer runs sandboxed in a browser: no Node modules')]
  }
  if (!isRelative(specifier) && GATEWAY_PACKAGES.has(packageName(specifier))) {
    return [describeSite(site, 'this is one of the gateway’s Node packages')]
  }
  if (isRelative(specifier)) {
    const target = resolveRelative(site)
    for (const forbidden of ['gateway', 'main']) {
      if (!target.startsWith(path.join(root, forbidden) + path.sep)) continue
      if (target === CONTRACT) return []
      return [describeSite(site, `only gateway/api/contract.ts may be imported from ${forbidden === 'gateway' ? 'gateway/' : 'main/'}`)]
    }
  }
  return []
}

function scan(area: string, check: (site: ImportSite) => string[]): string[] {
  return sourceFiles(path.join(root, area)).flatMap((file) => importsOf(file, fs.readFileSync(file, 'utf8')).flatMap(check))
}

describe('module boundaries', () => {
  it('the scanner finds the import forms we use (so an empty result means something)', () => {
    const file = path.join(root, 'renderer', 'src', 'probe.ts')
    const text = [
      "import fs from 'node:fs'",
      "import type { Foo } from '../../gateway/api/contract.ts'",
      "import { a,\n  b } from 'electron'",
      "import 'path'",
      "export { x } from '../../gateway/store/store.ts'",
      "const m = await import('lowdb')",
      "const c = require('child_process')"
    ].join('\n')
    const sites = importsOf(file, text)
    expect(sites.map((s) => s.specifier)).toEqual([
      'node:fs',
      '../../gateway/api/contract.ts',
      'electron',
      'path',
      '../../gateway/store/store.ts',
      'lowdb',
      'child_process'
    ])
    expect(sites[1]!.typeOnly).toBe(true)
    const problems = sites.flatMap(rendererViolations)
    expect(problems).toHaveLength(6)
    expect(problems.join('\n')).not.toContain("'../../gateway/api/contract.ts'")
    expect(gatewayViolations({ file: path.join(root, 'gateway', 'x.ts'), line: 1, specifier: 'electron', typeOnly: false })).toHaveLength(1)
    expect(
      gatewayViolations({ file: path.join(root, 'gateway', 'x.ts'), line: 1, specifier: '../renderer/src/api.ts', typeOnly: false })
    ).toHaveLength(1)
  })

  it('nothing under gateway/ imports electron, renderer/ or main/', () => {
    const files = sourceFiles(path.join(root, 'gateway'))
    expect(files.length).toBeGreaterThan(20)
    expect(scan('gateway', gatewayViolations)).toEqual([])
  })

  it('renderer/ imports no electron, no Node module, and nothing from gateway/ except the contract', () => {
    const files = sourceFiles(path.join(root, 'renderer'))
    expect(files.length).toBeGreaterThan(0)
    expect(scan('renderer', rendererViolations)).toEqual([])
  })

  it('the contract the renderer may import brings no gateway code: type-only imports, values only from import-free files', () => {
    // Otherwise importing a constant from it would drag gateway code into the renderer bundle. Its types come from the
    // method schemas (erased at build); its constants from a file that imports nothing.
    const sites = importsOf(CONTRACT, fs.readFileSync(CONTRACT, 'utf8'))
    const valueImports = sites.filter((site) => !site.typeOnly)
    for (const site of valueImports) {
      const target = resolveRelative(site)
      expect(importsOf(target, fs.readFileSync(target, 'utf8')), `${site.specifier} must import nothing`).toEqual([])
    }
  })
})
