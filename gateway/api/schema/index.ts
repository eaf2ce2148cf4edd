// Every contract method by name, with its argument and result schema: the one source of the renderer's types
// (ConsoleApi), of dispatch()'s validation and of the OpenAPI document.

import type { Static, TOptional, TSchema, TUndefined } from '@sinclair/typebox'
import { accountSchemas } from './accounts.ts'
import { deviceSchemas } from './devices.ts'
import { federationSchemas } from './federation.ts'
import { historySchemas } from './history.ts'
import { mapSchemas } from './map.ts'
import { networkSchemas, settingsSchemas } from './networks.ts'
import { packageSchemas } from './packages.ts'
import { takSchemas } from './tak.ts'

export const METHODS = {
  ...accountSchemas,
  ...networkSchemas,
  ...deviceSchemas,
  ...federationSchemas,
  ...takSchemas,
  ...packageSchemas,
  ...settingsSchemas,
  ...historySchemas,
  ...mapSchemas
}

export type Methods = typeof METHODS
export type ApiMethod = keyof Methods

/** Every method name, in the order the areas declare them. */
export const API_METHODS = Object.keys(METHODS) as ApiMethod[]

type ArgsFor<S> = S extends TUndefined
  ? undefined
  : S extends TOptional<infer O extends TSchema>
    ? Static<O> | undefined
    : S extends TSchema
      ? Static<S>
      : never
type CallFor<A, R> = [A] extends [undefined] ? () => Promise<R> : undefined extends A ? (args?: A) => Promise<R> : (args: A) => Promise<R>
type ArgsTable = { [M in ApiMethod]: ArgsFor<Methods[M]['args']> }
type ResultTable = { [M in ApiMethod]: Static<Methods[M]['result']> }

/** A method's argument as its handler gets it: undefined for methods that take none (or were given none). */
export type ArgsOf<M extends ApiMethod> = ArgsTable[M]
export type ResultOf<M extends ApiMethod> = ResultTable[M]

/** Every method takes one JSON object (or nothing) and resolves to a JSON value. */
export type ConsoleApi = { [M in ApiMethod]: CallFor<ArgsOf<M>, ResultOf<M>> }

export type {
  OrganizationDto,
  OrgMembershipDto,
  UserDto,
  GrantDto,
  TeamDto,
  WhoAmI,
  LoginResult,
  SetupState,
  StoreRecoveryNotice
} from './accounts.ts'
export type { NetworkDto, DeploymentSettingsDto, DeviceAddressDto, AuditEntryDto, HealthDto } from './networks.ts'
export type { DeviceDto, EnrolledDevice, DeviceEnrollmentDto, CreatedDeviceEnrollment } from './devices.ts'
export type { DiagnosisDto, FederationDto, FederationEndDto, FederationStatsDto, FederationCodeDto } from './federation.ts'
export type { HealthHistoryDto, HealthSampleDto, LinkHistoryDto, LinkSampleDto } from './history.ts'
export type {
  ConnectionInfo,
  DialTarget,
  ExternalPeerDto,
  FederationCertificateDto,
  PeerStatusDto,
  RejectedPeerDto,
  TakGroups
} from './tak.ts'
export type { DataPackageDto, PackageSource } from './packages.ts'
export type { Toggles, DownloadDto } from './fields.ts'
export type { TrafficFilterDto } from './traffic-filter.ts'
export type { PositionDto } from './map.ts'
