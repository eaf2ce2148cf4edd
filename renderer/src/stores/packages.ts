// Data packages of the network being viewed: where each came from and where it went, plus operator upload
// (read in chunks with a progress figure), download and delete.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DataPackageDto } from '../../../gateway/api/contract.ts'
import { api } from '../api.ts'
import { fileToBase64, saveDownload } from '../lib/files.ts'
import { useNetworkScope } from './network-scope.ts'

export interface UploadProgress {
  name: string
  /** 0…1 while reading the file, then 1 while the gateway stores it. */
  fraction: number
  phase: 'reading' | 'sending'
}

export const usePackagesStore = defineStore('packages', () => {
  const list = ref<DataPackageDto[]>([])
  const upload = ref<UploadProgress | null>(null)
  const { networkId, loading, load, reload, follow } = useNetworkScope({
    area: 'packages',
    clear: () => (list.value = []),
    fetch: (forNetwork) => api().listDataPackages({ networkId: forNetwork }),
    apply: (packages) => {
      list.value = packages
    }
  })

  async function uploadFile(file: File): Promise<DataPackageDto> {
    if (networkId.value === null) throw new Error('Open a network first.')
    const target = networkId.value
    upload.value = { name: file.name, fraction: 0, phase: 'reading' }
    try {
      const contentBase64 = await fileToBase64(file, (fraction) => {
        upload.value = { name: file.name, fraction, phase: 'reading' }
      })
      upload.value = { name: file.name, fraction: 1, phase: 'sending' }
      const stored = await api().uploadDataPackage({
        networkId: target,
        name: file.name,
        contentBase64,
        ...(file.type ? { mimeType: file.type } : {})
      })
      await load(target)
      return stored
    } finally {
      upload.value = null
    }
  }

  async function download(id: string): Promise<void> {
    saveDownload(await api().downloadDataPackage({ id }))
  }

  async function remove(id: string): Promise<void> {
    await api().deleteDataPackage({ id })
    await reload()
  }

  return { networkId, list, loading, upload, load, reload, follow, uploadFile, download, remove }
})
