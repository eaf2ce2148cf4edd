// The full method table: every area's methods, merged. A method whose area is not built answers `unavailable`.

import { API_METHODS, type ApiMethod } from './contract.ts'
import type { MethodDef, MethodTable, PartialMethodTable } from './dispatch.ts'
import { unavailable } from './errors.ts'
import { v } from './validate.ts'
import { accountMethods } from '../accounts/methods.ts'
import { networkMethods } from '../accounts/networks.ts'
import { localFederationMethods } from '../federation/methods.ts'
import { deviceMethods } from '../devices/enrollment.ts'
import { selfEnrollmentMethods } from '../devices/self-enrollment.ts'
import { packageMethods } from '../packages/methods.ts'
import { takFederationMethods } from '../federation/tak/methods.ts'

const AREAS: PartialMethodTable[] = [accountMethods, networkMethods, localFederationMethods, deviceMethods, selfEnrollmentMethods, packageMethods, takFederationMethods]

export function buildMethodTable(extra: PartialMethodTable[] = []): MethodTable {
  const table: PartialMethodTable = {}
  for (const area of [...AREAS, ...extra]) {
    for (const [name, def] of Object.entries(area)) {
      if (Object.hasOwn(table, name)) throw new Error(`Method ${name} is defined twice`)
      ;(table as Record<string, unknown>)[name] = def
    }
  }
  for (const name of API_METHODS) {
    if (!Object.hasOwn(table, name)) (table as Record<string, unknown>)[name] = notBuilt(name)
  }
  return table as MethodTable
}

function notBuilt(name: ApiMethod): MethodDef<ApiMethod> {
  return {
    args: { parse: (x: unknown) => x } as unknown as MethodDef<ApiMethod>['args'],
    auth: 'user',
    run() {
      throw unavailable(`'${name}' is not available in this build of Fedgate.`)
    }
  }
}

export { v }
