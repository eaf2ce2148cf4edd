// When a dial fails and grpc-js says only "Failed to connect", one plain TLS connection with our identity tells why:
// a TLS alert means the remote does not trust our CA; a handshake that completes and is then cut without an alert
// means it trusts our CA but refuses our certificate (a Fedgate that has not registered us closes at once).
// With TLS 1.3 the server checks our certificate after our side already sees the handshake done, so we wait a moment.

import net from 'node:net'
import tls from 'node:tls'

/** How long a remote gets to refuse us after the handshake (TAK's Java TLS and a Fedgate refuse within milliseconds). */
const REFUSAL_WAIT_MS = 1500
/** The whole probe, connection included. */
const PROBE_DEADLINE_MS = 8000

const ALERT = /(tlsv1 alert unknown ca|sslv3 alert bad certificate|sslv3 alert certificate unknown|tlsv13 alert certificate required)/i

/** A dial failure grpc-js left without a reason we can name. */
export function unexplained(reason: string): boolean {
  return /Failed to connect|Connection dropped|ECONNRESET|socket hang up|cut by the other side/i.test(reason)
}

/** The reason said plainly (same words as client.ts describe() for an alert), or null when the probe learns nothing. */
export function probeRefusal(address: string, port: number, key: string, certChain: string): Promise<string | null> {
  return new Promise((resolve) => {
    let handshake = false
    let settled = false
    const finish = (answer: string | null): void => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      socket.destroy()
      resolve(answer)
    }
    const socket = tls.connect({
      host: address,
      port,
      key,
      cert: certChain,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      ...(net.isIP(address) ? {} : { servername: address })
    })
    const deadline = setTimeout(() => finish(null), PROBE_DEADLINE_MS)
    deadline.unref()
    socket.once('secureConnect', () => {
      handshake = true
      // Still open after the wait: the remote accepted our certificate at the TLS level; nothing to add.
      setTimeout(() => finish(null), REFUSAL_WAIT_MS).unref()
    })
    socket.on('data', () => {})
    socket.once('error', (err) => {
      const alert = ALERT.exec(err.message)
      if (alert)
        return finish(
          `The TAK Server refused our certificate (${alert[1]!.toLowerCase()}): has its admin put our CA (ca.pem, External TAK Servers tab) in its federation truststore?`
        )
      finish(handshake ? refusedAfterHandshake(address, port) : null)
    })
    socket.once('close', () => finish(handshake ? refusedAfterHandshake(address, port) : null))
  })
}

function refusedAfterHandshake(address: string, port: number): string {
  return (
    `The TAK Server at ${address}:${port} completed the TLS handshake and then closed the connection: ` +
    'it trusts our CA but does not accept our certificate (not registered there yet).'
  )
}

/**
 * Report a failed attempt: at once as grpc-js said it, then, when that names no reason and the attempt never became
 * a session (`dial` given), again with what one probe learns (unless a session is up again by then).
 */
export function reportDialFailure(
  dialer: { peerId: string; key: string; certChain: string; onError(peerId: string, message: string): void },
  reason: string,
  dial: { address: string; port: number } | null | undefined,
  stillFailing: () => boolean
): void {
  dialer.onError(dialer.peerId, reason)
  if (!dial || !unexplained(reason)) return
  void probeRefusal(dial.address, dial.port, dialer.key, dialer.certChain).then((why) => {
    if (why && stillFailing()) dialer.onError(dialer.peerId, why)
  })
}
