// A page that shows gateway data asks again when the console gets the gateway back: whatever changed while it was
// unreachable (and the events telling of it) never reached this page. Network tabs and Health do the same in their
// stores (network-scope.ts, health.ts); this is the same for a page whose store keeps no subscription of its own.
//   useReloadOnReconnect(() => users.load())

import { onMounted, onUnmounted } from 'vue'
import { onReachability } from '../api.ts'

export function useReloadOnReconnect(reload: () => Promise<void>): void {
  let stop: (() => void) | null = null
  onMounted(() => {
    stop = onReachability((reachable) => {
      // A failure here is the page's own load failing again: it reports it itself, or the banner already says why.
      if (reachable) void reload().catch(() => undefined)
    })
  })
  onUnmounted(() => stop?.())
}
