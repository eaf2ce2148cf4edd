// Test helpers for device traffic: ATAK-like CoT events, and a device identity taken the way a phone gets it —
// from the connection package that `enrollDevice` returns (the .p12 files, opened with their one-time passwords).

import TAK, { CoT } from '@tak-ps/node-tak'
import https from 'node:https'
import type { TestGateway } from './gateway.ts'
import { pemFromP12, unzipEntries } from './pki.ts'

export interface EnrolledIdentity {
  deviceId: string
  callsign: string
  cert: string
  key: string
  /** The CA from the package's truststore. */
  ca: string
}

/** What `enrollDevice` answers, as far as a phone needs it. */
export interface EnrollAnswer {
  device: { id: string }
  packageBase64: string
  clientPassword: string
  truststorePassword: string
}

/** Enroll `callsign` on `networkId` and read its certificate, key and CA out of the ATAK connection package. */
export async function enrollIdentity(t: TestGateway, token: string, networkId: string, callsign: string): Promise<EnrolledIdentity> {
  return identityFromEnrollment(callsign, await t.ok('enrollDevice', { networkId, callsign }, token))
}

/** A device identity read from an `enrollDevice` answer (however it was called: in process or over HTTP). */
export async function identityFromEnrollment(callsign: string, enrolled: EnrollAnswer): Promise<EnrolledIdentity> {
  const entries = await unzipEntries(Buffer.from(enrolled.packageBase64, 'base64'))
  const names = [...entries.keys()]
  const clientName = names.find((n) => n.endsWith('.p12') && !n.includes('truststore'))
  const trustName = names.find((n) => n.endsWith('.p12') && n.includes('truststore'))
  if (!clientName || !trustName) throw new Error(`the connection package lacks its .p12 files: ${names.join(', ')}`)
  const client = await pemFromP12(entries.get(clientName)!, enrolled.clientPassword)
  const trust = await pemFromP12(entries.get(trustName)!, enrolled.truststorePassword)
  return { deviceId: enrolled.device.id, callsign, cert: client.certPems[0]!, key: client.keyPem!, ca: trust.certPems.join('\n') }
}

/** A position report (PLI) as ATAK sends it through a server. */
export function pli(
  uid: string,
  callsign: string,
  point: { lat: number; lon: number } = { lat: 34.1, lon: -117.2 },
  remarks?: string
): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 120_000)
  return (
    `<event version="2.0" uid="${uid}" type="a-f-G-U-C" how="m-g" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="${point.lat}" lon="${point.lon}" hae="20" ce="9.9" le="9999999"/>` +
    `<detail><contact callsign="${callsign}" endpoint="*:-1:stcp"/><__group name="Cyan" role="Team Member"/>` +
    `${remarks === undefined ? '' : `<remarks>${remarks}</remarks>`}</detail></event>`
  )
}

/** A GeoChat-style direct message to `callsign` (`<marti><dest callsign>`). */
export function directMessage(uid: string, callsign: string, text = 'meet at the ridge'): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 60_000)
  return (
    `<event version="2.0" uid="${uid}" type="b-t-f" how="h-g-i-g-o" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/>` +
    `<detail><__chat chatroom="${callsign}"/><remarks>${text}</remarks><marti><dest callsign="${callsign}"/></marti></detail></event>`
  )
}

/**
 * ATAK's "send via server" announcement (b-f-t-r) of package `hash` from ALPHA-1, as ATAK writes it: senderUrl names
 * the address the phone used (the gateway rewrites it per receiver). `to`: a `<marti><dest callsign>` for one contact.
 */
let fileshareCount = 0
export function fileshareEvent(hash: string, size: number, options: { name?: string; to?: string; ackTag?: string } = {}): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 100_000)
  const name = options.name ?? 'p'
  return (
    `<event version="2.0" uid="fs-${hash.slice(0, 12)}-${++fileshareCount}" type="b-f-t-r" how="h-e" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="0" lon="0" hae="9999999" ce="9999999" le="9999999"/><detail>` +
    `<fileshare filename="${name}.zip" senderUrl="https://10.9.8.7:8443/Marti/sync/content?hash=${hash}" sizeInBytes="${size}" ` +
    `sha256="${hash}" senderUid="ANDROID-alpha-1" senderCallsign="ALPHA-1" name="${name}"/>` +
    (options.to === undefined ? '' : `<marti><dest callsign="${options.to}"/></marti>`) +
    (options.ackTag === undefined ? '' : `<ackrequest uid="ack-1" ackrequested="true" tag="${options.ackTag}"/>`) +
    `</detail></event>`
  )
}

export async function until(check: () => boolean, timeoutMs = 5000, what = 'a condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** GET on the Marti API (port `port` on 127.0.0.1) with a device's certificate, as a phone fetches a data package. */
export function martiGet(
  port: number,
  pathAndQuery: string,
  device: { cert: string; key: string; ca: string }
): Promise<{ status: number; body: Buffer }> {
  return martiRequest(port, pathAndQuery, device)
}

/** GET, or POST when a body is given (a raw zip, as iTAK uploads), on the Marti API with a device's certificate. */
export function martiRequest(
  port: number,
  pathAndQuery: string,
  device: { cert: string; key: string; ca: string },
  body?: Buffer
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: pathAndQuery,
        ...(body ? { method: 'POST', headers: { 'content-type': 'application/zip', 'content-length': body.length } } : {}),
        ca: device.ca,
        cert: device.cert,
        key: device.key,
        servername: 'localhost',
        agent: false
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      }
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** A phone on the streaming port as @tak-ps/node-tak connects it, and the uids of the events it has received. */
export interface TakPhone {
  tak: TAK
  seen: string[]
}

/** Connects with node-tak (mutual TLS, our CA trusted) and waits for the pong to its first ping: then it is attached. */
export async function connectNodeTak(streamingPort: number, identity: { cert: string; key: string; ca: string }): Promise<TakPhone> {
  const tak = await TAK.connect(new URL(`ssl://127.0.0.1:${streamingPort}`), {
    cert: identity.cert,
    key: identity.key,
    ca: identity.ca,
    rejectUnauthorized: true
  })
  tak.on('error', () => {})
  const seen: string[] = []
  tak.on('cot', (cot: CoT) => seen.push((cot.raw as { event: { _attributes: { uid: string } } }).event._attributes.uid))
  await new Promise<void>((resolve) => tak.once('ping', () => resolve()))
  return { tak, seen }
}
