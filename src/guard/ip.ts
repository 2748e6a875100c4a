/**
 * The keys the caller-side limits count, from GoTrue's `metadata.ip_address`. GoTrue takes it from the first entry
 * of `X-Forwarded-For` as given, so it is read strictly: whatever is no address shares one per-IP counter, so
 * made-up values cannot each get their own.
 */

/** An address as read: IPv4 in its dotted form, IPv6 as its eight 16-bit words. */
type Address = { v4: string } | { v6: number[] }

/**
 * The address the per-IP limit counts: an IPv4 address as written, an IPv6 address as its /64 (one subscriber
 * gets a whole /64, so counting single addresses would let a script rotate through billions), an IPv4-mapped IPv6
 * address as the IPv4 one, and anything else as `other`.
 *
 * @example
 * ipKey('2001:db8:1:2:3:4:5:6') // '2001:db8:1:2::/64'
 */
export const ipKey = (raw: string): string => {
  const address = parse(raw)
  if (address === undefined) return 'other'
  return 'v4' in address ? address.v4 : prefix(address.v6, 64)
}

/**
 * The network the per-network limit counts: an IPv6 address as its /48, the block a site or a rented server is
 * commonly given, which holds 65,536 /64s for a script to rotate through. Undefined for IPv4 (a single address is
 * already scarce, and a /24 holds unrelated customers) and for anything that is no address (the per-IP limit
 * counts those in one).
 *
 * @example
 * networkKey('2001:db8:1:2::6') // '2001:db8:1::/48'
 */
export const networkKey = (raw: string): string | undefined => {
  const address = parse(raw)
  return address !== undefined && 'v6' in address ? prefix(address.v6, 48) : undefined
}

/** The first `bits` of an address (a multiple of 16), written the same way whatever form it came in. */
const prefix = (words: number[], bits: 48 | 64) =>
  `${words
    .slice(0, bits / 16)
    .map((w) => w.toString(16))
    .join(':')}::/${bits}`

// A zone id (`fe80::1%eth0`) names the host's own interface, not another client.
const parse = (raw: string): Address | undefined => {
  const v4 = ipv4(raw)
  if (v4 !== undefined) return { v4 }
  const words = ipv6(raw.replace(/%.*$/, ''))
  if (words === undefined) return undefined
  // ::ffff:0:0/96 is an IPv4 client seen through a dual-stack socket, however its last 32 bits are written.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return { v4: [words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join('.') }
  }
  return { v6: words }
}

const ipv4 = (text: string): string | undefined => {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)?.slice(1).map(Number)
  return parts?.every((n) => n <= 255) ? parts.join('.') : undefined
}

const ipv6 = (text: string): number[] | undefined => {
  const halves = text.toLowerCase().split('::')
  if (halves.length > 2) return undefined
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')))
  const tail = groups[groups.length - 1]!
  const embedded = tail.length > 0 ? ipv4(tail[tail.length - 1]!) : undefined
  // An embedded IPv4 address stands for the last two groups.
  const count = groups.reduce((n, g) => n + g.length, 0) + (embedded === undefined ? 0 : 1)
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined
  const hex = embedded === undefined ? groups : [...groups.slice(0, -1), tail.slice(0, -1)]
  if (!hex.every((g) => g.every((group) => /^[0-9a-f]{1,4}$/.test(group)))) return undefined
  const last = embedded === undefined ? [] : embedded.split('.').map(Number)
  const words = [...hex[0]!, ...Array<string>(8 - count).fill('0'), ...(hex[1] ?? [])].map((g) => parseInt(g, 16))
  return embedded === undefined ? words : [...words, (last[0]! << 8) | last[1]!, (last[2]! << 8) | last[3]!]
}
