// Where the desktop app keeps things: the one module that asks Electron for paths.

import path from 'node:path'

export interface DesktopPaths {
  /** The gateway's data directory (appsettings.json, db.json, pki/, packages/, audit.ndjson). */
  dataDir: string
  /** fedgate.log lives here. */
  logsDir: string
}

/**
 * The data lives in `<userData>/data`, apart from Chromium's own files in userData. FEDGATE_DATA overrides it,
 * e.g. to open the data directory a `fedgate serve` used (one at a time: the directory is locked).
 */
export function desktopPaths(getPath: (name: 'userData' | 'logs') => string, env: NodeJS.ProcessEnv = process.env): DesktopPaths {
  return {
    dataDir: env.FEDGATE_DATA ? path.resolve(env.FEDGATE_DATA) : path.join(getPath('userData'), 'data'),
    logsDir: getPath('logs')
  }
}
