// @vitest-environment happy-dom
// The "What crosses" editor (issue 20): each direction says what its filter lets cross and how many events it kept
// back; a new filter starts with every kind ticked (emergencies cross unless unticked, and the dialog says so);
// unticking positions and adding a type prefix sends exactly that filter; a bad prefix is refused before sending.

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WhatCrosses from '../../renderer/src/components/WhatCrosses.vue'
import type { FilterChanges } from '../../renderer/src/lib/traffic-words.ts'
import { fakeGateway, mountWithVuetify, unmountAll } from './fake-gateway.ts'

let applied: FilterChanges[]

beforeEach(() => {
  fakeGateway({})
  setActivePinia(createPinia())
  applied = []
})
afterEach(unmountAll)

const mount = (props: Record<string, unknown> = {}) =>
  mountWithVuetify(WhatCrosses, {
    inFilter: null,
    outFilter: { kinds: ['chat', 'emergencies'] },
    inFiltered: 0,
    outFiltered: 7,
    editable: true,
    theirs: 'HQ',
    apply: async (changes: FilterChanges) => {
      applied.push(changes)
    },
    ...props
  })

const q = <T extends HTMLElement = HTMLElement>(testid: string): T | null => document.querySelector<T>(`[data-testid="${testid}"]`)

async function openEditor(): Promise<void> {
  q('what-crosses-edit')!.click()
  await flushPromises()
}

describe('What crosses', () => {
  it('says per direction what crosses and what the filter kept back', async () => {
    await mount()
    expect(q('crosses-in')!.textContent).toContain('Everything')
    expect(q('crosses-out')!.textContent).toContain('Only chat, emergencies')
    expect(q('kept-out')!.textContent).toContain('7 kept back')
    expect(q('kept-in')).toBeNull()
  })

  it('starts a new filter with every kind ticked, emergencies included, and says emergencies cross unless unticked', async () => {
    await mount()
    await openEditor()
    expect(q('what-crosses-dialog')!.textContent).toContain('emergencies cross unless you untick them')
    // Incoming has no filter: turning Everything off shows the kinds, all ticked.
    q<HTMLInputElement>('everything-in')!.querySelector('input')!.click()
    await flushPromises()
    for (const kind of ['positions', 'chat', 'markers', 'emergencies', 'packages', 'other'])
      expect(q(`kind-in-${kind}`)!.className, kind).toContain('text-success')
  })

  it('sends the kinds left ticked and the prefixes typed; leaves the other direction as it was', async () => {
    await mount()
    await openEditor()
    q<HTMLInputElement>('everything-in')!.querySelector('input')!.click()
    await flushPromises()
    q('kind-in-positions')!.click()
    await flushPromises()
    const input = q('prefixes-in')!.querySelector('input')!
    input.value = 'a-f-G-U-C, a-f-G-U-C'
    input.dispatchEvent(new Event('input'))
    await flushPromises()
    q('what-crosses-save')!.click()
    await flushPromises()
    expect(applied).toEqual([
      {
        inFilter: { kinds: ['chat', 'markers', 'emergencies', 'packages', 'other'], typePrefixes: ['a-f-G-U-C'] },
        outFilter: { kinds: ['chat', 'emergencies'] }
      }
    ])
  })

  it('refuses a prefix that is not a CoT type before sending anything', async () => {
    await mount()
    await openEditor()
    const input = q('prefixes-out')!.querySelector('input')!
    input.value = 'a-f, a+f'
    input.dispatchEvent(new Event('input'))
    await flushPromises()
    expect(q('what-crosses-problem')!.textContent).toContain("'a+f' is not a CoT type")
    q('what-crosses-save')!.click()
    await flushPromises()
    expect(applied).toEqual([])
  })

  it('offers no editor without the permission', async () => {
    await mount({ editable: false })
    expect(q('what-crosses-edit')).toBeNull()
  })
})
