// Devices that enroll themselves (spec tak-devices.md §3.2–3.4): the operator creates an enrollment (callsign +
// one-time password, shown once, kept only as an HMAC); the device signs in with them on the enrollment API
// (enrollment-api.ts) and sends a CSR; we sign its key with our CA and it becomes an ordinary device of the network.
// Its private key never leaves the device, so it has no connection package to download later.

import { X509Certificate, createHmac, createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import type { CreatedDeviceEnrollment, DeviceEnrollmentDto } from '../api/contract.ts'
import { defineMethods } from '../services.ts'
import { conflict, notFound } from '../api/errors.ts'
import { randomId } from '../accounts/accounts.ts'
import { requireNetwork, requireVisibleNetwork } from '../accounts/networks.ts'
import { generateCode } from '../access/codes.ts'
import { CsrError, type SigningRequest } from '../pki/certificates.ts'
import type { Services } from '../services.ts'
import type { DeviceEnrollmentRecord, DeviceRecord } from '../store/schema.ts'
import { atakEnrollQr, buildEnrollmentPackage, itakQr, qrDataUrl } from './connection-package.ts'
import { DEFAULT_VALID_DAYS, callsignTaken, deploymentName, deviceHost, isPendingEnrollment, newDeviceRecord } from './enrollment.ts'

const DEFAULT_ENROLLMENT_HOURS = 24
/** 12 characters of 31: about 59 bits, behind a per-address throttle. Typed on a phone, so no look-alikes. */
const ENROLLMENT_PASSWORD_LENGTH = 12
/**
 * After signing, ATAK fetches its enrollment profile with the same credentials (spec §3.3 step 4) and fails the
 * whole registration if that is refused: the password keeps answering tls/config and the profile call this long.
 */
const AFTER_SIGNING_GRACE_MS = 15 * 60_000
/** Used or expired enrollments are forgotten this long after their expiry. */
const KEPT_AFTER_EXPIRY_MS = 7 * 86_400_000

/** What the user typed, as we hash it: upper case, spaces and dashes removed (the console shows it in groups). */
function normalizeEnrollmentPassword(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, '')
}

function passwordHash(gw: Services, typed: string): string {
  return gw.codeHasher.hash(`device-enrollment:${normalizeEnrollmentPassword(typed)}`)
}

function enrollmentDto(record: DeviceEnrollmentRecord): DeviceEnrollmentDto {
  return {
    id: record.id,
    networkId: record.networkId,
    callsign: record.callsign,
    username: record.callsign,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    validDays: record.validDays
  }
}

