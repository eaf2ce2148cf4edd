// Devices of the network being viewed, kept live by `deviceStatus` events; enrollment hands back the one-time
// passwords and packages, which live only in the dialog that shows them, never in this store.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DeviceDto, EnrolledDevice, PackageVariant } from '../../../gateway/api/contract.ts'
import { api, isNotAvailable, onEvent } from '../api.ts'
import { saveDownload } from '../lib/files.ts'

export const useDevicesStore = defineStore('devices', () => {
  const networkId = ref<string | null>(null)
  const list = ref<DeviceDto[]>([])
  const available = ref<boolean | null>(null)
  const loading = ref(false)

  async function load(forNetwork: string): Promise<void> {
    if (networkId.value !== forNetwork) list.value = []
    networkId.value = forNetwork
    loading.value = true
    try {
      const devices = await api().listDevices({ networkId: forNetwork })
      if (networkId.value === forNetwork) list.value = devices
      available.value = true
    } catch (err) {
      if (!isNotAvailable(err)) throw err
      available.value = false
    } finally {
      loading.value = false
    }
  }

  /** Follows pushed device status for the viewed network; returns the unsubscribe function. */
  function follow(): () => void {
    return onEvent((event) => {
      if (event.type === 'deviceStatus' && event.networkId === networkId.value) list.value = event.devices
      else if (event.type === 'changed' && event.area === 'devices' && event.networkId === networkId.value && networkId.value !== null) {
        void load(networkId.value).catch(() => undefined)
      }
    })
  }

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
    if (networkId.value !== null) await load(networkId.value)
  }

  return { networkId, list, available, loading, load, follow, enroll, downloadPackage, revoke }
})
