// A device enrolling itself the way ATAK and iTAK do against a TAK Server's enrollment port (spec tak-devices.md §3.3):
// HTTP Basic with the user name and one-time password, no client certificate, then
//   1. GET  /Marti/api/tls/config                       → the O/OU name entries the CSR must carry
//   2. the device makes a key and a CSR (CN = user name + those entries): here with the openssl command line
//   3. POST /Marti/api/tls/signClient/v2?clientUid&version → {signedCert, ca0, …} (JSON) or <enrollment> (XML)
//   4. GET  /Marti/api/tls/profile/enrollment?clientUid   → 200 zip or 204
// Written from the spec for tests; nothing here is shared with the gateway's side of the exchange.

import { execFileSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'

export interface EnrollTarget {
  host: string
  port: number
  /** CA the client trusts for the enrollment server's certificate (ATAK: the truststore of an enrollment package). */
  ca: string
  /** Source address on loopback (127.0.0.0/8), to stand for another phone. */
  localAddress?: string
}

export interface HttpAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`
}

/** One HTTPS request to the enrollment port; never throws on an HTTP status. */
export function enrollRequest(
  target: EnrollTarget,
  method: string,
  path: string,
  options: { authorization?: string; accept?: string; body?: string | Buffer; contentType?: string } = {}
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {}
    if (options.authorization) headers.authorization = options.authorization
    if (options.accept) headers.accept = options.accept
    if (options.contentType) headers['content-type'] = options.contentType
    const req = https.request(
      {
        host: target.host,
        port: target.port,
        method,
        path,
        ca: target.ca,
        headers,
        servername: 'localhost',
        localAddress: target.localAddress,
        agent: false
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      }
    )
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)))
    req.end(options.body)
  })
}

/** The name entries of `GET /Marti/api/tls/config` (TAK's `<nameEntry name="O" value="…"/>`), XML entities decoded. */
export function nameEntriesOf(xml: string): { name: string; value: string }[] {
  const decode = (s: string): string =>
    s.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!)
  return [...xml.matchAll(/<nameEntry\s+name="([^"]*)"\s+value="([^"]*)"\s*\/>/g)].map((m) => ({
    name: decode(m[1]!),
    value: decode(m[2]!)
  }))
}

/** A PEM CSR made by `openssl req` for `subject` entries in order (CN first), and its private key. */
export function opensslCsr(subject: { name: string; value: string }[]): { csrPem: string; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const escape = (s: string): string => s.replace(/[\\/,+=<>#;"]/g, (c) => `\\${c}`)
  const subj = subject.map((e) => `/${e.name}=${escape(e.value)}`).join('')
  return { csrPem: opensslReq(keyPem, subj), keyPem }
}

/** `openssl req -new` for a PEM key (in a private temp file: openssl cannot read a key from a pipe). */
export function opensslReq(keyPem: string, subj: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-csr-'))
  try {
    const keyFile = path.join(dir, 'device.key')
    fs.writeFileSync(keyFile, keyPem, { mode: 0o600 })
    return execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', subj, '-utf8', '-sha256']).toString()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

export interface Enrolled {
  certPem: string
  keyPem: string
  /** The CA certificates of the answer (ca0, ca1, …) as PEM. */
  caPems: string[]
  profileStatus: number
}

/** Base64 DER (possibly with line breaks) as a PEM certificate. */
export function pemOf(base64: string): string {
  const body = base64.replace(/\s+/g, '')
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`
}

/** The whole ATAK sequence; throws with the status and body of the first step that fails. */
export async function enrollLikeAtak(
  target: EnrollTarget,
  credentials: { username: string; password: string; clientUid: string },
  options: { accept?: 'application/json' | 'application/xml' } = {}
): Promise<Enrolled> {
  const authorization = basic(credentials.username, credentials.password)
  const fail = (step: string, answer: HttpAnswer): Error =>
    new Error(`${step}: HTTP ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`)
  const config = await enrollRequest(target, 'GET', '/Marti/api/tls/config', { authorization })
  if (config.status !== 200) throw fail('tls/config', config)
  const entries = nameEntriesOf(config.body.toString('utf8'))
  const { csrPem, keyPem } = opensslCsr([{ name: 'CN', value: credentials.username }, ...entries])
  const uid = encodeURIComponent(credentials.clientUid)
  const accept = options.accept ?? 'application/json'
  const signed = await enrollRequest(target, 'POST', `/Marti/api/tls/signClient/v2?clientUid=${uid}&version=4.10.0`, {
    authorization,
    accept,
    body: csrPem,
    contentType: 'text/plain'
  })
  if (signed.status !== 200) throw fail('tls/signClient/v2', signed)
  const text = signed.body.toString('utf8')
  let certBase64: string
  const caBase64: string[] = []
  if (accept === 'application/json') {
    const json = JSON.parse(text) as Record<string, string>
    certBase64 = json.signedCert!
    for (let i = 0; json[`ca${i}`]; i++) caBase64.push(json[`ca${i}`]!)
  } else {
    certBase64 = /<signedCert>([^<]+)<\/signedCert>/.exec(text)![1]!
    for (const m of text.matchAll(/<ca>([^<]+)<\/ca>/g)) caBase64.push(m[1]!)
  }
  const profile = await enrollRequest(target, 'GET', `/Marti/api/tls/profile/enrollment?clientUid=${uid}`, { authorization })
  if (![200, 204, 304].includes(profile.status)) throw fail('tls/profile/enrollment', profile)
  return { certPem: pemOf(certBase64), keyPem, caPems: caBase64.map(pemOf), profileStatus: profile.status }
}
