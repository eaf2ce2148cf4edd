// Whether the web console can reach its gateway right now. While it cannot, the frame shows a banner and greys what
// it shows as stale; each return of the gateway bumps `returns`, and whatever shows gateway data reloads on it.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import { onReachability } from '../api.ts'

export const useConnectionStore = defineStore('connection', () => {
  const reachable = ref(true)
  const returns = ref(0)
  onReachability((now) => {
    reachable.value = now
    if (now) returns.value++
  })
  return { reachable, returns }
})
