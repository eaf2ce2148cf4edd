// What the Marti server is started with and who a request comes from: shared by the server (marti.ts) and the
// upload handling (marti-upload.ts), so neither imports the other's types.

import type tls from 'node:tls'
import type { Logger } from '../log.ts'
import type { ListenerPolicy } from '../net/listener-guard.ts'
import type { PackageStore } from './store.ts'

export interface DeviceIdentity {
  deviceId: string
  networkId: string
  callsign: string
}

export interface MartiServerOptions {
  port: number
  host?: string
  tls: { key: string; cert: string; ca: string | string[] }
  /** Map a verified client certificate to an enrolled, unrevoked device; null refuses the request. */
  authorize(peerCert: tls.PeerCertificate): DeviceIdentity | null
  packages: PackageStore
  /** Networks whose packages a device on `networkId` may see: its own plus those federated to it with DP-Out → DP-In. */
  visibleNetworks?(networkId: string): string[]
  /**
   * A device's `tool` call: make its package private or public. The gateway passes PackageFederation.setPrivate, so
   * the networks it was shared with follow. Default: the store's setPrivate.
   */
  setPrivate?(packageId: string, isPrivate: boolean): Promise<void>
  log?: Logger | null
  /** Caps and deadlines of the port (the gateway's policy). Default: the default limits. */
  listeners?: ListenerPolicy
  /** Text for GET /Marti/api/version. */
  version?: string
}
