// The server certificate (streaming, Marti, enrollment) follows the machine's addresses while Fedgate runs. A laptop
// joins another network after starting (a hotspot, a radio's LAN): its new address must be one devices can be sent
// to, and a device checks that the certificate names the address it dialed. So the addresses are checked every
// half minute and whenever the console asks which addresses devices may use; when one is missing from the
// certificate, a new one is issued (same CA, so devices and their truststores are unaffected) and the TLS servers
// take it for new connections ('serverIdentityChanged'); live connections keep theirs.

import type { Services } from '../services.ts'
import type { Pki } from './pki.ts'

const CHECK_INTERVAL_MS = 30_000

/** Key and chain every TLS server of ours presents: the server certificate with the CA behind it (TAK clients read the second certificate as the CA). */
export function serverTls(pki: Pki): { key: string; cert: string } {
  return { key: pki.server.keyPem, cert: `${pki.server.certPem.trim()}\n${pki.caCertPem.trim()}\n` }
}

const running = new WeakMap<Services, Promise<boolean>>()

/**
 * Reissues the server certificate if the advertised hostname or a machine address is not in it (or it nears its
 * end); resolves to whether it changed. Concurrent calls share one run.
 */
export function refreshServerIdentity(gw: Pick<Services, 'pki' | 'settings' | 'internal' | 'log'>): Promise<boolean> {
  const key = gw as Services
  const current = running.get(key)
  if (current) return current
  const run = (async () => {
    const before = gw.pki.server.fingerprint
    await gw.pki.ensureServerIdentity(gw.settings.Federation.AdvertisedHostname)
    if (gw.pki.server.fingerprint === before) return false
    gw.log.info('Issued a new server certificate for the addresses this machine has now; new device connections use it')
    gw.internal.emit('serverIdentityChanged')
    return true
  })().finally(() => running.delete(key))
  running.set(key, run)
  return run
}

/** Checks every half minute until stopped; a failure is logged and tried again next time. */
export function watchServerIdentity(gw: Services): () => void {
  const timer = setInterval(() => {
    refreshServerIdentity(gw).catch((err: unknown) => gw.log.warn(`could not renew the server certificate: ${(err as Error).message}`))
  }, CHECK_INTERVAL_MS)
  timer.unref()
  return () => clearInterval(timer)
}
