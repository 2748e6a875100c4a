/**
 * MD5 (RFC 1321) and HMAC-MD5 (RFC 2104), which WebCrypto does not offer: Vonage signs delivery receipts with
 * them (its `md5hash` and `md5` signature methods). Not for anything new; MD5 is here because Vonage chose it.
 */

/** Per-round shift amounts. */
const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]

/** floor(abs(sin(i + 1)) * 2^32), the RFC's table T. */
const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0)

export const md5 = (data: Uint8Array): Uint8Array<ArrayBuffer> => {
  // Padding: a 1 bit, zeros to 56 mod 64 bytes, then the length in bits as 64 bits little-endian.
  const padded = new Uint8Array((((data.length + 8) >> 6) + 1) << 6)
  padded.set(data)
  padded[data.length] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, (data.length * 8) >>> 0, true)
  view.setUint32(padded.length - 4, Math.floor(data.length / 0x20000000), true)

  let a0 = 0x67452301
  let b0 = 0xefcdab89
  let c0 = 0x98badcfe
  let d0 = 0x10325476
  const m = new Array<number>(16)
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) m[i] = view.getUint32(block + i * 4, true)
    let a = a0
    let b = b0
    let c = c0
    let d = d0
    for (let i = 0; i < 64; i++) {
      let f: number
      let g: number
      if (i < 16) {
        f = (b & c) | (~b & d)
        g = i
      } else if (i < 32) {
        f = (d & b) | (~d & c)
        g = (5 * i + 1) & 15
      } else if (i < 48) {
        f = b ^ c ^ d
        g = (3 * i + 5) & 15
      } else {
        f = c ^ (b | ~d)
        g = (7 * i) & 15
      }
      const sum = (a + f + K[i]! + m[g]!) | 0
      const shift = S[(i >> 4) * 4 + (i & 3)]!
      a = d
      d = c
      c = b
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0
    }
    a0 = (a0 + a) | 0
    b0 = (b0 + b) | 0
    c0 = (c0 + c) | 0
    d0 = (d0 + d) | 0
  }
  const digest = new Uint8Array(16)
  const out = new DataView(digest.buffer)
  out.setUint32(0, a0, true)
  out.setUint32(4, b0, true)
  out.setUint32(8, c0, true)
  out.setUint32(12, d0, true)
  return digest
}

const BLOCK = 64

/**
 * HMAC (RFC 2104) over an MD5 given as `digest`: this module's own on Node (`hmacMd5`), the runtime's on Workers
 * (src/worker/md5.ts), so that the construction is written once for both.
 */
export const hmacWith = async (
  digest: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>,
  key: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array> => {
  const k = new Uint8Array(BLOCK)
  k.set(key.length > BLOCK ? await digest(key) : key)
  const inner = new Uint8Array(BLOCK + data.length)
  const outer = new Uint8Array(BLOCK + 16)
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = k[i]! ^ 0x36
    outer[i] = k[i]! ^ 0x5c
  }
  inner.set(data, BLOCK)
  outer.set(await digest(inner), BLOCK)
  return digest(outer)
}

/** HMAC-MD5 on this module's MD5. */
export const hmacMd5 = (key: Uint8Array, data: Uint8Array): Promise<Uint8Array> => hmacWith(md5, key, data)
