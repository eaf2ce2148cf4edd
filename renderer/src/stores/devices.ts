// Devices of the network being viewed, kept live by `deviceStatus` events, and the enrollments still waiting for a
// device to enroll itself with its one-time password. Enrollment hands back the one-time passwords and packages,
// which live only in the dialog that shows them, never in this store.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type {
  CreatedDeviceEnrollment,
  DeviceAddressDto,
  DeviceDto,
  DeviceEnrollmentDto,
  EnrolledDevice,
  PackageVariant
} from '../../../gateway/api/contract.ts'
import { api } from '../api.ts'
import { saveDownload } from '../lib/files.ts'
import { useNetworkScope } from './network-scope.ts'

export const useDevicesStore = defineStore('devices', () => {
  const list = ref<DeviceDto[]>([])
  const enrollments = ref<DeviceEnrollmentDto[]>([])
  /** Addresses devices may be told to dial, best first; the tab lets the operator pick one for packages and QR codes. */
  const addresses = ref<DeviceAddressDto[]>([])
  const { networkId, loading, load, reload, follow } = useNetworkScope({
    area: 'devices',
    clear: () => {
      list.value = []
      enrollments.value = []
    },
    // A `changed` event (an enrollment created, cancelled or used) brings both lists again.
    fetch: async (forNetwork) => {
      const [devices, pending] = await Promise.all([
        api().listDevices({ networkId: forNetwork }),
        api().listDeviceEnrollments({ networkId: forNetwork })
      ])
      return { devices, pending }
    },
    apply: ({ devices, pending }) => {
      list.value = devices
      enrollments.value = pending
    },
    // Pushed device status for the viewed network replaces the list without asking again.
    onEvent: (event) => {
      if (event.type === 'deviceStatus' && event.networkId === networkId.value) list.value = event.devices
    }
  })

  async function loadAddresses(): Promise<void> {
    addresses.value = (await api().getDeploymentSettings()).deviceAddresses ?? []
  }

  async function enroll(callsign: string, validDays: number, host?: string): Promise<EnrolledDevice> {
    if (networkId.value === null) throw new Error('Open a network first.')
    const enrolled = await api().enrollDevice({ networkId: networkId.value, callsign, validDays, host })
    await load(networkId.value)
    return enrolled
  }

  /** A one-time password the device enrolls itself with; the password is in the answer only. */
  async function createEnrollment(
    callsign: string,
    validDays: number,
    expiresInHours: number,
    host?: string
  ): Promise<CreatedDeviceEnrollment> {
    if (networkId.value === null) throw new Error('Open a network first.')
    const target = networkId.value
    const created = await api().createDeviceEnrollment({ networkId: target, callsign, validDays, expiresInHours, host })
    // The password exists only in this answer: a failed refresh must not keep it from the operator (the gateway's
    // `changed` event brings the waiting list anyway).
    await load(target).catch(() => undefined)
    return created
  }

  async function cancelEnrollment(id: string): Promise<void> {
    await api().cancelDeviceEnrollment({ id })
    await reload()
  }

  /** Downloads a device's connection package again; resolves to the passwords that open it (shown to the operator). */
  async function downloadPackage(
    id: string,
    variant: PackageVariant,
    host?: string
  ): Promise<{ clientPassword: string; truststorePassword: string }> {
    const download = await api().downloadDevicePackage({ id, variant, host })
    saveDownload(download)
    return { clientPassword: download.clientPassword, truststorePassword: download.truststorePassword }
  }

  async function revoke(id: string): Promise<void> {
    await api().revokeDevice({ id })
    await reload()
  }

  return {
    networkId,
    list,
    enrollments,
    addresses,
    loadAddresses,
    loading,
    load,
    follow,
    enroll,
    createEnrollment,
    cancelEnrollment,
    downloadPackage,
    revoke
  }
})
