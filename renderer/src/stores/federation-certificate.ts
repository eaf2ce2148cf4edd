// Our federation certificate for deployment admins: the current one and when it ends, the next one once prepared
// (published to partners before use), and the switch. Every network's federation shares this one certificate.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { FederationCertificateDto } from '../../../gateway/api/contract.ts'
import { api } from '../api.ts'

export const useFederationCertificateStore = defineStore('federationCertificate', () => {
  const certificate = ref<FederationCertificateDto | null>(null)

  async function load(): Promise<void> {
    certificate.value = await api().getFederationCertificate()
  }

  async function prepareNext(): Promise<void> {
    certificate.value = await api().prepareNextFederationCertificate()
  }

  async function switchNow(): Promise<void> {
    certificate.value = await api().switchFederationCertificate()
  }

  return { certificate, load, prepareNext, switchNow }
})
