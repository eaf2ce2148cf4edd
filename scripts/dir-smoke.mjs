// Offline packaging smoke: writes a placeholder Electron into build/electron-dist and runs
// `electron-builder --linux --dir --config electron-builder.dirsmoke.yml`, proving the files/extraResources globs and
// the production dependency set without downloading anything. Needs `npm run build` first.
// Run: node scripts/dir-smoke.mjs

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.join(root, 'build', 'electron-dist')
const electronVersion = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version

if (!fs.existsSync(path.join(root, 'out', 'main', 'index.js'))) {
  console.error('Build first: npm run build')
  process.exit(1)
}
fs.mkdirSync(path.join(dist, 'locales'), { recursive: true })
fs.writeFileSync(path.join(dist, 'electron'), '#!/bin/sh\necho "placeholder Electron for the packaging smoke"\n', { mode: 0o755 })
fs.writeFileSync(path.join(dist, 'version'), electronVersion)
fs.writeFileSync(path.join(dist, 'LICENSE'), 'placeholder\n')
fs.writeFileSync(path.join(dist, 'locales', 'en-US.pak'), '')

const result = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules', 'electron-builder', 'cli.js'), '--linux', '--dir', '--config', 'electron-builder.dirsmoke.yml'],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }
  }
)
if (result.status !== 0) process.exit(result.status ?? 1)
// The package must carry the app and the .proto files the gateway loads at run time.
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version
const resources = path.join(root, 'release', version, 'linux-unpacked', 'resources')
const missing = ['app.asar', 'proto/fig.proto', 'proto/binarypayload.proto', 'proto/takmessage.proto'].filter(
  (f) => !fs.existsSync(path.join(resources, f))
)
if (missing.length > 0) {
  console.error(`The --dir package lacks: ${missing.join(', ')} (under ${resources})`)
  process.exit(1)
}
console.log(`Packaging smoke: ${resources} holds app.asar and the .proto files`)
