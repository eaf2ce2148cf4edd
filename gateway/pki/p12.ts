// PKCS#12 files for TAK clients in the legacy encoding Android ATAK reads: 3DES key bag and a SHA-1 MAC
// (spec/stack.md §5; PBES2/AES or a SHA-256 MAC break older ATAK builds).

import forge from 'node-forge'

export interface P12Args {
  /** The private key to include, or null for a truststore (certificates only). */
  keyPem: string | null
  /** Leaf first, then its chain; for a truststore just the CA. */
  certPems: string[]
  password: string
  friendlyName: string
}

export function toP12(args: P12Args): Buffer {
  const key = args.keyPem ? forge.pki.privateKeyFromPem(args.keyPem) : null
  const certs = args.certPems.map((pem) => forge.pki.certificateFromPem(pem))
  const options: Record<string, unknown> = {
    algorithm: '3des',
    // A local key id on a certificate without a key makes some keystores treat it as a key entry, not a trusted cert.
    generateLocalKeyId: key !== null
  }
  // forge tests `'friendlyName' in options`: an undefined value crashes it, so add the key only when set.
  if (args.friendlyName) options.friendlyName = args.friendlyName
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, args.password, options)
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')
}
