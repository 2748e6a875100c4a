/**
 * HMAC-SHA-256 for the `standardwebhooks` library on Workers, in place of `fast-sha256` (wrangler.toml
 * `[alias]`): the library calls only `hmac(key, message)`, synchronously, while `fast-sha256`'s CommonJS build
 * also ships PBKDF2 and HKDF, 6 KB of the bundle that cannot be tree-shaken. WebCrypto's HMAC would be smaller
 * still, but it is asynchronous and the library's `verify` is not. Node keeps the original;
 * test/hook/sha256.test.ts holds this one to it (and to RFC 4231) over random keys and messages.
 */

/** The round constants and initial hash: fractional parts of the cube and square roots of the first primes. */
const K = new Uint32Array(64)
const H0 = new Uint32Array(8)
for (let n = 2, found = 0; found < 64; n++) {
  let prime = true
  for (let d = 2; d * d <= n; d++) if (n % d === 0) prime = false
  if (!prime) continue
  if (found < 8) H0[found] = ((n ** 0.5 % 1) * 2 ** 32) | 0
  K[found++] = ((n ** (1 / 3) % 1) * 2 ** 32) | 0
}

const digest = (message: Uint8Array): Uint8Array => {
  // The message, a 1 bit, zeros, and the length in bits as 64 bits: a whole number of 64-byte blocks.
  const length = (((message.length + 8) >> 6) + 1) << 6
  const padded = new Uint8Array(length)
  padded.set(message)
  padded[message.length] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(length - 8, Math.floor(message.length / 2 ** 29))
  view.setUint32(length - 4, message.length << 3)
  const h = H0.slice()
  const w = new Uint32Array(64)
  for (let offset = 0; offset < length; offset += 64) {
    for (let i = 0; i < 64; i++) {
      if (i < 16) w[i] = view.getUint32(offset + i * 4)
      else {
        const a = w[i - 15]!
        const b = w[i - 2]!
        const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)
        const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10)
        w[i] = w[i - 16]! + s0 + w[i - 7]! + s1
      }
    }
    let [a, b, c, d, e, f, g, hh] = h as unknown as number[] as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ]
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      const t1 = (hh + s1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
      ;[hh, g, f, e, d, c, b, a] = [g, f, e, (d + t1) | 0, c, b, a, (t1 + t2) | 0]
    }
    const next = [a, b, c, d, e, f, g, hh]
    for (let i = 0; i < 8; i++) h[i] = h[i]! + next[i]!
  }
  const out = new Uint8Array(32)
  const outView = new DataView(out.buffer)
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, h[i]!)
  return out
}

/** RFC 2104 over SHA-256: a key longer than a block is hashed first, a shorter one padded with zeros. */
export const hmac = (key: Uint8Array, message: Uint8Array): Uint8Array => {
  const block = new Uint8Array(64)
  block.set(key.length > 64 ? digest(key) : key)
  const pad = (byte: number, rest: Uint8Array) => {
    const joined = new Uint8Array(64 + rest.length)
    for (let i = 0; i < 64; i++) joined[i] = block[i]! ^ byte
    joined.set(rest, 64)
    return joined
  }
  return digest(pad(0x5c, digest(pad(0x36, message))))
}
