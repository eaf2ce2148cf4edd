// @vitest-environment happy-dom
// The four toggles as switches that cannot be hit by accident: a flip says in words what it will do and applies only
// when confirmed; Cancel sends nothing; after the change Undo applies the old value again; read-only ends are chips.

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Toggles } from '../../gateway/api/contract.ts'
import ToggleChips from '../../renderer/src/components/ToggleChips.vue'
import { useNotifyStore } from '../../renderer/src/stores/notify.ts'
import { fakeGateway, mountWithVuetify, unmountAll } from './fake-gateway.ts'

const TOGGLES: Toggles = { incoming: true, outgoing: true, acceptPackages: false, sharePackages: true }
let applied: [keyof Toggles, boolean][]

beforeEach(() => {
  fakeGateway({})
  setActivePinia(createPinia())
  applied = []
})
afterEach(unmountAll)

const mountToggles = (editable = true) =>
  mountWithVuetify(ToggleChips, {
    toggles: { ...TOGGLES },
    editable,
    label: 'ours',
    ours: 'Alpha North',
    theirs: 'Bravo Main',
    apply: async (key: keyof Toggles, value: boolean) => {
      applied.push([key, value])
    }
  })

const byText = (selector: string, text: string): HTMLElement | undefined =>
  [...document.querySelectorAll<HTMLElement>(selector)].find((b) => b.textContent?.trim() === text)

async function flip(name: string): Promise<string | null | undefined> {
  document.querySelector<HTMLInputElement>(`[data-toggle="${name}"] input[type="checkbox"]`)?.click()
  await flushPromises()
  return document.querySelector('[data-testid="toggle-sentence"]')?.textContent
}

describe('toggles', () => {
  it('say in words what Out and DP-Out will do, and Cancel sends nothing', async () => {
    await mountToggles()
    expect(await flip('Out')).toBe('Alpha North will stop sending positions to Bravo Main.')
    byText('button', 'Cancel')?.click()
    await flushPromises()
    expect(await flip('DP-Out')).toBe('Alpha North will stop sending data packages to Bravo Main.')
    byText('button', 'Cancel')?.click()
    await flushPromises()
    expect(await flip('DP-In')).toBe('Alpha North will start accepting data packages from Bravo Main.')
    byText('button', 'Cancel')?.click()
    await flushPromises()
    expect(applied).toEqual([])
  })

  it('apply once confirmed, then Undo applies the old value again', async () => {
    await mountToggles()
    expect(await flip('In')).toBe('Alpha North will stop receiving positions from Bravo Main.')
    byText('button', 'Turn In off')?.click()
    await flushPromises()
    expect(applied).toEqual([['incoming', false]])
    expect(document.querySelector('[data-testid="toggle-undo"]')?.textContent).toContain(
      'Alpha North stopped receiving positions from Bravo Main.'
    )
    byText('button', 'Undo')?.click()
    await flushPromises()
    expect(applied).toEqual([
      ['incoming', false],
      ['incoming', true]
    ])
    expect(useNotifyStore().current?.text).toBe('Undone: Alpha North will start receiving positions from Bravo Main.')
  })

  it('a refused change offers no Undo and says why', async () => {
    const wrapper = await mountToggles()
    await wrapper.setProps({ apply: async () => Promise.reject(new Error('Network Alpha North is on the Free plan.')) })
    await flip('Out')
    byText('button', 'Turn Out off')?.click()
    await flushPromises()
    expect(document.querySelector('[data-testid="toggle-undo"]')?.textContent ?? '').not.toContain('Undo')
    expect(useNotifyStore().current?.color).toBe('error')
  })

  it('read-only: chips with their state, no switch', async () => {
    const wrapper = await mountToggles(false)
    expect(wrapper.findAll('input[type="checkbox"]')).toHaveLength(0)
    expect(wrapper.findAll('[data-toggle]').map((c) => `${c.text()}=${c.attributes('data-state')}`)).toEqual([
      'In=on',
      'Out=on',
      'DP-In=off',
      'DP-Out=on'
    ])
  })
})
