#!/usr/bin/env node
// `npm test`: every check the project has, in order — typecheck, lint (ESLint + Prettier), unit/interop/component
// tests (vitest), the attacks of tests/hostile (vitest, alone), the web build, E2E in Chromium (Playwright), and the
// packaging checks — continuing after a failure so one run reports everything. Ends with one plain line
// `N passed, N failed` (counted from the runners' JSON reports) and a non-zero exit code when anything failed.
// CI (.ci/run) runs exactly this.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const reports = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-test-'))
const results = []

function step(key, title, command, args, env = {}) {
  console.log(`\n== ${title}`)
  const started = Date.now()
  const run = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  const ok = run.status === 0
  console.log(ok ? `== ${title}: ok (${seconds} s)` : `!! ${title} failed (exit ${run.status ?? run.signal}, ${seconds} s)`)
  results.push({ key, ok })
  return ok
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return null
  }
}

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx'
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

step('typecheck', 'typecheck (node + web)', npm, ['run', '--silent', 'typecheck'])
step('lint', 'lint (ESLint + Prettier)', npm, ['run', '--silent', 'lint'])
step('vitest', 'unit, interop and component tests (vitest)', npx, [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${path.join(reports, 'vitest.json')}`
])
step('hostile', 'attacks on a running gateway (vitest, tests/hostile)', npx, [
  'vitest',
  'run',
  '--config',
  'vitest.hostile.config.ts',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${path.join(reports, 'hostile.json')}`
])
const built = step('build', 'web console build', npm, ['run', '--silent', 'build:web'])
if (built) {
  step('playwright', 'E2E in Chromium (Playwright)', npx, ['playwright', 'test', '--reporter=list,json'], {
    PLAYWRIGHT_JSON_OUTPUT_NAME: path.join(reports, 'playwright.json')
  })
} else {
  results.push({ key: 'playwright', ok: false })
}
step('builder', 'packaging config against electron-builder’s schema', npm, ['run', '--silent', 'check:builder'])
// Without the Electron binary: build main/preload/renderer, then a --dir package around a placeholder Electron.
if (step('electron-build', 'desktop build (electron-vite)', npx, ['electron-vite', 'build'])) {
  step('package', 'packaging --dir smoke (placeholder Electron)', process.execPath, ['scripts/dir-smoke.mjs'])
} else {
  results.push({ key: 'package', ok: false })
}

let passed = 0
let failed = 0
const stepOk = Object.fromEntries(results.map((r) => [r.key, r.ok]))
// A runner that failed without reporting a failed test (crash, import error, no report) still counts once.
for (const key of ['vitest', 'hostile']) {
  const report = readJson(path.join(reports, `${key}.json`))
  const reportFailed = report?.numFailedTests ?? 0
  passed += report?.numPassedTests ?? 0
  failed += reportFailed + (!stepOk[key] && reportFailed === 0 ? 1 : 0)
}
const stats = readJson(path.join(reports, 'playwright.json'))?.stats
const playwrightFailed = stats?.unexpected ?? 0
passed += stats ? (stats.expected ?? 0) + (stats.flaky ?? 0) : 0
failed += playwrightFailed + (!stepOk.playwright && playwrightFailed === 0 ? 1 : 0)
// Checks that are not test suites count one each.
for (const key of ['typecheck', 'lint', 'build', 'builder', 'electron-build', 'package']) {
  if (stepOk[key]) passed += 1
  else failed += 1
}
fs.rmSync(reports, { recursive: true, force: true })
console.log(`\n${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
