// Devices: enrollment with a connection package or a one-time password, packages, revocation.

import { Type, type Static } from '@sinclair/typebox'
import { PACKAGE_VARIANTS } from '../vocabulary.ts'
import { Args, DownloadDto, Dto, Id, Int, Iso, Nothing, Nullable, OneOf, Text, methods } from './fields.ts'

export const MAX_VALID_DAYS = 3650
export const MAX_ENROLLMENT_HOURS = 168

/** An address as an operator picks it from the list (validated against that list by deviceHost). */
const Host = () => Text({ min: 1, max: 253 })
const ValidDays = () => Int({ min: 1, max: MAX_VALID_DAYS })

export const DeviceDto = Dto({
  id: Type.String(),
  networkId: Type.String(),
  callsign: Type.String(),
  fingerprint: Type.String({ description: 'SHA-256 fingerprint of its certificate, TAK format (AA:BB:…).' }),
  serial: Type.String(),
  notAfter: Iso(),
  enrolledAt: Iso(),
  revokedAt: Nullable(Iso()),
  online: Type.Boolean(),
  uidSeen: Nullable(Type.String({ description: 'CoT uid the device uses on the wire, once seen.' })),
  lastSeen: Nullable(Iso()),
  address: Nullable(Type.String()),
  connectionCount: Type.Integer(),
  lastPosition: Nullable(Dto({ lat: Type.Number(), lon: Type.Number(), at: Iso() })),
  drops: Type.Integer({ description: 'Events dropped for this device because its send queue was full.' }),
  clockSkewSeconds: Nullable(
    Type.Number({
      description: "Its clock minus this gateway's, in seconds (median of its recent events, replays ignored); null until it sends."
    })
  ),
  enrolledBy: OneOf(['package', 'password'] as const, {
    description:
      "How it got its certificate: 'package' = we made its key and can rebuild its connection package; 'password' = it " +
      'enrolled itself over the enrollment API (Enrollment:Port) with a one-time password, and its key never left it.'
  })
})
export type DeviceDto = Static<typeof DeviceDto>

export const EnrolledDevice = Dto({
  device: DeviceDto,
  packageFilename: Type.String({ description: 'ATAK connection data package (zip).' }),
  packageBase64: Type.String(),
  itakPackageFilename: Type.String({ description: 'iTAK flat zip.' }),
  itakPackageBase64: Type.String(),
  wintakPackageFilename: Type.String({ description: 'WinTAK: the ATAK package nested in an outer data package.' }),
  wintakPackageBase64: Type.String(),
  clientPassword: Type.String({ description: 'Shown once: passwords of the client and truststore .p12 files.' }),
  truststorePassword: Type.String(),
  itakQrText: Type.String({ description: 'iTAK QR text `name,host,port,ssl` and the same as a PNG data URL.' }),
  itakQrDataUrl: Type.String()
})
export type EnrolledDevice = Static<typeof EnrolledDevice>

export const DeviceEnrollmentDto = Dto(
  {
    id: Type.String(),
    networkId: Type.String(),
    callsign: Type.String(),
    username: Type.String({ description: "The user name to type on the device: the callsign, which becomes the certificate's CN." }),
    createdAt: Iso(),
    expiresAt: Iso({ description: 'The password stops working then (unused enrollments are listed until then).' }),
    validDays: Type.Integer({ description: 'Days the certificate it gets will be valid.' })
  },
  'A device that may enroll itself: on the enrollment API (`Enrollment:Port`, TAK’s 8446) it signs in with `username` ' +
    'and a one-time password and gets a certificate for a key it made itself (ATAK, iTAK, WinTAK enrollment).'
)
export type DeviceEnrollmentDto = Static<typeof DeviceEnrollmentDto>

export const CreatedDeviceEnrollment = Dto({
  enrollment: DeviceEnrollmentDto,
  password: Type.String({ description: 'Shown once: only a keyed hash of it is kept.' }),
  host: Type.String({ description: 'Address and ports the device uses: enrollment API (HTTPS, no client certificate) and streaming.' }),
  enrollmentPort: Type.Integer(),
  streamingPort: Type.Integer(),
  itakQrText: Type.String({
    description: 'iTAK: QR text `name,host,port,ssl`; iTAK then asks for the user name and password and enrolls.'
  }),
  itakQrDataUrl: Type.String(),
  atakQrText: Type.String({
    description:
      'ATAK: `tak://com.atakmap.app/enroll?host=…&username=…&token=…` (needs a server certificate ATAK trusts, and ATAK ' +
      'looks for the enrollment API on 8446).'
  }),
  atakQrDataUrl: Type.String(),
  packageFilename: Type.String({ description: 'ATAK/WinTAK data package with our CA only and "enroll for a certificate" set.' }),
  packageBase64: Type.String(),
  wintakPackageFilename: Type.String({ description: 'WinTAK: the same package nested in an outer data package.' }),
  wintakPackageBase64: Type.String(),
  truststorePassword: Type.String()
})
export type CreatedDeviceEnrollment = Static<typeof CreatedDeviceEnrollment>

export const deviceSchemas = methods({
  listDevices: { args: Args({ networkId: Id() }), result: Type.Array(DeviceDto) },
  enrollDevice: {
    summary:
      "Enrolls a device and builds its connection packages. `host`: one of getDeploymentSettings' deviceAddresses; default the first.",
    args: Args({
      networkId: Id(),
      callsign: Text({ min: 1, max: 64, format: 'callsign' }),
      validDays: Type.Optional(ValidDays()),
      host: Type.Optional(Host())
    }),
    result: EnrolledDevice
  },
  downloadDevicePackage: {
    args: Args({ id: Id(), variant: Type.Optional(OneOf(PACKAGE_VARIANTS)), host: Type.Optional(Host()) }),
    result: Type.Composite([DownloadDto, Dto({ clientPassword: Type.String(), truststorePassword: Type.String() })], {
      additionalProperties: false
    })
  },
  revokeDevice: { args: Args({ id: Id() }), result: DeviceDto },
  createDeviceEnrollment: {
    args: Args({
      networkId: Id(),
      callsign: Text({ min: 1, max: 64, format: 'enrollment-callsign' }),
      validDays: Type.Optional(ValidDays()),
      expiresInHours: Type.Optional(Int({ min: 1, max: MAX_ENROLLMENT_HOURS })),
      host: Type.Optional(Host())
    }),
    result: CreatedDeviceEnrollment
  },
  listDeviceEnrollments: { args: Args({ networkId: Id() }), result: Type.Array(DeviceEnrollmentDto) },
  cancelDeviceEnrollment: { args: Args({ id: Id() }), result: Nothing() }
})
