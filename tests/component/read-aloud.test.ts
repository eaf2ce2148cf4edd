// @vitest-environment happy-dom
// Values read out aloud: passwords in groups of four characters and fingerprints in groups of four bytes, large and
// monospace, with a copy button that copies the value itself (no group spaces).

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import ReadAloud from '../../renderer/src/components/ReadAloud.vue'
import { fakeGateway, mountWithVuetify, unmountAll } from './fake-gateway.ts'

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0')).join(':')
let copied: string[]

beforeEach(() => {
  fakeGateway({})
  setActivePinia(createPinia())
  copied = []
  Object.defineProperty(navigator, 'clipboard', {
    value: { writeText: async (text: string) => void copied.push(text) },
    configurable: true
  })
})
afterEach(unmountAll)

const groupsOf = (testid: string): string[] =>
  [...(document.querySelector(`[data-testid="${testid}"]`)?.children ?? [])].map((g) => g.textContent ?? '')

describe('ReadAloud', () => {
  it('a password in groups of four; the text and the copy are the password without spaces', async () => {
    const wrapper = await mountWithVuetify(ReadAloud, { value: 'k7Qm9xPa2Z', kind: 'password', what: 'Password', testid: 'pw' })
    expect(groupsOf('pw')).toEqual(['k7Qm', '9xPa', '2Z'])
    expect(document.querySelector('[data-testid="pw"]')?.textContent).toBe('k7Qm9xPa2Z')
    await wrapper.find('button[aria-label="Copy password"]').trigger('click')
    await flushPromises()
    expect(copied).toEqual(['k7Qm9xPa2Z'])
  })

  it('a fingerprint in eight groups of four bytes that keep their colons', async () => {
    const wrapper = await mountWithVuetify(ReadAloud, { value: FINGERPRINT, kind: 'fingerprint', what: 'Fingerprint', testid: 'fp' })
    const groups = groupsOf('fp')
    expect(groups).toHaveLength(8)
    expect(groups[0]).toBe('00:01:02:03:')
    expect(groups[7]).toBe('1C:1D:1E:1F')
    expect(groups.join('')).toBe(FINGERPRINT)
    await wrapper.find('button[aria-label="Copy fingerprint"]').trigger('click')
    await flushPromises()
    expect(copied).toEqual([FINGERPRINT])
  })
})
