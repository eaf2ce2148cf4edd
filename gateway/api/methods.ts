// The full method table: every area's methods, merged; a method of the contract without a handler stops the start.

import { API_METHODS } from './contract.ts'
import type { MethodTable, PartialMethodTable } from './dispatch.ts'
import { v } from './validate.ts'
import { accountMethods } from '../accounts/methods.ts'
import { networkMethods } from '../accounts/networks.ts'
import { deploymentMethods } from '../deployment/views.ts'
import { localFederationMethods } from '../federation/methods.ts'
import { deviceMethods } from '../devices/enrollment.ts'
import { selfEnrollmentMethods } from '../devices/self-enrollment.ts'
import { packageMethods } from '../packages/methods.ts'
import { takFederationMethods } from '../federation/tak/methods.ts'

const AREAS: PartialMethodTable[] = [accountMethods, networkMethods, deploymentMethods, localFederationMethods, deviceMethods, selfEnrollmentMethods, packageMethods, takFederationMethods]

export function buildMethodTable(): MethodTable {
  const table: PartialMethodTable = {}
  for (const area of AREAS) {
    for (const [name, def] of Object.entries(area)) {
      if (Object.hasOwn(table, name)) throw new Error(`Method ${name} is defined twice`)
      ;(table as Record<string, unknown>)[name] = def
    }
  }
  for (const name of API_METHODS) {
    if (!Object.hasOwn(table, name)) throw new Error(`Method ${name} has no handler`)
  }
  return table as MethodTable
}

export { v }
