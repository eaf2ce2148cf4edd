// The closed word lists of the contract (error codes, plans, permissions, artifacts): values that both the method
// schemas and the renderer need at runtime. It imports nothing, so the renderer can take it without gateway code.

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

export const PLANS = ['free', 'team', 'enterprise'] as const
export type Plan = (typeof PLANS)[number]

/** The six grantable permissions on a network (docs/ARCHITECTURE.md §5), with their UI labels in PERMISSION_LABELS. */
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

export const ARTIFACTS = ['federation-cert', 'federation-cert-next', 'ca-cert', 'coreconfig-outgoing', 'coreconfig-federate'] as const
export type ArtifactKind = (typeof ARTIFACTS)[number]

/** Which connection package: ATAK (also what TAK Servers hand out), iTAK's flat zip, or WinTAK's nested one. */
export const PACKAGE_VARIANTS = ['atak', 'itak', 'wintak'] as const
export type PackageVariant = (typeof PACKAGE_VARIANTS)[number]

/** What an operator lets cross a federation end or peer in one direction (issue 20), in the order the console shows them. */
export const TRAFFIC_KINDS = ['positions', 'chat', 'markers', 'emergencies', 'packages', 'other'] as const
export type TrafficKind = (typeof TRAFFIC_KINDS)[number]
