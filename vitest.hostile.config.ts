// `npm run test:hostile`: attacks on a running gateway over real loopback sockets (issue 22). They open hundreds of
// connections, send oversized or pathological input and time the gateway's answers, so they run alone, one file at a
// time, after the ordinary suite (scripts/test.mjs runs both; CI runs `npm test`).
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/hostile/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false
  }
})
