// Short messages for the operator (saved, copied, failed), shown one at a time in the snackbar.
// Errors from the gateway arrive here as the sentences the gateway wrote; a lost session sends the operator back to sign in.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import { errorMessage, isUnreachable } from '../api.ts'

export interface Notice {
  id: number
  text: string
  color: 'success' | 'error' | 'info' | 'warning'
}

export const useNotifyStore = defineStore('notify', () => {
  const current = ref<Notice | null>(null)
  const visible = ref(false)
  let nextId = 1

  function show(text: string, color: Notice['color'] = 'info'): void {
    current.value = { id: nextId++, text, color }
    visible.value = true
  }

  return {
    current,
    visible,
    show,
    success: (text: string) => show(text, 'success'),
    // A lost gateway is told once, by the connection banner, not by every call that failed meanwhile.
    error: (err: unknown) => {
      if (!isUnreachable(err)) show(errorMessage(err), 'error')
    }
  }
})
