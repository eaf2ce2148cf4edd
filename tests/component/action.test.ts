// @vitest-environment happy-dom
// useAction, the state every create/edit/confirm dialog shares: busy while the call runs, the gateway's sentence in
// place when it fails (the dialog stays open), closed when it succeeds, and a clean start when opened again.

import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { nextTick, ref } from 'vue'
import ConfirmDialog from '../../renderer/src/components/ConfirmDialog.vue'
import { useAction } from '../../renderer/src/composables/action.ts'
import { GatewayError, mountWithVuetify, unmountAll } from './fake-gateway.ts'

/** A call the test finishes by hand, to look at the state while it runs. */
function pending(): { call: () => Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve = (): void => undefined
  let reject = (_err: unknown): void => undefined
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { call: () => promise, resolve, reject }
}

afterEach(unmountAll)

describe('useAction', () => {
  it('busy while the call runs; success closes the dialog and leaves no error', async () => {
    const action = useAction()
    action.open.value = true
    const call = pending()
    const running = action.run(call.call)
    expect(action.busy.value).toBe(true)
    expect(action.open.value).toBe(true)
    call.resolve()
    await running
    expect(action.busy.value).toBe(false)
    expect(action.open.value).toBe(false)
    expect(action.error.value).toBeNull()
  })

  it('a failure shows the gateway sentence, keeps the dialog open and ends busy; run itself does not reject', async () => {
    const action = useAction()
    action.open.value = true
    const call = pending()
    const running = action.run(call.call)
    call.reject(new GatewayError('conflict', 'A network named Alpha already exists.'))
    await expect(running).resolves.toBeUndefined()
    expect(action.error.value).toBe('A network named Alpha already exists.')
    expect(action.open.value).toBe(true)
    expect(action.busy.value).toBe(false)
  })

  it('the desktop preload’s plain {code, message} rejection reads the same', async () => {
    const action = useAction()
    await action.run(() => Promise.reject({ code: 'forbidden', message: "Error invoking remote method 'createTeam': Error: Not allowed." }))
    expect(action.error.value).toBe('Not allowed.')
  })

  it('a new attempt clears the last error before it runs', async () => {
    const action = useAction()
    await action.run(() => Promise.reject(new Error('first')))
    const call = pending()
    const running = action.run(call.call)
    expect(action.error.value).toBeNull()
    call.resolve()
    await running
  })

  it('opening again starts without the last error', async () => {
    const action = useAction()
    action.open.value = true
    await nextTick()
    await action.run(() => Promise.reject(new Error('Name taken.')))
    action.open.value = false
    await nextTick()
    expect(action.error.value).toBe('Name taken.')
    action.open.value = true
    await nextTick()
    expect(action.error.value).toBeNull()
  })

  it('keepOpen: a dialog that shows a result stays open on success', async () => {
    const action = useAction()
    action.open.value = true
    await action.run(() => Promise.resolve(), { keepOpen: true })
    expect(action.open.value).toBe(true)
    expect(action.busy.value).toBe(false)
  })

  it('works on a flag the dialog already has (a v-model)', async () => {
    const open = ref(true)
    const action = useAction(open)
    await action.run(() => Promise.resolve())
    expect(open.value).toBe(false)
  })
})

describe('ConfirmDialog (on useAction)', () => {
  const dialog = (): HTMLElement | null => document.querySelector<HTMLElement>('[data-testid="confirm-dialog"]')
  const confirmButton = (): HTMLButtonElement =>
    [...document.querySelectorAll<HTMLButtonElement>('[data-testid="confirm-dialog"] button')].find((b) =>
      b.textContent?.includes('Delete network')
    )!

  async function mountDialog(action: () => Promise<void>): Promise<{ onUpdate: ReturnType<typeof vi.fn> }> {
    const onUpdate = vi.fn()
    await mountWithVuetify(ConfirmDialog, {
      modelValue: true,
      'onUpdate:modelValue': onUpdate,
      title: "Delete network 'Alpha'?",
      text: 'This cannot be undone.',
      confirmLabel: 'Delete network',
      action
    })
    return { onUpdate }
  }

  it('the button spins while the call runs, then the dialog asks to close', async () => {
    const call = pending()
    const { onUpdate } = await mountDialog(call.call)
    confirmButton().click()
    await nextTick()
    expect(confirmButton().className).toContain('v-btn--loading')
    call.resolve()
    await flushPromises()
    expect(confirmButton().className).not.toContain('v-btn--loading')
    expect(onUpdate).toHaveBeenCalledWith(false)
  })

  it('a refusal is shown in the dialog, which stays open', async () => {
    const { onUpdate } = await mountDialog(() => Promise.reject(new GatewayError('conflict', 'The network still federates with Bravo.')))
    expect(dialog()?.textContent).not.toContain('still federates')
    confirmButton().click()
    await flushPromises()
    expect(dialog()?.querySelector('.v-alert')?.textContent).toContain('The network still federates with Bravo.')
    expect(onUpdate).not.toHaveBeenCalled()
  })
})