export const selfEnrollmentMethods = defineMethods({
  createDeviceEnrollment: {
    auth: { anyOf: ['manageDevices'], networks: (a) => [a.networkId] },
    async run({ gw, args, user, audit }): Promise<CreatedDeviceEnrollment> {
      const network = requireNetwork(gw, args.networkId)
      const callsign = args.callsign // trimmed by the schema
      const taken = callsignTaken(gw.store.data, network.id, callsign)
      if (taken) throw conflict(taken)
      const host = deviceHost(gw, args.host)
      const password = generateCode(ENROLLMENT_PASSWORD_LENGTH)
      const now = new Date()
      const record: DeviceEnrollmentRecord = {
        id: randomId('enr'),
        networkId: network.id,
        callsign,
        passwordHash: passwordHash(gw, password),
        validDays: args.validDays ?? DEFAULT_VALID_DAYS,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + (args.expiresInHours ?? DEFAULT_ENROLLMENT_HOURS) * 3_600_000).toISOString(),
        createdBy: user.id,
        usedAt: null,
        deviceId: null
      }
      await gw.store.update((doc) => {
        if (!doc.networks.some((n) => n.id === network.id)) throw notFound('That network was deleted meanwhile.')
        const takenNow = callsignTaken(doc, network.id, callsign, now.getTime())
        if (takenNow) throw conflict(takenNow)
        doc.deviceEnrollments = doc.deviceEnrollments.filter((e) => Date.parse(e.expiresAt) + KEPT_AFTER_EXPIRY_MS > now.getTime())
        doc.deviceEnrollments.push(record)
      })
      const itakQrText = itakQr(network.name, deploymentName(gw), host, gw.ports.streaming)
      const atakQrText = atakEnrollQr(host, gw.ports.streaming, callsign, password)
      const pkg = await buildEnrollmentPackage({
        deploymentName: deploymentName(gw),
        serverName: network.name,
        host,
        port: gw.ports.streaming,
        callsign,
        username: callsign,
        caCertPem: gw.pki.caCertPem,
        enrollmentPort: gw.ports.enrollment,
        martiPort: gw.ports.marti
      })
      audit(
        'createDeviceEnrollment',
        `device ${callsign}`,
        { networkId: network.id, enrollmentId: record.id, expiresAt: record.expiresAt },
        network.organizationId
      )
      gw.events.emit({ type: 'changed', area: 'devices', networkId: network.id })
      return {
        enrollment: enrollmentDto(record),
        password,
        host,
        enrollmentPort: gw.ports.enrollment,
        streamingPort: gw.ports.streaming,
        itakQrText,
        itakQrDataUrl: await qrDataUrl(itakQrText),
        atakQrText,
        atakQrDataUrl: await qrDataUrl(atakQrText),
        packageFilename: pkg.filename,
        packageBase64: pkg.zip.toString('base64'),
        wintakPackageFilename: pkg.wintakFilename,
        wintakPackageBase64: pkg.wintakZip.toString('base64'),
        truststorePassword: pkg.truststorePassword
      }
    }
  },

  listDeviceEnrollments: {
    auth: 'user',
    run({ gw, args, user }) {
      requireVisibleNetwork(gw, user, args.networkId)
      const now = Date.now()
      return gw.store.data.deviceEnrollments
        .filter((e) => e.networkId === args.networkId && isPendingEnrollment(e, now))
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .map(enrollmentDto)
    }
  },

  cancelDeviceEnrollment: {
    auth: {
      anyOf: ['manageDevices'],
      networks: (a, gw) => {
        const e = gw.store.data.deviceEnrollments.find((x) => x.id === a.id)
        return e ? [e.networkId] : []
      }
    },
    async run({ gw, args, audit }) {
      const record = gw.store.data.deviceEnrollments.find((e) => e.id === args.id)
      if (!record) throw notFound('That enrollment does not exist (it may have expired).')
      if (record.usedAt) throw conflict(`'${record.callsign}' has already enrolled; revoke the device instead.`)
      await gw.store.update((doc) => {
        doc.deviceEnrollments = doc.deviceEnrollments.filter((e) => e.id !== args.id || e.usedAt)
      })
      const network = gw.store.data.networks.find((n) => n.id === record.networkId)
      audit(
        'cancelDeviceEnrollment',
        `device ${record.callsign}`,
        { networkId: record.networkId, enrollmentId: record.id },
        network?.organizationId ?? null
      )
      gw.events.emit({ type: 'changed', area: 'devices', networkId: record.networkId })
      return null
    }
  }
})

// ─── what the enrollment API asks of this area ──────────────────────────────

/** Why a sign-in on the enrollment API failed; `status` is the HTTP answer. */
export class EnrollmentRefusal extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 409,
    message: string,
    /** A guess at the password (counts toward the throttle), not a known enrollment in the wrong state. */
    readonly wrongGuess = false
  ) {
    super(message)
    this.name = 'EnrollmentRefusal'
  }
}

export type EnrollmentStep = 'config' | 'sign' | 'profile'

/**
 * The enrollment `username` and `password` belong to, if they may take `step` now. Signing needs an unused, unexpired
 * enrollment; the other steps are also allowed during the grace after signing.
 */
export function authenticateEnrollment(
  gw: Services,
  username: string | string[],
  password: string,
  step: EnrollmentStep,
  now = Date.now()
): DeviceEnrollmentRecord {
  const hash = passwordHash(gw, password)
  const typed = Array.isArray(username) ? username : [username]
  const record = gw.store.data.deviceEnrollments.find((e) => e.passwordHash === hash && typed.some((name) => sameUser(e.callsign, name)))
  if (!record) throw new EnrollmentRefusal(401, 'Wrong user name or one-time password.', true)
  return admit(gw, record, step, now)
}

