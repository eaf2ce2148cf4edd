// Connection data packages that put a device on our streaming port: the ATAK/WinTAK mission package, the iTAK
// flat zip and the iTAK QR text (spec/tak-devices.md §3); for devices that enroll themselves, the truststore-only
// ATAK package and the enrollment QR texts. Pure: certificates in, zip bytes and fresh passwords out.

import { randomInt, randomUUID } from 'node:crypto'
import QRCode from 'qrcode'
import yazl from 'yazl'
import { attributes, buildXml, xmlDeclaration, type XmlNode } from '../cot/xml-doc.ts'
import { toP12 } from '../pki/p12.ts'

export interface ConnectionPackageArgs {
  /** Unique per deployment; goes into file names so two servers' files never clash on a device (taky #39). */
  deploymentName: string
  /** Connection description shown in ATAK, e.g. the network name. */
  serverName: string
  host: string
  /** Streaming (TLS) port. */
  port: number
  /** Marti API port (data packages); ATAK assumes 8443 unless its preferences say otherwise. */
  martiPort: number
  callsign: string
  clientCertPem: string
  clientKeyPem: string
  caCertPem: string
}

export interface ConnectionPackages {
  atakZip: Buffer
  atakFilename: string
  itakZip: Buffer
  itakFilename: string
  /** WinTAK: the ATAK zip inside an outer data package whose manifest lists it. */
  wintakZip: Buffer
  wintakFilename: string
  clientPassword: string
  truststorePassword: string
  itakQrText: string
  itakQrDataUrl: string
}

/** No 0/O, 1/l/I: passwords are read off a screen and typed on a phone. */
const PASSWORD_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
const PASSWORD_LENGTH = 16

export function readablePassword(length = PASSWORD_LENGTH): string {
  let out = ''
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]
  return out
}

/** A file-name-safe form: ASCII letters, digits, '-' and '_' only. */
export function fileSafe(name: string, fallback: string): string {
  const safe = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 48)
  return safe || fallback
}

export async function buildConnectionPackages(args: ConnectionPackageArgs): Promise<ConnectionPackages> {
  const deployment = fileSafe(args.deploymentName, 'fedgate')
  const device = fileSafe(args.callsign, 'device')
  const clientPassword = readablePassword()
  const truststorePassword = readablePassword()

  const truststoreFile = `truststore-${deployment}.p12`
  const clientFile = `${deployment}-${device}.p12`
  const truststore = toP12({ keyPem: null, certPems: [args.caCertPem], password: truststorePassword, friendlyName: `${deployment}-ca` })
  const client = toP12({
    keyPem: args.clientKeyPem,
    certPems: [args.clientCertPem, args.caCertPem],
    password: clientPassword,
    friendlyName: args.callsign
  })
  const connectString = `${args.host}:${args.port}:ssl`
  const secrets = { truststoreFile, clientFile, truststorePassword, clientPassword }

  // ATAK: a mission package whose manifest lists the pref and both p12 files; ATAK deletes it after import.
  const atakBase = `${deployment}-${device}`
  const withPref = (pref: string): [string, Buffer][] => [
    [`certs/${deployment}.pref`, Buffer.from(pref)],
    [`certs/${truststoreFile}`, truststore],
    [`certs/${clientFile}`, client]
  ]
  const atakZip = await missionPackage(`${atakBase}.zip`, withPref(atakPref(args, connectString, secrets)))
  const wintak = await forWintak(
    `${atakBase}.zip`,
    await missionPackage(`${atakBase}.zip`, withPref(atakPref(args, connectString, secrets, true)))
  )

  // iTAK: a flat zip, config.pref and the p12 files at the root, app-wide certificate keys.
  const itakZip = await zip([
    ['config.pref', Buffer.from(itakPref(args, connectString, secrets))],
    [truststoreFile, truststore],
    [clientFile, client]
  ])

  const itakQrText = itakQr(args.serverName, deployment, args.host, args.port)
  const itakQrDataUrl = await qrDataUrl(itakQrText)

  return {
    atakZip,
    atakFilename: `${atakBase}.zip`,
    itakZip,
    itakFilename: `${atakBase}-iTAK.zip`,
    wintakZip: wintak.zip,
    wintakFilename: wintak.filename,
    clientPassword,
    truststorePassword,
    itakQrText,
    itakQrDataUrl
  }
}

export interface EnrollmentPackageArgs {
  deploymentName: string
  serverName: string
  host: string
  /** Streaming (TLS) port; ATAK enrolls on the enrollment port (TAK's 8446) of the same host. */
  port: number
  callsign: string
  /**
   * Written as `username0`, which no ATAK version reads (docs/spec/tak-facts.md §4.4): the user types the user name,
   * and it must be the callsign because the CSR's CN is checked against it. Kept for clients whose source we cannot
   * read (WinTAK) and for the person reading the file.
   */
  username: string
  caCertPem: string
  /** Our enrollment and Marti ports, for ATAK's apiCertEnrollmentPort / apiSecureServerPort (defaults 8446 / 8443). */
  enrollmentPort: number
  martiPort: number
}

