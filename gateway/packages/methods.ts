// Console methods for data packages: list a network's packages, upload and download as base64, delete (audited).

import type { DataPackageDto } from '../api/contract.ts'
import { defineMethods } from '../services.ts'
import { forbidden, invalid, notFound, unavailable } from '../api/errors.ts'
import type { Services } from '../services.ts'
import type { DataPackageRecord, UserRecord } from '../store/schema.ts'
import { packagesOf } from './index.ts'
import { requireVisibleNetwork } from '../accounts/networks.ts'
import { formatBytes, PackageUploadError } from './store.ts'

function toDataPackageDto(p: DataPackageRecord): DataPackageDto {
  return {
    id: p.id,
    networkId: p.networkId,
    hash: p.hash,
    name: p.name,
    size: p.size,
    mimeType: p.mimeType,
    createdAt: p.createdAt,
    source: { ...p.source },
    private: p.private,
    sharedWith: p.sharedWith.map((s) => ({ ...s }))
  }
}

function requirePackage(gw: Services, user: UserRecord, id: string): DataPackageRecord {
  const record = packagesOf(gw).byId(id)
  // Someone outside the network's organization learns nothing, not even that the package exists.
  if (!record || !gw.accounts.canSeeNetwork(user, record.networkId))
    throw notFound('That data package does not exist (it may have been deleted).')
  return record
}

export const packageMethods = defineMethods({
  listDataPackages: {
    auth: 'user',
    run({ args, gw, user }) {
      requireVisibleNetwork(gw, user, args.networkId)
      return packagesOf(gw).listForNetwork(args.networkId).map(toDataPackageDto)
    }
  },

  uploadDataPackage: {
    auth: { anyOf: ['manageDataPackages'], networks: (args) => [args.networkId] },
    // The package as base64 (4/3 of its bytes) and room for the name, the network id and the JSON around them.
    maxBodyBytes: (gw) => Math.ceil((gw.settings.Packages.MaxBytes * 4) / 3) + 64 * 1024,
    async run({ args, gw, user, audit }) {
      const maxBytes = gw.settings.Packages.MaxBytes
      // Decoded size is about 3/4 of the text; refuse clearly oversized uploads before allocating the bytes.
      if (Math.floor((args.contentBase64.length * 3) / 4) > maxBytes + 3) {
        throw invalid(`The file is larger than the limit of ${formatBytes(maxBytes)}.`)
      }
      const bytes = Buffer.from(args.contentBase64, 'base64')
      let record: DataPackageRecord
      try {
        record = await packagesOf(gw).ingestBuffer(bytes, {
          networkId: args.networkId,
          name: args.name,
          mimeType: args.mimeType,
          source: { kind: 'operator', label: user.username, id: user.id }
        })
      } catch (err) {
        if (err instanceof PackageUploadError) throw err.reason === 'disk_full' ? unavailable(err.message) : invalid(err.message)
        throw err
      }
      const organizationId = gw.accounts.organizationOfNetwork(args.networkId)
      audit(
        'uploadDataPackage',
        record.name,
        { packageId: record.id, networkId: args.networkId, size: record.size, hash: record.hash },
        organizationId
      )
      gw.events.emit({ type: 'changed', area: 'packages', networkId: args.networkId })
      return toDataPackageDto(record)
    }
  },

  downloadDataPackage: {
    auth: 'user',
    async run({ args, gw, user }) {
      const record = requirePackage(gw, user, args.id)
      const bytes = await packagesOf(gw).readBytes(record)
      return { filename: record.name, mimeType: record.mimeType, contentBase64: bytes.toString('base64') }
    }
  },

  deleteDataPackage: {
    auth: 'user',
    async run({ args, gw, user }) {
      const record = requirePackage(gw, user, args.id)
      if (!gw.accounts.hasPermission(user, record.networkId, 'manageDataPackages')) {
        throw forbidden(gw.accounts.describeMissingPermission(record.networkId, ['manageDataPackages']))
      }
      const organizationId = gw.accounts.organizationOfNetwork(record.networkId)
      await packagesOf(gw).remove(record.id, { name: user.username, organizationId })
      gw.events.emit({ type: 'changed', area: 'packages', networkId: record.networkId })
      return null
    }
  }
})
