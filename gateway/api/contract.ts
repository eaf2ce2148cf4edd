// The one contract between the console (renderer or browser) and the gateway.
// Types and constants only: every value that crosses it is JSON-safe (no Date, Map, Buffer, undefined fields).
// The renderer imports this file's types; the gateway implements them in each area's `methods.ts`.

/** Machine-readable error codes; messages are sentences for an operator. */
export const ERROR_CODES = [
  'unauthenticated',
  'forbidden',
  'invalid',
  'not_found',
  'conflict',
  'plan_limit',
  'rate_limited',
  'unavailable',
  'internal'
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export interface ApiErrorBody {
  code: ErrorCode
  message: string
}

/** ISO-8601 timestamp string. */
export type Iso = string

// ─── accounts ────────────────────────────────────────────────────────────────

export const PLANS = ['free', 'team', 'enterprise'] as const
export type Plan = (typeof PLANS)[number]

/** The six grantable permissions on a network (DESIGN.md §4), with their UI labels in PERMISSION_LABELS. */
export const PERMISSIONS = [
  'federateWithinOrganization',
  'federateAcrossOrganizations',
  'changeFederation',
  'stopFederating',
  'manageDevices',
  'manageDataPackages'
] as const
export type Permission = (typeof PERMISSIONS)[number]

export const PERMISSION_LABELS: Record<Permission, string> = {
  federateWithinOrganization: 'Federate within organization',
  federateAcrossOrganizations: 'Federate with other organizations',
  changeFederation: 'Change federation',
  stopFederating: 'Stop federating',
  manageDevices: 'Manage devices',
  manageDataPackages: 'Manage data packages'
}

export interface OrganizationDto {
  id: string
  name: string
  plan: Plan
  tokenLimit: number
  /** Tokens in use: one per registered external peer. */
  tokensUsed: number
  createdAt: Iso
}

export interface OrgMembershipDto {
  organizationId: string
  admin: boolean
}

export interface UserDto {
  id: string
  username: string
  displayName: string
  deploymentAdmin: boolean
  memberships: OrgMembershipDto[]
  createdAt: Iso
}

export interface GrantDto {
  networkId: string
  permissions: Permission[]
}

export interface TeamDto {
  id: string
  organizationId: string
  name: string
  memberIds: string[]
  grants: GrantDto[]
}

/** What the signed-in user may do, so the UI can hide buttons (the gateway checks again). */
export interface WhoAmI {
  user: UserDto
  /** networkId → permissions the user holds on it (through any team, or as organization admin). */
  networkPermissions: Record<string, Permission[]>
  /** organizationIds where the user is an organization admin. */
  adminOf: string[]
}

export interface LoginResult {
  token: string
  user: UserDto
  expiresAt: Iso
}

export interface SetupState {
  /** True while no user exists: the console shows the first-administrator screen. */
  needsFirstAdmin: boolean
  /** Set when the store was recovered from a corrupt file at start, for the console banner. */
  storeRecovery: StoreRecoveryNotice | null
}

export interface StoreRecoveryNotice {
  at: Iso
  movedTo: string
  restoredFrom: 'backup' | 'empty'
  message: string
}

// ─── networks ────────────────────────────────────────────────────────────────

export interface NetworkDto {
  id: string
  organizationId: string
  name: string
  createdAt: Iso
  deviceCount: number
  onlineCount: number
}

// ─── devices ─────────────────────────────────────────────────────────────────

export interface DeviceDto {
  id: string
  networkId: string
  callsign: string
  /** SHA-256 fingerprint of its certificate, TAK format (AA:BB:…). */
  fingerprint: string
  serial: string
  notAfter: Iso
  enrolledAt: Iso
  revokedAt: Iso | null
  online: boolean
  /** CoT uid the device uses on the wire, once seen. */
  uidSeen: string | null
  lastSeen: Iso | null
  address: string | null
  connectionCount: number
  lastPosition: { lat: number; lon: number; at: Iso } | null
  /** Events dropped for this device because its send queue was full. */
  drops: number
  /**
   * How it got its certificate: 'package' = we made its key and can rebuild its connection package; 'password' = it
   * enrolled itself over the enrollment API (Enrollment:Port) with a one-time password, and its key never left it.
   */
  enrolledBy: 'package' | 'password'
}

/** Which connection package: ATAK (also what TAK Servers hand out), iTAK's flat zip, or WinTAK's nested one. */
export type PackageVariant = 'atak' | 'itak' | 'wintak'

export interface EnrolledDevice {
  device: DeviceDto
  /** ATAK connection data package (zip). */
  packageFilename: string
  packageBase64: string
  /** iTAK flat zip. */
  itakPackageFilename: string
  itakPackageBase64: string
  /** WinTAK: the ATAK package nested in an outer data package. */
  wintakPackageFilename: string
  wintakPackageBase64: string
  /** Shown once: passwords of the client and truststore .p12 files. */
  clientPassword: string
  truststorePassword: string
  /** iTAK QR text `name,host,port,ssl` and the same as a PNG data URL. */
  itakQrText: string
  itakQrDataUrl: string
}

/**
 * A device that may enroll itself: on the enrollment API (`Enrollment:Port`, TAK's 8446) it signs in with `username`
 * and a one-time password and gets a certificate for a key it made itself (ATAK, iTAK, WinTAK enrollment).
 */
export interface DeviceEnrollmentDto {
  id: string
  networkId: string
  callsign: string
  /** The user name to type on the device: the callsign, which becomes the certificate's CN. */
  username: string
  createdAt: Iso
  /** The password stops working then (unused enrollments are listed until then). */
  expiresAt: Iso
  /** Days the certificate it gets will be valid. */
  validDays: number
}

export interface CreatedDeviceEnrollment {
  enrollment: DeviceEnrollmentDto
  /** Shown once: only a keyed hash of it is kept. */
  password: string
  /** Address and ports the device uses: enrollment API (HTTPS, no client certificate) and streaming. */
  host: string
  enrollmentPort: number
  streamingPort: number
  /** iTAK: QR text `name,host,port,ssl`; iTAK then asks for the user name and password and enrolls. */
  itakQrText: string
  itakQrDataUrl: string
  /**
   * ATAK: `tak://com.atakmap.app/enroll?host=…&username=…&token=…` (needs a server certificate ATAK trusts, and
   * ATAK looks for the enrollment API on 8446).
   */
  atakQrText: string
  atakQrDataUrl: string
  /** ATAK/WinTAK data package with our CA only and "enroll for a certificate" set: ATAK asks for the password. */
  packageFilename: string
  packageBase64: string
  /** WinTAK: the same package nested in an outer data package. */
  wintakPackageFilename: string
  wintakPackageBase64: string
  truststorePassword: string
}

// ─── local federation ────────────────────────────────────────────────────────

export interface Toggles {
  incoming: boolean
  outgoing: boolean
  acceptPackages: boolean
  sharePackages: boolean
}

export interface FederationEndDto extends Toggles {
  networkId: string
  networkName: string
  organizationId: string
  organizationName: string
}

export interface FederationDto {
  id: string
  kind: 'withinOrganization' | 'acrossOrganizations'
  createdAt: Iso
  /** End on the network the caller asked about, then the other end. */
  ours: FederationEndDto
  theirs: FederationEndDto
  /** Live figures: events per second in each direction, and last activity. */
  stats: FederationStatsDto
}

export interface FederationStatsDto {
  federationId: string
  /** The end these figures are seen from: "in" is into this network. Pushed figures are the first end's. */
  networkId: string
  inPerSecond: number
  outPerSecond: number
  lastActivity: Iso | null
}

export interface FederationCodeDto {
  networkId: string
  /** Only returned by generateFederationCode; never stored in clear. */
  code: string | null
  createdAt: Iso
  expiresAt: Iso
}

// ─── external TAK Servers ────────────────────────────────────────────────────

export interface ConnectionInfo {
  hostname: string | null
  port: number
  fingerprint: string | null
  ourFederateId: string | null
  /** Required appsettings keys that are missing, e.g. `Federation:AdvertisedHostname`. */
  missingSettings: string[]
  settingsPath: string
}

export const ARTIFACTS = ['federation-cert', 'ca-cert', 'coreconfig-outgoing', 'coreconfig-federate'] as const
export type ArtifactKind = (typeof ARTIFACTS)[number]

export interface DownloadDto {
  filename: string
  mimeType: string
  contentBase64: string
}

export interface DialTarget {
  address: string
  port: number
  /** The remote TAK Server's CA in PEM, to trust when dialing. */
  caPem?: string
}

export interface ExternalPeerDto extends Toggles {
  id: string
  networkId: string
  fingerprint: string
  displayName: string
  dial: DialTarget | null
  createdAt: Iso
  status: PeerStatusDto
}

export interface PeerStatusDto {
  peerId: string
  connected: boolean
  since: Iso | null
  inPerSecond: number
  outPerSecond: number
  lastHeard: Iso | null
  lastError: string | null
  /** Events per second over the last minutes, oldest first (for the sparkline). */
  history: { in: number[]; out: number[] }
}

export interface RejectedPeerDto {
  fingerprint: string
  subject: string
  address: string
  firstSeen: Iso
  lastSeen: Iso
  count: number
}

// ─── data packages ───────────────────────────────────────────────────────────

export interface PackageSource {
  kind: 'device' | 'operator' | 'federation' | 'peer'
  /** Device callsign, username, federated network name or peer display name. */
  label: string
  id: string | null
}

export interface DataPackageDto {
  id: string
  networkId: string
  hash: string
  name: string
  size: number
  mimeType: string
  createdAt: Iso
  source: PackageSource
  private: boolean
  /** Federations and peers it was shared with. */
  sharedWith: { kind: 'federation' | 'peer'; id: string; label: string; at: Iso }[]
}

// ─── settings / audit / health ───────────────────────────────────────────────

export interface DeploymentSettingsDto {
  /** Deployment admins only; null for everyone else. */
  dataDir: string | null
  /** Deployment admins only; null for everyone else. */
  settingsPath: string | null
  settings: Record<string, unknown>
  missingSettings: string[]
  ports: { federation: number; streaming: number; marti: number; enrollment: number; console: number }
  /** Addresses devices may be told to dial, best first (the first is what packages use unless one is chosen). */
  deviceAddresses: DeviceAddressDto[]
}

export interface DeviceAddressDto {
  /** Hostname or IP address, as it goes into packages and QR codes. */
  address: string
  /** The machine's network interface it belongs to; null for Federation:AdvertisedHostname. */
  interfaceName: string | null
  advertised: boolean
  /** False for container bridges, hypervisor and VPN adapters: phones can seldom reach those. */
  likely: boolean
  /**
   * False for an address the server certificate does not name yet (it came up moments ago; the certificate is
   * reissued within half a minute): it cannot be chosen until then.
   */
  covered: boolean
}

export interface AuditEntryDto {
  at: Iso
  actor: string
  action: string
  target: string
  organizationId: string | null
  details: Record<string, unknown>
}

export interface HealthDto {
  uptimeSeconds: number
  rssBytes: number
  heapUsedBytes: number
  connections: { devices: number; peers: number }
  eventsInPerSecond: number
  eventsOutPerSecond: number
  dropsByReason: Record<string, number>
  /** What waits to be sent, per receiver; `networkId` is the receiver's network (each user sees their organizations'). */
  queueDepths: { id: string; label: string; bytes: number; networkId: string }[]
}

// ─── method table ────────────────────────────────────────────────────────────

/** Every method takes one JSON object (or nothing) and resolves to a JSON value. */
export interface ConsoleApi {
  // session
  getSetupState(): Promise<SetupState>
  setupFirstAdmin(args: { setupToken: string; username: string; password: string; displayName?: string }): Promise<LoginResult>
  login(args: { username: string; password: string }): Promise<LoginResult>
  logout(): Promise<null>
  whoami(): Promise<WhoAmI>

  // accounts
  listOrganizations(): Promise<OrganizationDto[]>
  createOrganization(args: { name: string; plan?: Plan; tokenLimit?: number }): Promise<OrganizationDto>
  updateOrganization(args: { id: string; name?: string; plan?: Plan; tokenLimit?: number }): Promise<OrganizationDto>
  listUsers(args?: { organizationId?: string }): Promise<UserDto[]>
  createUser(args: {
    username: string
    password: string
    displayName?: string
    organizationId?: string
    organizationAdmin?: boolean
    deploymentAdmin?: boolean
  }): Promise<UserDto>
  listTeams(args: { organizationId: string }): Promise<TeamDto[]>
  createTeam(args: { organizationId: string; name: string }): Promise<TeamDto>
  setTeamMembers(args: { teamId: string; memberIds: string[] }): Promise<TeamDto>
  setTeamGrants(args: { teamId: string; grants: GrantDto[] }): Promise<TeamDto>

  // networks
  listNetworks(args: { organizationId: string }): Promise<NetworkDto[]>
  createNetwork(args: { organizationId: string; name: string }): Promise<NetworkDto>
  renameNetwork(args: { id: string; name: string }): Promise<NetworkDto>
  deleteNetwork(args: { id: string }): Promise<null>

  // devices
  listDevices(args: { networkId: string }): Promise<DeviceDto[]>
  /** `host`: one of getDeploymentSettings' deviceAddresses; default the first. */
  enrollDevice(args: { networkId: string; callsign: string; validDays?: number; host?: string }): Promise<EnrolledDevice>
  downloadDevicePackage(args: { id: string; variant?: PackageVariant; host?: string }): Promise<DownloadDto & { clientPassword: string; truststorePassword: string }>
  revokeDevice(args: { id: string }): Promise<DeviceDto>
  createDeviceEnrollment(args: { networkId: string; callsign: string; validDays?: number; expiresInHours?: number; host?: string }): Promise<CreatedDeviceEnrollment>
  listDeviceEnrollments(args: { networkId: string }): Promise<DeviceEnrollmentDto[]>
  cancelDeviceEnrollment(args: { id: string }): Promise<null>

  // local federation
  listFederations(args: { networkId: string }): Promise<FederationDto[]>
  federateWithinOrganization(args: { networkId: string; otherNetworkId: string }): Promise<FederationDto>
  generateFederationCode(args: { networkId: string }): Promise<FederationCodeDto>
  getFederationCode(args: { networkId: string }): Promise<FederationCodeDto | null>
  clearFederationCode(args: { networkId: string }): Promise<null>
  redeemFederationCode(args: { networkId: string; code: string } & Partial<Toggles>): Promise<FederationDto>
  updateFederationEnd(args: { federationId: string; networkId: string } & Partial<Toggles>): Promise<FederationDto>
  stopFederating(args: { federationId: string; networkId: string }): Promise<null>

  // external TAK Servers
  getConnectionInfo(): Promise<ConnectionInfo>
  downloadArtifact(args: { kind: ArtifactKind }): Promise<DownloadDto>
  listExternalPeers(args: { networkId: string }): Promise<ExternalPeerDto[]>
  addExternalPeer(args: { networkId: string; fingerprint: string; displayName: string; dial?: DialTarget } & Partial<Toggles>): Promise<ExternalPeerDto>
  updateExternalPeer(args: { id: string; displayName?: string; dial?: DialTarget | null } & Partial<Toggles>): Promise<ExternalPeerDto>
  removeExternalPeer(args: { id: string }): Promise<null>
  listRejectedPeers(): Promise<RejectedPeerDto[]>

  // data packages
  listDataPackages(args: { networkId: string }): Promise<DataPackageDto[]>
  uploadDataPackage(args: { networkId: string; name: string; contentBase64: string; mimeType?: string }): Promise<DataPackageDto>
  downloadDataPackage(args: { id: string }): Promise<DownloadDto>
  deleteDataPackage(args: { id: string }): Promise<null>

  // settings / audit / health
  getDeploymentSettings(): Promise<DeploymentSettingsDto>
  listAuditLog(args?: { organizationId?: string; limit?: number }): Promise<AuditEntryDto[]>
  getHealth(): Promise<HealthDto>
}

export type ApiMethod = keyof ConsoleApi
export type ArgsOf<M extends ApiMethod> = Parameters<ConsoleApi[M]> extends [] ? undefined : Parameters<ConsoleApi[M]>[0]
export type ResultOf<M extends ApiMethod> = Awaited<ReturnType<ConsoleApi[M]>>

export const API_METHODS = [
  'getSetupState',
  'setupFirstAdmin',
  'login',
  'logout',
  'whoami',
  'listOrganizations',
  'createOrganization',
  'updateOrganization',
  'listUsers',
  'createUser',
  'listTeams',
  'createTeam',
  'setTeamMembers',
  'setTeamGrants',
  'listNetworks',
  'createNetwork',
  'renameNetwork',
  'deleteNetwork',
  'listDevices',
  'enrollDevice',
  'downloadDevicePackage',
  'revokeDevice',
  'createDeviceEnrollment',
  'listDeviceEnrollments',
  'cancelDeviceEnrollment',
  'listFederations',
  'federateWithinOrganization',
  'generateFederationCode',
  'getFederationCode',
  'clearFederationCode',
  'redeemFederationCode',
  'updateFederationEnd',
  'stopFederating',
  'getConnectionInfo',
  'downloadArtifact',
  'listExternalPeers',
  'addExternalPeer',
  'updateExternalPeer',
  'removeExternalPeer',
  'listRejectedPeers',
  'listDataPackages',
  'uploadDataPackage',
  'downloadDataPackage',
  'deleteDataPackage',
  'getDeploymentSettings',
  'listAuditLog',
  'getHealth'
] as const satisfies readonly ApiMethod[]

// Compile-time proof that API_METHODS lists every method of ConsoleApi.
type MissingFromList = Exclude<ApiMethod, (typeof API_METHODS)[number]>
export const API_METHODS_COMPLETE: MissingFromList extends never ? true : MissingFromList = true

// ─── events (SSE on HTTP, 'console:event' over IPC) ──────────────────────────

export type ConsoleEvent =
  | { type: 'peerStatus'; peers: PeerStatusDto[] }
  | { type: 'deviceStatus'; networkId: string; devices: DeviceDto[] }
  | { type: 'federationStats'; federations: FederationStatsDto[] }
  | { type: 'auditAppended'; entry: AuditEntryDto }
  | { type: 'rejectedPeer'; peer: RejectedPeerDto }
  | { type: 'health'; health: HealthDto }
  | { type: 'changed'; area: 'accounts' | 'networks' | 'devices' | 'federations' | 'peers' | 'packages'; networkId?: string }

export type ConsoleEventType = ConsoleEvent['type']

/** The object the preload (or the browser shim) puts on window.fedgate. */
export type FedgateBridge = ConsoleApi & {
  /** Subscribe to pushed events; returns an unsubscribe function. */
  onEvent(listener: (event: ConsoleEvent) => void): () => void
}

export const API_GLOBAL = 'fedgate'
export const IPC_EVENT_CHANNEL = 'console:event'
export const channelFor = (method: ApiMethod): string => `console:${method}`