/**
 * Whether a user name as it arrived names the callsign: case-insensitive; and since ATAK sends its profile call
 * through a Java HTTP client that encodes Basic credentials as ASCII (reported, not in the spec), a non-ASCII
 * letter may arrive as '?'. The password (59 random bits) is what identifies the enrollment; the name only confirms.
 */
function sameUser(callsign: string, typed: string): boolean {
  const a = callsign.toLowerCase()
  const b = typed.trim().toLowerCase()
  return a === b || (b.includes('?') && a.replace(/[^\x00-\x7f]/g, '?') === b)
}

/** Lifetime of a bearer token from `/oauth/token` (TAK Server's password grant, which node-tak uses). */
export const ENROLLMENT_TOKEN_SECONDS = 15 * 60
const TOKEN_AUDIENCE = 'fedgate-device-enrollment'

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url')

function tokenKey(gw: Services): Buffer {
  return gw.codeHasher.derive('device-enrollment-token')
}

/** A JWT (HS256) naming the enrollment: what the password grant of `/oauth/token` answers. */
export function issueEnrollmentToken(gw: Services, record: DeviceEnrollmentRecord, now = Date.now()): string {
  const iat = Math.floor(now / 1000)
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const payload = base64url(
    JSON.stringify({ sub: record.callsign, aud: TOKEN_AUDIENCE, enr: record.id, iat, nbf: iat, exp: iat + ENROLLMENT_TOKEN_SECONDS })
  )
  const signature = createHmac('sha256', tokenKey(gw)).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}

/**
 * The enrollment a bearer token names, for the steps a token may take (config and profile; signing a key always
 * needs the password, as with TAK).
 */
export function authenticateEnrollmentToken(gw: Services, token: string, step: EnrollmentStep, now = Date.now()): DeviceEnrollmentRecord {
  const refused = new EnrollmentRefusal(401, 'The token is not valid; sign in again with the user name and one-time password.')
  const [header, payload, signature, extra] = token.split('.')
  if (!header || !payload || !signature || extra !== undefined) throw refused
  const expected = createHmac('sha256', tokenKey(gw)).update(`${header}.${payload}`).digest()
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused
  let claims: { aud?: unknown; enr?: unknown; exp?: unknown; nbf?: unknown }
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims
  } catch {
    throw refused
  }
  const seconds = now / 1000
  if (
    claims.aud !== TOKEN_AUDIENCE ||
    typeof claims.exp !== 'number' ||
    typeof claims.nbf !== 'number' ||
    seconds >= claims.exp ||
    seconds + 60 < claims.nbf
  )
    throw refused
  if (step === 'sign') throw new EnrollmentRefusal(401, 'Signing a certificate needs the user name and one-time password (HTTP Basic).')
  const record = gw.store.data.deviceEnrollments.find((e) => e.id === claims.enr)
  if (!record) throw new EnrollmentRefusal(401, 'This enrollment was cancelled. Ask the operator for a new one.')
  return admit(gw, record, step, now)
}

/** Whether a known enrollment may take `step` now. */
function admit(gw: Services, record: DeviceEnrollmentRecord, step: EnrollmentStep, now: number): DeviceEnrollmentRecord {
  if (!gw.store.data.networks.some((n) => n.id === record.networkId))
    throw new EnrollmentRefusal(401, 'The network of this enrollment no longer exists.')
  if (record.usedAt) {
    // Within the grace, signing again is allowed too: completeEnrollment answers a lost reply again for the same key.
    if (Date.parse(record.usedAt) + AFTER_SIGNING_GRACE_MS > now) return record
    throw new EnrollmentRefusal(401, 'This one-time password has already been used. Ask the operator for a new enrollment.')
  }
  if (Date.parse(record.expiresAt) <= now)
    throw new EnrollmentRefusal(401, 'This one-time password has expired. Ask the operator for a new enrollment.')
  return record
}

