/**
 * MD5 and HMAC-MD5 as Vonage's signatures need them, on Node: WebCrypto there has no MD5, so `md5.ts` computes
 * it. The Worker imports `#md5` as `src/worker/md5.ts` instead (package.json `imports`), whose runtime digests
 * MD5 itself, so the bundle carries no MD5 of its own.
 */
import { hmacMd5, md5 } from './md5.js'

export const md5Digest = async (data: Uint8Array): Promise<Uint8Array> => md5(data)

export const hmacMd5Digest = (key: Uint8Array, data: Uint8Array): Promise<Uint8Array> => hmacMd5(key, data)