export interface EnrollmentPackage {
  zip: Buffer
  filename: string
  /** The same package nested for WinTAK (see forWintak), its pref also carrying the global certificate keys. */
  wintakZip: Buffer
  wintakFilename: string
  truststorePassword: string
}

/**
 * WinTAK imports an ATAK package when it arrives nested in an outer data package that lists it (as other TAK servers
 * ship it, spec §3.1). The inner zip is the ATAK package with the global certificate keys added to its pref (see
 * globalCertificateKeys).
 */
async function forWintak(atakFilename: string, atakZip: Buffer): Promise<{ zip: Buffer; filename: string }> {
  const filename = atakFilename.replace(/\.zip$/, '-WinTAK.zip')
  const manifest = manifestXml(randomUUID(), filename, [atakFilename])
  return {
    zip: await zip([
      ['MANIFEST/manifest.xml', Buffer.from(manifest)],
      [atakFilename, atakZip]
    ]),
    filename
  }
}

/**
 * ATAK/WinTAK package without a client certificate (spec §3.2): our CA as the truststore and "enroll for a certificate
 * with trust" set, so ATAK asks for the password, enrolls over the enrollment port trusting our CA, then streams.
 */
export async function buildEnrollmentPackage(args: EnrollmentPackageArgs): Promise<EnrollmentPackage> {
  const deployment = fileSafe(args.deploymentName, 'fedgate')
  const device = fileSafe(args.callsign, 'device')
  const truststorePassword = readablePassword()
  const truststoreFile = `truststore-${deployment}.p12`
  const truststore = toP12({ keyPem: null, certPems: [args.caCertPem], password: truststorePassword, friendlyName: `${deployment}-ca` })
  const pref = (globalKeys: boolean): string =>
    prefDocument([
      preference('cot_streams', [
        ['count', 1],
        ['description0', args.serverName],
        ['enabled0', true],
        ['connectString0', `${args.host}:${args.port}:ssl`],
        ['caLocation0', `cert/${truststoreFile}`],
        ['caPassword0', truststorePassword],
        ['useAuth0', true],
        // Read by no ATAK (see EnrollmentPackageArgs.username); the user types it, and it must be the callsign.
        ['username0', args.username],
        ['enrollForCertificateWithTrust0', true],
        ['cacheCreds0', 'Cache credentials'],
        ['compress0', false]
      ]),
      preference('com.atakmap.app_preferences', [
        ['displayServerConnectionWidget', true],
        ['locationCallsign', args.callsign],
        // Where ATAK enrolls and reaches the Marti API (read as strings; reported from ATAK's source, not in the spec).
        ['apiCertEnrollmentPort', String(args.enrollmentPort)],
        ['apiSecureServerPort', String(args.martiPort)],
        ...(globalKeys ? globalCertificateKeys({ truststoreFile, truststorePassword }) : [])
      ])
    ])
  const withPref = (globalKeys: boolean): [string, Buffer][] => [
    [`certs/${deployment}.pref`, Buffer.from(pref(globalKeys))],
    [`certs/${truststoreFile}`, truststore]
  ]
  const filename = `${deployment}-${device}-enroll.zip`
  const atakZip = await missionPackage(filename, withPref(false))
  const wintak = await forWintak(filename, await missionPackage(filename, withPref(true)))
  return { zip: atakZip, filename, wintakZip: wintak.zip, wintakFilename: wintak.filename, truststorePassword }
}

/** iTAK's QR: `description,host,port,ssl`. Comma-separated, so a comma in the description would shift the fields. */
export function itakQr(serverName: string, fallbackName: string, host: string, port: number): string {
  return `${serverName.replace(/,/g, ' ').trim() || fallbackName},${host},${port},ssl`
}

/**
 * ATAK's enrollment QR (spec §3.4). ATAK enrolls on its enrollment port (8446 unless its preferences say otherwise)
 * and then streams to `host`; a streaming port other than 8089 goes into `host` as `host:port`, which ATAK is
 * reported (not verified) to read as the streaming port.
 */
export function atakEnrollQr(host: string, streamingPort: number, username: string, password: string): string {
  const target = streamingPort === 8089 ? host : `${host}:${streamingPort}`
  // %20, not '+', for a space: Android's Uri reads '+' literally.
  const q = encodeURIComponent
  return `tak://com.atakmap.app/enroll?host=${q(target)}&username=${q(username)}&token=${q(password)}`
}

export function qrDataUrl(text: string): Promise<string> {
  return QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, width: 320 })
}

interface PackageSecrets {
  truststoreFile: string
  clientFile: string
  truststorePassword: string
  clientPassword: string
}

type PrefValue = string | number | boolean

function entry(key: string, value: PrefValue): XmlNode {
  const type = typeof value === 'boolean' ? 'Boolean' : typeof value === 'number' ? 'Integer' : 'String'
  return {
    ...attributes([
      ['key', key],
      ['class', `class java.lang.${type}`]
    ]),
    '#text': String(value)
  }
}

