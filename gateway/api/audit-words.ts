// The kinds of change the audit log files its entries under, in the words its "What" filter offers. Import-free:
// the renderer reads it through contract.ts, the gateway sorts each action into one kind (audit/sentences.ts).

export const AUDIT_KINDS = [
  'federation',
  'toggles',
  'codes',
  'peers',
  'devices',
  'packages',
  'networks',
  'organizations',
  'users',
  'teams',
  'other'
] as const
export type AuditKind = (typeof AUDIT_KINDS)[number]

export const AUDIT_KIND_LABELS: Record<AuditKind, string> = {
  federation: 'Federations started or stopped',
  toggles: 'Federation switches (In, Out, DP-In, DP-Out)',
  codes: 'Federation codes',
  peers: 'TAK Server peers',
  devices: 'Devices and enrollment',
  packages: 'Data packages',
  networks: 'Networks',
  organizations: 'Organizations',
  users: 'Users',
  teams: 'Teams and permissions',
  other: 'Other changes'
}
