// "Are you sure?" for an action on one row: remember the row, open a ConfirmDialog, run the action when confirmed.
// The dialog itself shows the gateway's answer if the action fails (ConfirmDialog's `action`).
//   const revoke = useConfirm(async (device: DeviceDto) => { … })
//   <v-btn @click="revoke.ask(device)" />
//   <ConfirmDialog v-model="revoke.open" :title="`Revoke ${revoke.target?.callsign ?? ''}?`" :action="revoke.confirm" … />

import { shallowReactive } from 'vue'

export interface Confirmation<T> {
  open: boolean
  target: T | null
  ask(target: T): void
  confirm(): Promise<void>
}

export function useConfirm<T>(act: (target: T) => Promise<void>): Confirmation<T> {
  const state: Confirmation<T> = shallowReactive({
    open: false,
    target: null,
    ask(target: T): void {
      state.target = target
      state.open = true
    },
    async confirm(): Promise<void> {
      if (state.target !== null) await act(state.target)
    }
  })
  return state
}
