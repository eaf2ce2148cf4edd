// Every contract method by name, as plain strings: what the Electron preload needs to build window.fedgate. The
// schemas themselves (gateway/api/schema, TypeBox) stay out of the preload, which must stay one small sandboxed file.

import type { ApiMethod } from './schema/index.ts'

export const METHOD_NAMES = [
  'getSetupState',
  'setupFirstAdmin',
  'login',
  'logout',
  'whoami',
  'listOrganizations',
  'createOrganization',
  'updateOrganization',
  'deleteOrganization',
  'listUsers',
  'createUser',
  'updateUser',
  'resetUserPassword',
  'changeMyPassword',
  'setUserDisabled',
  'deleteUser',
  'listTeams',
  'createTeam',
  'renameTeam',
  'deleteTeam',
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
  'getHealth',
  'getHealthHistory',
  'getLinkHistory'
] as const satisfies readonly ApiMethod[]

// A method added to the schema but not here fails the typecheck (and tests/unit/api/method-names.test.ts).
type Unlisted = Exclude<ApiMethod, (typeof METHOD_NAMES)[number]>
const everyMethodListed: [Unlisted] extends [never] ? true : Unlisted = true
void everyMethodListed
