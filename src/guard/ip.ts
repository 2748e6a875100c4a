/**
 * The address a per-IP limit counts, from GoTrue's `metadata.ip_address`: an IPv4 address as written, an IPv6
 * address as its /64 (one subscriber gets a whole /64, so counting single addresses would let a script rotate
 * through billions), an IPv4-mapped IPv6 address as the IPv4 one. Anything else GoTrue passed on (it takes the
 * first entry of `X-Forwarded-For` as given) shares one counter, so made-up values cannot each get their own.
 *
 * @example
 * ipKey('2001:db8:1:2:3:4:5:6') // '2001:db8:1:2::/64'
 */
export const ipKey = (raw: string): string => ipv4(raw) ?? ipv6Prefix(raw.replace(/%.*$/, '')) ?? 'other'

const ipv4 = (text: string): string | undefined => {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)?.slice(1).map(Number)
  return parts?.every((n) => n <= 255) ? parts.join('.') : undefined
}

const ipv6Prefix = (text: string): string | undefined => {
  const halves = text.toLowerCase().split('::')
  if (halves.length > 2) return undefined
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')))
  const tail = groups[groups.length - 1]!
  const mapped = tail.length > 0 ? ipv4(tail[tail.length - 1]!) : undefined
  // An embedded IPv4 address stands for the last two groups.
  const count = groups.reduce((n, g) => n + g.length, 0) + (mapped === undefined ? 0 : 1)
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined
  const hex = mapped === undefined ? groups : [...groups.slice(0, -1), tail.slice(0, -1)]
  if (!hex.every((g) => g.every((group) => /^[0-9a-f]{1,4}$/.test(group)))) return undefined
  const words = [...hex[0]!, ...Array<string>(8 - count).fill('0'), ...(hex[1] ?? [])].map((g) => parseInt(g, 16))
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
  if (mapped !== undefined && words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return mapped
  return `${words.slice(0, 4).map((w) => w.toString(16)).join(':')}::/64`
}
