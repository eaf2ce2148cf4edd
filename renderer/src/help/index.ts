// The help topics, bundled with the console (nothing is fetched), and which topic each page and tab opens with.

import type { NetworkTab, Page } from '../stores/nav.ts'
import { CONSOLE_TOPICS } from './topics-console.ts'
import { FEDERATION_TOPICS } from './topics-federation.ts'
import type { HelpTopic } from './types.ts'

export type { HelpBlock, HelpTopic } from './types.ts'

/** Reading order on the help page: the network and its tabs first, then federation, then the rest of the console. */
export const HELP_TOPICS: HelpTopic[] = [CONSOLE_TOPICS[0]!, CONSOLE_TOPICS[1]!, ...FEDERATION_TOPICS, ...CONSOLE_TOPICS.slice(2)]

export function topicById(id: string | null | undefined): HelpTopic | undefined {
  return HELP_TOPICS.find((t) => t.id === id)
}

const PAGE_TOPIC: Record<Exclude<Page, 'network'>, string> = {
  networks: 'networks',
  organizations: 'plans',
  teams: 'permissions',
  users: 'permissions',
  audit: 'audit',
  health: 'health',
  settings: 'settings',
  help: 'networks',
  map: 'map'
}
const TAB_TOPIC: Record<NetworkTab, string> = {
  devices: 'enrollment',
  federations: 'federating',
  peers: 'tak-peers',
  packages: 'packages',
  map: 'map'
}

/** The topic the "?" of a page (or of a network's tab) opens. */
export function topicForPlace(page: Page, tab: NetworkTab): string {
  return page === 'network' ? TAB_TOPIC[tab] : PAGE_TOPIC[page]
}
