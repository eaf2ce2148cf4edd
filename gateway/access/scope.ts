// The unit that guesses are counted against: one address, or the /64 an IPv6 host can roam within.

import net from 'node:net'

/**
 * Whom wrong passwords are counted against: an IPv4 address, or an IPv6 /64 (one host can take any address of its
 * /64, so counting per address would let it guess on without end). A link-local address's zone (`%eth0`) is dropped.
 */
export function throttleScope(address: string): string {
  const bare = address.split('%')[0]!
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)
  if (v4) return v4[1]!
  if (!net.isIPv6(bare)) return bare
  try {
    // The canonical spelling has no embedded IPv4 and at most one '::'; expand it to eight groups.
    const [head = '', tail] = new URL(`http://[${bare}]/`).hostname.slice(1, -1).split('::')
    const first = head ? head.split(':') : []
    const last = tail ? tail.split(':') : []
    const groups = tail === undefined ? first : [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last]
    return `${groups.slice(0, 4).join(':')}::/64`
  } catch {
    return bare
  }
}
