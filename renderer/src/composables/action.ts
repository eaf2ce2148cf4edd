// The state of a dialog (or form) that runs one gateway call: busy while it runs, the gateway's sentence in place
// when it fails, closed when it succeeds. The pages keep what they send and what they say on success.

import { ref, watch, type Ref } from 'vue'
import { errorMessage } from '../api.ts'

export interface Action {
  open: Ref<boolean>
  busy: Ref<boolean>
  error: Ref<string | null>
  /** Runs the call; never rejects, a failure becomes `error`. `keepOpen` for a dialog that shows a result instead of closing. */
  run(call: () => Promise<unknown>, options?: { keepOpen?: boolean }): Promise<void>
}

/** `open` is the dialog's own flag when it already has one (a v-model); otherwise a new one. */
export function useAction(open: Ref<boolean> = ref(false)): Action {
  const busy = ref(false)
  const error = ref<string | null>(null)

  // The last attempt's error must not greet the next opening.
  watch(open, (isOpen) => {
    if (isOpen) error.value = null
  })

  async function run(call: () => Promise<unknown>, options: { keepOpen?: boolean } = {}): Promise<void> {
    busy.value = true
    error.value = null
    try {
      await call()
      if (!options.keepOpen) open.value = false
    } catch (err) {
      error.value = errorMessage(err)
    } finally {
      busy.value = false
    }
  }

  return { open, busy, error, run }
}
