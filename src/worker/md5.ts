/**
 * MD5 and HMAC-MD5 on Workers (`#md5` under the `workerd` condition, package.json `imports`): the runtime's
 * WebCrypto digests MD5 (a Cloudflare extension), so the bundle need not carry the MD5 of `receipts/md5.ts`. HMAC (RFC 2104)
 * is built on that digest (`hmacWith`, tree-shaken out of the same module), as WebCrypto's HMAC does not take MD5. test/receipts/md5.test.ts and vonage.test.ts
 * run on workerd too, against the RFC vectors.
 */
import { hmacWith } from '../receipts/md5.js'

export const md5Digest = async (data: Uint8Array): Promise<Uint8Array> =>
  // The bytes are the hook's own (TextEncoder's, or made here), never a SharedArrayBuffer's.
  new Uint8Array(await crypto.subtle.digest('MD5', data as Uint8Array<ArrayBuffer>))

export const hmacMd5Digest = (key: Uint8Array, data: Uint8Array): Promise<Uint8Array> => hmacWith(md5Digest, key, data)
