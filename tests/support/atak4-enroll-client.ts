// An ATAK-CIV 4.6 phone enrolling with TAK's v1 `signClient`, written from ATAK's source (docs/spec/tak-facts.md §4.1),
// not from our server code:
//   1. GET  /Marti/api/tls/config (Basic)                  → the name entries; CSR subject = CN=<typed user> + entries
//   2. POST /Marti/api/tls/signClient?clientUid=<uid>&version=<URL-encoded version name> (Basic), the body the CSR
//      PEM with its BEGIN/END lines removed (line breaks kept), sent as an Apache StringEntity: text/plain ISO-8859-1,
//      no Accept header
//   3. the answer is opened as a PKCS#12 with the built-in password 'atakatak'; the alias exactly 'signedCert' is
//      the device's certificate, every other alias a CA of the new truststore; no 'signedCert' → enrollment fails
//   4. GET  /Marti/api/tls/profile/enrollment?clientUid=<uid> (Basic)  → 200, 204 or 304

import forge from 'node-forge'
import { basic, enrollRequest, nameEntriesOf, opensslCsr, type EnrollTarget, type HttpAnswer } from './enroll-client.ts'

/** ATAK's `defaultTrustStorePassword` string resource (takkernel strings.xml). */
const ATAK_DEFAULT_TRUSTSTORE_PASSWORD = 'atakatak'

export interface Atak4Enrolled {
  certPem: string
  keyPem: string
  /** Every alias other than 'signedCert', with its certificate: ATAK puts each in its truststore under that alias. */
  cas: { alias: string; certPem: string }[]
  profileStatus: number
}

export class Atak4EnrollError extends Error {
  constructor(
    readonly step: string,
    readonly answer: HttpAnswer | null,
    message: string
  ) {
    super(message)
  }
}

/** The CSR as ATAK 4 posts it: PEM without its armour lines. */
export function armourless(csrPem: string): string {
  return csrPem
    .split('\n')
    .filter((line) => !line.startsWith('-----'))
    .join('\n')
}

/** Posts a v1 signing request the way ATAK 4's CertificateSigningOperation does. */
export function postSignClientV1(
  target: EnrollTarget,
  username: string,
  password: string,
  body: string,
  clientUid = 'ANDROID-atak4',
  version = '4.6.0.5 (889eee29).1650000000-CIV'
): Promise<HttpAnswer> {
  const query = `clientUid=${clientUid}&version=${encodeURIComponent(version)}`
  return enrollRequest(target, 'POST', `/Marti/api/tls/signClient?${query}`, {
    authorization: basic(username, password),
    body: Buffer.from(body, 'latin1'),
    contentType: 'text/plain; charset=ISO-8859-1'
  })
}

/** Reads the v1 answer as ATAK does: every alias of the PKCS#12, 'signedCert' apart. */
export function readV1Answer(p12: Buffer): { certPem: string | null; cas: { alias: string; certPem: string }[] } {
  const store = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(p12.toString('binary')), ATAK_DEFAULT_TRUSTSTORE_PASSWORD)
  const bags = store.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? []
  let certPem: string | null = null
  const cas: { alias: string; certPem: string }[] = []
  for (const bag of bags) {
    if (!bag.cert) continue
    // Java's keystore gives a bag without a friendlyName no alias of its own for a trusted certificate.
    const alias = bag.attributes.friendlyName?.[0]
    if (alias === undefined) continue
    const pem = forge.pki.certificateToPem(bag.cert)
    if (alias === 'signedCert') certPem = pem
    else cas.push({ alias, certPem: pem })
  }
  return { certPem, cas }
}

/** The whole ATAK 4 enrollment; throws an Atak4EnrollError naming the step that failed. */
export async function enrollLikeAtak4(
  target: EnrollTarget,
  credentials: { username: string; password: string; clientUid: string }
): Promise<Atak4Enrolled> {
  const authorization = basic(credentials.username, credentials.password)
  const failed = (step: string, answer: HttpAnswer): Atak4EnrollError =>
    new Atak4EnrollError(step, answer, `${step}: HTTP ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`)
  const config = await enrollRequest(target, 'GET', '/Marti/api/tls/config', { authorization })
  if (config.status !== 200) throw failed('tls/config', config)
  const { csrPem, keyPem } = opensslCsr([{ name: 'CN', value: credentials.username }, ...nameEntriesOf(config.body.toString('utf8'))])
  const signed = await postSignClientV1(target, credentials.username, credentials.password, armourless(csrPem), credentials.clientUid)
  if (signed.status !== 200) throw failed('tls/signClient', signed)
  const { certPem, cas } = readV1Answer(signed.body)
  if (certPem === null) throw new Atak4EnrollError('tls/signClient', signed, "tls/signClient: the answer has no 'signedCert' entry")
  const profile = await enrollRequest(target, 'GET', `/Marti/api/tls/profile/enrollment?clientUid=${credentials.clientUid}`, {
    authorization
  })
  if (![200, 204, 304].includes(profile.status)) throw failed('tls/profile/enrollment', profile)
  return { certPem, keyPem, cas, profileStatus: profile.status }
}
