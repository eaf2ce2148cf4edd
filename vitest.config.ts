import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  plugins: [vue()],
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/interop/**/*.test.ts', 'tests/component/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Network tests open real sockets; two workers match the two cores of the CI machine.
    pool: 'forks',
    maxWorkers: 2,
    server: { deps: { inline: ['vuetify'] } }
  }
})
