// @vitest-environment happy-dom
// The Federation certificate card (Settings, deployment admins): the current fingerprint and end, "Prepare next
// certificate" showing the next one with what to tell partners, and "Switch now" after a confirmation.

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FederationCertificateDto } from '../../gateway/api/contract.ts'
import FederationCertificateCard from '../../renderer/src/components/peers/FederationCertificateCard.vue'
import { fakeGateway, mountWithVuetify, unmountAll, type FakeGateway } from './fake-gateway.ts'

const FP = (byte: string): string => Array.from({ length: 32 }, () => byte).join(':')
const CURRENT = { fingerprint: FP('AA'), notAfter: '2028-03-01T00:00:00.000Z' }
const NEXT = { fingerprint: FP('BB'), notAfter: '2028-12-01T00:00:00.000Z' }
const AUTO = '2028-02-23T00:00:00.000Z'

describe('Federation certificate card', () => {
  let gw: FakeGateway
  let state: FederationCertificateDto

  beforeEach(() => {
    setActivePinia(createPinia())
    state = { current: CURRENT, next: null, previous: null, autoSwitchAt: AUTO }
    gw = fakeGateway({
      getFederationCertificate: () => state,
      prepareNextFederationCertificate: () => (state = { ...state, next: NEXT }),
      switchFederationCertificate: () =>
        (state = { current: NEXT, next: null, previous: { ...CURRENT, switchedAt: '2026-12-08T00:00:00.000Z' }, autoSwitchAt: AUTO })
    })
  })
  afterEach(unmountAll)

  it('prepares the next certificate, then switches to it after a confirmation', async () => {
    const wrapper = await mountWithVuetify(FederationCertificateCard)
    await flushPromises()
    expect(wrapper.text()).toContain('AA:AA')
    expect(wrapper.text()).toContain('7 days before the end')
    expect(wrapper.find('[data-testid="switch-now"]').exists()).toBe(false)

    await wrapper.find('[data-testid="prepare-next"]').trigger('click')
    await flushPromises()
    expect(gw.count('prepareNextFederationCertificate')).toBe(1)
    expect(wrapper.find('[data-testid="next-fingerprint"]').text()).toContain('BB:BB')
    expect(wrapper.find('[data-testid="next-advice"]').text()).toContain('Other Fedgates learn it')

    await wrapper.find('[data-testid="switch-now"]').trigger('click')
    await flushPromises()
    expect(gw.count('switchFederationCertificate')).toBe(0)
    const confirm = [...document.querySelectorAll<HTMLButtonElement>('[data-testid="confirm-dialog"] button')].find((b) =>
      b.textContent?.includes('Switch now')
    )!
    confirm.click()
    await flushPromises()
    expect(gw.count('switchFederationCertificate')).toBe(1)
    expect(wrapper.find('[data-testid="current-fingerprint"]').text()).toContain('BB:BB')
    expect(wrapper.find('[data-testid="previous-certificate"]').text()).toContain('AA:AA')
    expect(wrapper.find('[data-testid="prepare-next"]').exists()).toBe(true)
  })
})
