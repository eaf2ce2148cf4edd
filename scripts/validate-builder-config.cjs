// Validates electron-builder.yml (or the file given) against electron-builder's own schema without packaging:
// `node scripts/validate-builder-config.cjs [config.yml]`. Exit 0 and "OK …", or exit 1 with the schema's complaint.
// Uses app-builder-lib's internal config module, so electron-builder stays pinned (26.17.0).

const path = require('node:path')
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config')

async function main() {
  const projectDir = path.resolve(__dirname, '..')
  const configPath = path.resolve(projectDir, process.argv[2] ?? 'electron-builder.yml')
  const config = await getConfig(projectDir, configPath, null)
  const debug = {
    isEnabled: false,
    add() {},
    addValue() {},
    save() {
      return Promise.resolve()
    }
  }
  await validateConfiguration(config, debug)
  console.log(`OK ${path.relative(projectDir, configPath)} matches the electron-builder schema`)
}

main().catch((err) => {
  console.error(`electron-builder configuration is invalid: ${err && err.message ? err.message : err}`)
  process.exit(1)
})
