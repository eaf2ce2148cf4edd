// Data packages: list, upload (base64), download, delete.

import { Type, type Static } from '@sinclair/typebox'
import { Args, DownloadDto, Dto, Id, Iso, Nothing, Nullable, OneOf, Text, methods } from './fields.ts'

export const PackageSource = Dto({
  kind: OneOf(['device', 'operator', 'federation', 'peer'] as const),
  label: Type.String({ description: 'Device callsign, username, federated network name or peer display name.' }),
  id: Nullable(Type.String())
})
export type PackageSource = Static<typeof PackageSource>

export const DataPackageDto = Dto({
  id: Type.String(),
  networkId: Type.String(),
  hash: Type.String(),
  name: Type.String(),
  size: Type.Integer(),
  mimeType: Type.String(),
  createdAt: Iso(),
  source: PackageSource,
  private: Type.Boolean(),
  sharedWith: Type.Array(Dto({ kind: OneOf(['federation', 'peer'] as const), id: Type.String(), label: Type.String(), at: Iso() }), {
    description: 'Federations and peers it was shared with.'
  })
})
export type DataPackageDto = Static<typeof DataPackageDto>

export const packageSchemas = methods({
  listDataPackages: { args: Args({ networkId: Id() }), result: Type.Array(DataPackageDto) },
  uploadDataPackage: {
    args: Args({
      networkId: Id(),
      name: Text({ min: 1, max: 200 }),
      contentBase64: Text({ format: 'base64', trim: false, max: Infinity }),
      mimeType: Type.Optional(Text({ max: 100 }))
    }),
    result: DataPackageDto
  },
  downloadDataPackage: { args: Args({ id: Id() }), result: DownloadDto },
  deleteDataPackage: { args: Args({ id: Id() }), result: Nothing() }
})
