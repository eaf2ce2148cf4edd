// The four toggles said as what they do to traffic between two named places, so a change reads as a sentence
// before it applies ("Alpha North will stop sending positions to Bravo Main") and again when it is undone.

import type { Toggles } from '../../../gateway/api/contract.ts'

export const TOGGLE_NAMES: Record<keyof Toggles, string> = {
  incoming: 'In',
  outgoing: 'Out',
  acceptPackages: 'DP-In',
  sharePackages: 'DP-Out'
}

const ACTIVITY: Record<keyof Toggles, string> = {
  incoming: 'receiving positions from',
  outgoing: 'sending positions to',
  acceptPackages: 'accepting data packages from',
  sharePackages: 'sending data packages to'
}

/** "Alpha North will stop sending positions to Bravo Main." */
export function toggleSentence(ours: string, theirs: string, key: keyof Toggles, value: boolean): string {
  return `${ours} will ${value ? 'start' : 'stop'} ${ACTIVITY[key]} ${theirs}.`
}

/** "Alpha North stopped sending positions to Bravo Main." (after the change applied) */
export function toggleDone(ours: string, theirs: string, key: keyof Toggles, value: boolean): string {
  return `${ours} ${value ? 'started' : 'stopped'} ${ACTIVITY[key]} ${theirs}.`
}
