// The help side panel: which topic it shows, if any. Opened by a page's "?" and closed by the operator.

import { defineStore } from 'pinia'
import { ref } from 'vue'

export const useHelpStore = defineStore('help', () => {
  const topicId = ref<string | null>(null)
  const open = ref(false)

  function show(id: string): void {
    topicId.value = id
    open.value = true
  }

  return { topicId, open, show, close: () => (open.value = false) }
})
