// @ts-check
// The floors of gateway/, lowest first (issue 19): a module imports only from its own floor or one below, so that
// a change low in the house never has to know what is built on top of it. Type-only imports may go up.
// An entry is a folder or a module under gateway/ without its extension; the longest entry that contains a file
// decides its floor. Moving or adding a folder means editing this list, and lint names any module left off it.

/** @type {string[][]} */
export const GATEWAY_FLOORS = [
  // Ground: pure helpers and the contract. services.ts holds only types; net/ guards every listening port.
  ['log', 'internal', 'config', 'cot', 'api', 'net', 'services'],
  ['store', 'routing', 'access'],
  ['pki', 'accounts'],
  ['devices', 'events'],
  ['audit', 'console', 'deployment'],
  ['packages'],
  ['federation'],
  ['index', 'methods'],
  ['cli', 'cli-report']
]
