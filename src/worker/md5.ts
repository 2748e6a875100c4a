/**
 * MD5 and HMAC-MD5 on Workers (`#md5` under the `workerd` condition, package.json `imports`): the runtime's
 * WebCrypto digests MD5 (a Cloudflare extension), so the bundle need not carry `receipts/md5.ts`. HMAC (RFC 2104)
 * is built on that digest, as WebCrypto's HMAC does not take MD5. test/receipts/md5.test.ts and vonage.test.ts
 * run on workerd too, against the RFC vectors.
 */

export const md5Digest = async (data: Uint8Array): Promise<Uint8Array> =>
  // The bytes are the hook's own (TextEncoder's, or made here), never a SharedArrayBuffer's.
  new Uint8Array(await crypto.subtle.digest('MD5', data as Uint8Array<ArrayBuffer>))

const BLOCK = 64

export const hmacMd5Digest = async (key: Uint8Array, data: Uint8Array): Promise<Uint8Array> => {
  const k = new Uint8Array(BLOCK)
  k.set(key.length > BLOCK ? await md5Digest(key) : key)
  const inner = new Uint8Array(BLOCK + data.length)
  const outer = new Uint8Array(BLOCK + 16)
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = k[i]! ^ 0x36
    outer[i] = k[i]! ^ 0x5c
  }
  inner.set(data, BLOCK)
  outer.set(await md5Digest(inner), BLOCK)
  return md5Digest(outer)
}
