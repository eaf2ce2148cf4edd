// The full method table: every area's handlers, merged. It sits above every area and is handed to dispatch()
// through Services.methods, so api/ never imports the areas.

import type { MethodTable, PartialMethodTable } from './api/dispatch.ts'
import { API_METHODS } from './api/schema/index.ts'
import { accountMethods } from './accounts/methods.ts'
import { networkMethods } from './accounts/networks.ts'
import { lifecycleMethods } from './accounts/lifecycle.ts'
import { deploymentMethods } from './deployment/views.ts'
import { mapMethods } from './deployment/map.ts'
import { localFederationMethods } from './federation/methods.ts'
import { deviceMethods } from './devices/enrollment.ts'
import { selfEnrollmentMethods } from './devices/self-enrollment.ts'
import { packageMethods } from './packages/methods.ts'
import { takFederationMethods } from './federation/tak/methods.ts'
import { federationCertificateMethods } from './federation/tak/certificate-methods.ts'
import type { Services } from './services.ts'
import type { UserRecord } from './store/schema.ts'

type Table = PartialMethodTable<Services, UserRecord>

const AREAS: Table[] = [
  accountMethods,
  networkMethods,
  lifecycleMethods,
  deploymentMethods,
  localFederationMethods,
  deviceMethods,
  selfEnrollmentMethods,
  packageMethods,
  takFederationMethods,
  mapMethods,
  federationCertificateMethods
]

export function buildMethodTable(): MethodTable<Services, UserRecord> {
  const table: Table = {}
  for (const area of AREAS) {
    for (const [name, def] of Object.entries(area)) {
      if (Object.hasOwn(table, name)) throw new Error(`Method ${name} is defined twice`)
      ;(table as Record<string, unknown>)[name] = def
    }
  }
  // Every method of the contract has a handler; one without would be a build mistake, caught at start.
  for (const name of API_METHODS) {
    if (!Object.hasOwn(table, name)) throw new Error(`Method ${name} has no handler`)
  }
  return table as MethodTable<Services, UserRecord>
}
