// What the enrollment API answers once a device's key is signed, in the two shapes TAK Server answers
// (docs/spec/tak-facts.md §4.2–4.3): v1 `signClient` (ATAK-CIV 4.x) a certificates-only PKCS#12; v2 `signClient/v2`
// (ATAK 5 through commo, iTAK, WinTAK) the certificates as base64 in JSON or XML.

import { X509Certificate } from 'node:crypto'
import { trustedCertificatesP12 } from '../pki/p12.ts'

/**
 * The password of TAK Server's v1 answer, fixed on both sides: ATAK opens the answer with its built-in
 * `defaultTrustStorePassword` and offers no way to type another (tak-facts §4.1).
 */
const V1_ANSWER_PASSWORD = 'atakatak'

/**
 * v1: `signedCert` is the device's certificate and every other alias a CA (`ca0`, `ca1`, …), as TAK writes them.
 * ATAK takes the certificate only from the alias spelled exactly `signedCert`; without it enrollment fails (and
 * custom servers that used another alias crashed ATAK, ATAK-CIV issue #279).
 */
export function signClientV1Answer(certPem: string, caChainPems: string[]): Buffer {
  return trustedCertificatesP12(
    [{ alias: 'signedCert', certPem }, ...caChainPems.map((pem, i) => ({ alias: `ca${i}`, certPem: pem }))],
    V1_ANSWER_PASSWORD
  )
}

/**
 * A certificate's DER in base64 as TAK's `Util.certToPEM(cert, false)` writes it: a line break ('\n') after every
 * 64 characters, no header, and no final line break unless the length is a multiple of 64. Clients were written
 * against that text, so we give them the same rather than one long line.
 */
export function takBase64(certPem: string): string {
  return new X509Certificate(certPem).raw.toString('base64').replace(/(.{64})/g, '$1\n')
}
