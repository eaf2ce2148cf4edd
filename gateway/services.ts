// Everything a method handler can reach, built once by startGateway(). Each area adds its service here.

import type { MethodTable } from './api/dispatch.ts'
import type { Settings } from './config/settings.ts'
import type { Store } from './store/store.ts'
import type { EventBus } from './events.ts'
import type { AuditLog } from './audit/audit.ts'
import type { Accounts } from './accounts/accounts.ts'
import type { Logger } from './log.ts'

export interface Services {
  dataDir: string
  settings: Settings
  settingsPath: string
  store: Store
  events: EventBus
  audit: AuditLog
  accounts: Accounts
  log: Logger
  methods: MethodTable
  startedAt: number
}
