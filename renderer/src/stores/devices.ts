// Devices of the network being viewed, kept live by `deviceStatus` events; enrollment hands back the one-time
// passwords and packages, which live only in the dialog that shows them, never in this store.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DeviceDto, EnrolledDevice, PackageVariant } from '../../../gateway/api/contract.ts'
import { api } from '../api.ts'
import { saveDownload } from '../lib/files.ts'
import { useNetworkScope } from './network-scope.ts'

export const useDevicesStore = defineStore('devices', () => {
  const list = ref<DeviceDto[]>([])
  const { networkId, available, loading, load, reload, follow } = useNetworkScope({
    area: 'devices',
    clear: () => (list.value = []),
    fetch: (forNetwork) => api().listDevices({ networkId: forNetwork }),
    apply: (devices) => {
      list.value = devices
    },
    // Pushed device status for the viewed network replaces the list without asking again.
    onEvent: (event) => {
      if (event.type === 'deviceStatus' && event.networkId === networkId.value) list.value = event.devices
    }
  })

  async function enroll(callsign: string, validDays: number): Promise<EnrolledDevice> {
    if (networkId.value === null) throw new Error('Open a network first.')
    const enrolled = await api().enrollDevice({ networkId: networkId.value, callsign, validDays })
    await load(networkId.value)
    return enrolled
  }

  /** Downloads a device's connection package again; resolves to the passwords that open it (shown to the operator). */
  async function downloadPackage(id: string, variant: PackageVariant): Promise<{ clientPassword: string; truststorePassword: string }> {
    const download = await api().downloadDevicePackage({ id, variant })
    saveDownload(download)
    return { clientPassword: download.clientPassword, truststorePassword: download.truststorePassword }
  }

  async function revoke(id: string): Promise<void> {
    await api().revokeDevice({ id })
    await reload()
  }

  return { networkId, list, available, loading, load, follow, enroll, downloadPackage, revoke }
})
