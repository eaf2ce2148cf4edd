// The test emulations' own loader of their own fig.proto (tests/support/proto/): the TAK side of a test never goes
// through gateway/federation/tak/proto.ts, so a wrong field or path in the product shows up as a failure.

import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'proto')

export interface TakFigService {
  definition: grpc.ServiceDefinition
  Client: grpc.ServiceClientConstructor
}

let loaded: TakFigService | null = null

/** TAK's service `com.atakmap.FederatedChannel`, messages as plain objects (enums as names, int64 as numbers). */
export function loadTakFig(): TakFigService {
  if (loaded) return loaded
  const definition = protoLoader.loadSync('fig.proto', {
    includeDirs: [DIR],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true
  })
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { com: { atakmap: { FederatedChannel: grpc.ServiceClientConstructor } } }
  const Client = pkg.com.atakmap.FederatedChannel
  loaded = { definition: Client.service, Client }
  return loaded
}
