// The full method table: every area's handlers, merged. It sits above every area and is handed to dispatch()
// through Services.methods, so api/ never imports the areas.

import type { MethodTable, PartialMethodTable } from './api/dispatch.ts'
import { API_METHODS, type ApiMethod } from './api/schema/index.ts'
import type { MethodDef } from './api/dispatch.ts'
import { unavailable } from './api/errors.ts'
import { accountMethods } from './accounts/methods.ts'
import { networkMethods } from './accounts/networks.ts'
import { localFederationMethods } from './federation/methods.ts'
import { deviceMethods } from './devices/enrollment.ts'
import { selfEnrollmentMethods } from './devices/self-enrollment.ts'
import { packageMethods } from './packages/methods.ts'
import { takFederationMethods } from './federation/tak/methods.ts'
import type { Services } from './services.ts'
import type { UserRecord } from './store/schema.ts'

type Table = PartialMethodTable<Services, UserRecord>

const AREAS: Table[] = [accountMethods, networkMethods, localFederationMethods, deviceMethods, selfEnrollmentMethods, packageMethods, takFederationMethods]

export function buildMethodTable(extra: Table[] = []): MethodTable<Services, UserRecord> {
  const table: Table = {}
  for (const area of [...AREAS, ...extra]) {
    for (const [name, def] of Object.entries(area)) {
      if (Object.hasOwn(table, name)) throw new Error(`Method ${name} is defined twice`)
      ;(table as Record<string, unknown>)[name] = def
    }
  }
  for (const name of API_METHODS) {
    if (!Object.hasOwn(table, name)) (table as Record<string, unknown>)[name] = notBuilt(name)
  }
  return table as MethodTable<Services, UserRecord>
}

function notBuilt(name: ApiMethod): MethodDef<ApiMethod> {
  return {
    auth: 'user',
    run() {
      throw unavailable(`'${name}' is not available in this build of Fedgate.`)
    }
  }
}
