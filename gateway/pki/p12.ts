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
  if (args.keyPem === null)
    return trustedCertificatesP12(
      args.certPems.map((certPem, i) => ({ alias: i === 0 ? args.friendlyName : `${args.friendlyName}-${i}`, certPem })),
      args.password
    )
  const key = forge.pki.privateKeyFromPem(args.keyPem)
  const certs = args.certPems.map((pem) => forge.pki.certificateFromPem(pem))
  const options: Record<string, unknown> = { algorithm: '3des', generateLocalKeyId: true }
  // forge tests `'friendlyName' in options`: an undefined value crashes it, so add the key only when set.
  if (args.friendlyName) options.friendlyName = args.friendlyName
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, args.password, options)
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')
}

/**
 * Java's "trusted key usage" bag attribute (JDK PKCS12KeyStore; docs/spec/tak-facts.md §4.6). Java's keystore (keytool,
 * TAK Server's tooling) lists a certificate bag as a trusted entry only when it carries this attribute; without it
 * the CA is kept as a possible chain member with no alias and `keytool -list` shows an empty truststore.
 */
const JAVA_TRUSTED_KEY_USAGE_OID = '2.16.840.1.113894.746875.1.1'
/** The value Java's `setCertificateEntry` writes: trusted for any purpose. */
const ANY_EXTENDED_KEY_USAGE_OID = '2.5.29.37.0'

const MAC_ITERATIONS = 2048
const { asn1 } = forge
const { Class, Type } = asn1

const seq = (...items: forge.asn1.Asn1[]): forge.asn1.Asn1 => asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, items)
const set = (...items: forge.asn1.Asn1[]): forge.asn1.Asn1 => asn1.create(Class.UNIVERSAL, Type.SET, true, items)
const oid = (id: string): forge.asn1.Asn1 => asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(id).getBytes())
const octets = (bytes: string): forge.asn1.Asn1 => asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, bytes)
const explicit0 = (item: forge.asn1.Asn1): forge.asn1.Asn1 => asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [item])
const der = (item: forge.asn1.Asn1): string => asn1.toDer(item).getBytes()

/**
 * A certificates-only PKCS#12 as Java's `KeyStore.setCertificateEntry` writes it, which is what TAK Server sends and
 * what ATAK and keytool expect: one certificate bag per entry, each with its alias as friendlyName and Java's trusted
 * key usage attribute, in one unencrypted SafeContents (there is no secret in it), and a SHA-1 MAC over the lot.
 * forge's writer cannot put attributes on a bag other than the first, nor a different name on each.
 */
export function trustedCertificatesP12(entries: { alias: string; certPem: string }[], password: string): Buffer {
  const bags = entries.map(({ alias, certPem }) => {
    const certDer = der(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(certPem)))
    return seq(
      oid(forge.pki.oids.certBag!),
      explicit0(seq(oid(forge.pki.oids.x509Certificate!), explicit0(octets(certDer)))),
      set(
        seq(oid(forge.pki.oids.friendlyName!), set(asn1.create(Class.UNIVERSAL, Type.BMPSTRING, false, alias))),
        seq(oid(JAVA_TRUSTED_KEY_USAGE_OID), set(oid(ANY_EXTENDED_KEY_USAGE_OID)))
      )
    )
  })
  const data = (content: string): forge.asn1.Asn1 => seq(oid(forge.pki.oids.data!), explicit0(octets(content)))
  const authenticatedSafe = der(seq(data(der(seq(...bags)))))

  const salt = forge.random.getBytesSync(8)
  const macKey = forge.pkcs12.generateKey(password, forge.util.createBuffer(salt), 3, MAC_ITERATIONS, 20)
  const hmac = forge.hmac.create()
  hmac.start('sha1', macKey)
  hmac.update(authenticatedSafe)
  const macData = seq(
    seq(seq(oid(forge.pki.oids.sha1!), asn1.create(Class.UNIVERSAL, Type.NULL, false, '')), octets(hmac.digest().getBytes())),
    octets(salt),
    asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(MAC_ITERATIONS).getBytes())
  )
  const pfx = seq(asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(3).getBytes()), data(authenticatedSafe), macData)
  return Buffer.from(der(pfx), 'binary')
}
