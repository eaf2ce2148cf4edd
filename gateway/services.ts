// Everything a method handler can reach, built once by startGateway(). Only what more than one area reads lives here:
// a method handler receives `gw` and nothing else, so a value two areas share (the deployment secret that hashes both
// federation codes and enrollment passwords, the streaming listener's presence that network counts read, the health
// figures every area adds to) is a field here; anything one area alone uses stays inside that area.

import type { MethodTable, PartialMethodTable } from './api/dispatch.ts'
import type { Settings } from './config/settings.ts'
import type { Store } from './store/store.ts'
import type { EventBus } from './events.ts'
import type { AuditLog } from './audit/audit.ts'
import type { Accounts } from './accounts/accounts.ts'
import type { Logger } from './log.ts'
import type { InternalEvents } from './internal.ts'
import type { HealthDto } from './api/contract.ts'
import type { CodeHasher } from './access/codes.ts'
import type { Pki } from './pki/pki.ts'
import type { Router } from './routing/router.ts'
import type { ListenerPolicy } from './net/listener-guard.ts'
import type { UserRecord } from './store/schema.ts'
import type { HistoryBook } from './deployment/history.ts'

export interface Services {
  dataDir: string
  settings: Settings
  settingsPath: string
  store: Store
  events: EventBus
  /** Notifications between areas (network deleted, device revoked, toggles changed). */
  internal: InternalEvents
  audit: AuditLog
  accounts: Accounts
  log: Logger
  methods: MethodTable<Services, UserRecord>
  startedAt: number
  /** Ports actually bound (settings may say 0 = any free port). */
  ports: { federation: number; streaming: number; marti: number; enrollment: number; console: number }
  /** Live presence of a device (set by the streaming listener once it runs). */
  presence: ((deviceId: string) => { online: boolean } | undefined) | null
  /** Current health figures; areas add theirs through `healthContributors`. */
  health(): HealthDto
  healthContributors: ((health: HealthDto) => void)[]
  /** The last hour of health and link figures, in memory (deployment/history.ts); areas add their links' sources. */
  history: HistoryBook
  /** Hashes federation codes with the deployment secret in pki/. */
  codeHasher: CodeHasher
  /** Our CA, server and federation identities, device certificates (gateway/pki). */
  pki: Pki
  /** Routes CoT between device connections, local federation links and TAK federation sessions. */
  router: Router
  /** Caps, deadlines and the file-handle budget of every listening port (net/listener-guard.ts). */
  listeners: ListenerPolicy
}

/** Identity helper so each area declares its method handlers typed against these services. */
export function defineMethods<T extends PartialMethodTable<Services, UserRecord>>(table: T): T {
  return table
}