/**
 * Signs the device's key and makes it a device of the enrollment's network; the password is then used up. The CSR's
 * CN must be the user name (as TAK checks); the certificate gets our own device profile (CN = callsign), whatever
 * else the CSR asked for.
 */
export async function completeEnrollment(
  gw: Services,
  record: DeviceEnrollmentRecord,
  request: SigningRequest,
  address: string
): Promise<DeviceRecord> {
  const cn = request.subject.find((a) => a.name === 'CN')?.value
  if (cn === undefined) throw new CsrError('The certificate signing request has no common name (CN).')
  if (cn.toLowerCase() !== record.callsign.toLowerCase()) {
    throw new CsrError(`The common name of the request ('${cn}') must be the user name '${record.callsign}'.`)
  }
  if (record.usedAt) return signedBefore(gw, record, request)
  const issued = gw.pki.signDeviceKey({ callsign: record.callsign, validDays: record.validDays, publicKeyPem: request.publicKeyPem })
  const device = newDeviceRecord(record.networkId, record.callsign, issued, 'password')
  await gw.store.update((doc) => {
    const current = doc.deviceEnrollments.find((e) => e.id === record.id)
    if (!current) throw new EnrollmentRefusal(401, 'This enrollment was cancelled. Ask the operator for a new one.')
    if (current.usedAt)
      throw new EnrollmentRefusal(401, 'This one-time password has already been used. Ask the operator for a new enrollment.')
    if (!doc.networks.some((n) => n.id === record.networkId))
      throw new EnrollmentRefusal(401, 'The network of this enrollment no longer exists.')
    const others = { devices: doc.devices, deviceEnrollments: doc.deviceEnrollments.filter((e) => e.id !== record.id) }
    const taken = callsignTaken(others, record.networkId, record.callsign)
    if (taken) throw new EnrollmentRefusal(409, taken)
    current.usedAt = device.enrolledAt
    current.deviceId = device.id
    doc.devices.push(device)
  })
  const network = gw.store.data.networks.find((n) => n.id === record.networkId)
  gw.audit.append({
    actor: `device ${record.callsign} (${address})`,
    action: 'deviceEnrolledItself',
    target: `device ${record.callsign}`,
    details: { networkId: record.networkId, deviceId: device.id, enrollmentId: record.id, fingerprint: device.fingerprint },
    organizationId: network?.organizationId ?? null
  })
  gw.log.info(`Device '${record.callsign}' enrolled itself on network '${network?.name ?? record.networkId}' from ${address}`)
  gw.events.emit({ type: 'changed', area: 'devices', networkId: record.networkId })
  return device
}

/**
 * The device asks again right after signing (its answer was lost, or the profile call failed and it starts over):
 * for the same key, the same certificate; any other key is refused, since the password is used up.
 */
function signedBefore(gw: Services, record: DeviceEnrollmentRecord, request: SigningRequest): DeviceRecord {
  const device = gw.store.data.devices.find((d) => d.id === record.deviceId)
  const spki = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' })
  if (
    device &&
    !device.revokedAt &&
    // The journal is the authority: it holds a revocation whose db.json save failed (the TLS checks read it too).
    !gw.pki.revocations.deviceRevoked(device.fingerprint) &&
    spki(new X509Certificate(device.certPem).publicKey).equals(spki(createPublicKey(request.publicKeyPem)))
  )
    return device
  throw new EnrollmentRefusal(401, 'This one-time password has already been used. Ask the operator for a new enrollment.')
}

/** O and OU the device should put in its CSR (TAK's `nameEntries`): the organization and the network. */
export function nameEntriesFor(gw: Services, record: DeviceEnrollmentRecord): { name: string; value: string }[] {
  const network = gw.store.data.networks.find((n) => n.id === record.networkId)
  const organization = network ? gw.store.data.organizations.find((o) => o.id === network.organizationId) : undefined
  const entries: { name: string; value: string }[] = []
  if (organization) entries.push({ name: 'O', value: organization.name })
  if (network) entries.push({ name: 'OU', value: network.name })
  return entries
}