function preference(name: string, entries: [string, PrefValue][]): XmlNode {
  return {
    ...attributes([
      ['version', '1'],
      ['name', name]
    ]),
    entry: entries.map(([k, v]) => entry(k, v))
  }
}

/** ATAK's own pref layout: declaration with standalone="yes", one element per line, an empty value as `<entry …></entry>`. */
function prefDocument(preferences: XmlNode[]): string {
  return `${xmlDeclaration(true)}\n${buildXml({ preferences: { preference: preferences } }, { indent: true, pairedEmpty: true })}`
}

/**
 * The app-wide certificate keys (`caLocation`, `caPassword`, `certificateLocation`, `clientPassword`) for WinTAK's
 * copy of the pref. WinTAK is closed source; the packages known to work with it (OpenTAKServer's) carry these global
 * keys, while ATAK reads both forms (docs/spec/tak-facts.md §4.5), so WinTAK gets both. ATAK's own package keeps
 * only the per-stream keys: ATAK binds imported global keys to a stream only in some cases and they broke after
 * restarts with absolute paths (OTS #360). Same relative `cert/…` paths as the indexed keys.
 */
function globalCertificateKeys(s: {
  truststoreFile: string
  truststorePassword: string
  clientFile?: string
  clientPassword?: string
}): [string, PrefValue][] {
  const keys: [string, PrefValue][] = [
    ['caLocation', `cert/${s.truststoreFile}`],
    ['caPassword', s.truststorePassword]
  ]
  if (s.clientFile && s.clientPassword) keys.push(['certificateLocation', `cert/${s.clientFile}`], ['clientPassword', s.clientPassword])
  return keys
}

/**
 * Per-stream indexed keys with relative `cert/…` paths: global keys with absolute paths break after restarts (OTS #360).
 * WinTAK's copy adds the global keys as well (globalCertificateKeys).
 */
function atakPref(args: ConnectionPackageArgs, connectString: string, s: PackageSecrets, globalKeys = false): string {
  return prefDocument([
    preference('cot_streams', [
      ['count', 1],
      ['description0', args.serverName],
      ['enabled0', true],
      ['connectString0', connectString],
      ['caLocation0', `cert/${s.truststoreFile}`],
      ['caPassword0', s.truststorePassword],
      ['certificateLocation0', `cert/${s.clientFile}`],
      ['clientPassword0', s.clientPassword],
      ['useAuth0', false],
      ['compress0', false]
    ]),
    preference('com.atakmap.app_preferences', [
      ['displayServerConnectionWidget', true],
      ['locationCallsign', args.callsign],
      // Where ATAK reaches the Marti API for data packages (as in the enrollment package).
      ['apiSecureServerPort', String(args.martiPort)],
      ...(globalKeys ? globalCertificateKeys(s) : [])
    ])
  ])
}

function itakPref(args: ConnectionPackageArgs, connectString: string, s: PackageSecrets): string {
  return prefDocument([
    preference('cot_streams', [
      ['count', 1],
      ['description0', args.serverName],
      ['enabled0', true],
      ['connectString0', connectString]
    ]),
    preference('com.atakmap.app_preferences', [
      ['displayServerConnectionWidget', true],
      ['locationCallsign', args.callsign],
      ...globalCertificateKeys(s)
    ])
  ])
}

/** A mission package: the manifest (fresh uid) listing every entry, then the entries; importers delete it after import. */
function missionPackage(name: string, entries: [string, Buffer][]): Promise<Buffer> {
  const manifest = manifestXml(
    randomUUID(),
    name,
    entries.map(([entryName]) => entryName)
  )
  return zip([['MANIFEST/manifest.xml', Buffer.from(manifest)], ...entries])
}

function manifestXml(uid: string, name: string, zipEntries: string[]): string {
  const parameters: [string, string][] = [
    ['uid', uid],
    ['name', name],
    ['onReceiveDelete', 'true']
  ]
  const manifest: XmlNode = {
    MissionPackageManifest: {
      ...attributes([['version', '2']]),
      Configuration: {
        Parameter: parameters.map(([key, value]) =>
          attributes([
            ['name', key],
            ['value', value]
          ])
        )
      },
      Contents: {
        Content: zipEntries.map((zipEntry) =>
          attributes([
            ['ignore', 'false'],
            ['zipEntry', zipEntry]
          ])
        )
      }
    }
  }
  return buildXml(manifest, { indent: true })
}

function zip(entries: [string, Buffer][]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const archive = new yazl.ZipFile()
    const mtime = new Date()
    for (const [name, data] of entries) archive.addBuffer(data, name, { mtime, mode: 0o100644 })
    const chunks: Buffer[] = []
    archive.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk))
    archive.outputStream.on('error', reject)
    archive.outputStream.on('end', () => resolve(Buffer.concat(chunks)))
    archive.end()
  })
}
