// Playwright runs the built web console (dist-web/, from `npm run build:web`) in Debian Chromium against real
// `fedgate serve` processes on temp data directories; the fixture in tests/e2e/fixtures.ts starts and stops them.

import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: 'tests/e2e',
  // Measurements (*.measure.ts, e.g. the map's frame time) are not tests: they run only with FEDGATE_MEASURE=1.
  testMatch: process.env.FEDGATE_MEASURE === '1' ? ['**/*.spec.ts', '**/*.measure.ts'] : '**/*.spec.ts',
  // Two cores on CI, and every spec starts its own gateway processes.
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: '/tmp/fedgate-e2e-results',
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    acceptDownloads: true,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic'
      ]
    }
  }
})
