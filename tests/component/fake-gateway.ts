// The one fake the house allows in component tests: window.fedgate (the transport), answering from canned functions,
// recording every call, and pushing console events when a test says so. Plus mounting with Vuetify.

import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createVuetify } from 'vuetify'
import * as components from 'vuetify/components'
import * as directives from 'vuetify/directives'
import type { ConsoleEvent } from '../../gateway/api/contract.ts'

/** A failed call as the transports deliver it: an Error with the gateway's code. */
export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string
  ) {
    super(message)
  }
}

type Listener = (event: ConsoleEvent) => void
type Answer = (args?: unknown) => unknown

export interface FakeGateway {
  /** Method names in call order. */
  calls: string[]
  /** Method → answer; a missing method answers `not_found`, an answer may throw a GatewayError. */
  answers: Record<string, Answer>
  push(event: ConsoleEvent): void
  count(method: string): number
}

let current: FakeGateway | null = null
const listeners = new Set<Listener>()

// The renderer keeps the first window.fedgate it finds, so one bridge per test file forwards to the current fake.
const bridge = new Proxy({} as Record<string, unknown>, {
  get(_target, name) {
    if (typeof name !== 'string' || name === 'then') return undefined
    if (name === 'onEvent') {
      return (listener: Listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      }
    }
    return async (args?: unknown) => {
      if (current === null) throw new Error('no fake gateway installed')
      current.calls.push(name)
      const answer = current.answers[name]
      if (!answer) throw new GatewayError('not_found', `No method ${name}`)
      return answer(args)
    }
  }
})

/** A fresh fake for one test; listeners from unmounted components are dropped by their own unsubscribe. */
export function fakeGateway(answers: Record<string, Answer>): FakeGateway {
  const calls: string[] = []
  current = {
    calls,
    answers: { ...answers },
    push: (event) => {
      for (const listener of listeners) listener(event)
    },
    count: (method) => calls.filter((c) => c === method).length
  }
  if (!('fedgate' in window)) Object.defineProperty(window, 'fedgate', { value: bridge, configurable: true })
  return current
}

// happy-dom has no visualViewport; an open v-dialog positions itself by it.
if (!('visualViewport' in globalThis)) {
  Object.defineProperty(globalThis, 'visualViewport', {
    value: Object.assign(new EventTarget(), { width: 1400, height: 900, offsetLeft: 0, offsetTop: 0, pageLeft: 0, pageTop: 0, scale: 1 }),
    configurable: true
  })
}

const mounted: VueWrapper[] = []

/** Mounts a component with Vuetify into the document and waits for its first loads. */
export async function mountWithVuetify(component: unknown, props: Record<string, unknown> = {}): Promise<VueWrapper> {
  const wrapper = mount(component as Parameters<typeof mount>[0], {
    props,
    global: { plugins: [createVuetify({ components, directives })] },
    attachTo: document.body
  })
  mounted.push(wrapper)
  await flushPromises()
  return wrapper
}

export function unmountAll(): void {
  for (const wrapper of mounted.splice(0)) wrapper.unmount()
  document.body.innerHTML = ''
}

export function buttonTexts(wrapper: VueWrapper): string[] {
  return wrapper.findAll('button').map((b) => b.text().trim())
}
