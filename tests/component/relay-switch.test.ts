// @vitest-environment happy-dom
// The Relay switch beside the toggles (issue 20): it says in words what relay does with the current limit, a flip
// sends relay alone, and a read-only end shows a chip only when it relays.

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import RelaySwitch from '../../renderer/src/components/RelaySwitch.vue'
import { fakeGateway, mountWithVuetify, unmountAll } from './fake-gateway.ts'

let applied: unknown[]

beforeEach(() => {
  fakeGateway({})
  setActivePinia(createPinia())
  applied = []
})
afterEach(unmountAll)

const mountRelay = (relay: boolean, editable = true) =>
  mountWithVuetify(RelaySwitch, {
    settings: { relay, maxHops: 3 },
    editable,
    label: 'ours',
    theirs: 'Bravo Main',
    apply: async (changes: unknown) => {
      applied.push(changes)
    }
  })

const sentence = (): string | null | undefined => document.querySelector('[data-testid="relay-sentence"]')?.textContent

describe('relay switch', () => {
  it('off: says that only our own traffic goes to them; a flip turns relay on and nothing else', async () => {
    await mountRelay(false)
    expect(sentence()).toBe("Off: only this network's own traffic goes to Bravo Main; what came from other federations stays here.")
    document.querySelector<HTMLInputElement>('[data-testid="relay-ours"] input[type="checkbox"]')!.click()
    await flushPromises()
    expect(applied).toEqual([{ relay: true }])
  })

  it('on: names the limit in words', async () => {
    await mountRelay(true)
    expect(sentence()).toBe(
      'On: traffic that reached this network from other federations also goes to Bravo Main, if it has crossed fewer than 3 links so far. It never goes back where it has been.'
    )
  })

  it('read-only: a chip when their end relays, nothing when it does not', async () => {
    await mountRelay(true, false)
    expect(document.querySelector('[data-testid="relay-ours"]')?.textContent?.trim()).toBe('Relay ≤ 3 links')
    unmountAll()
    await mountRelay(false, false)
    expect(document.querySelector('[data-testid="relay-ours"]')?.textContent?.trim()).toBe('')
  })
})
