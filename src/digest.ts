/** Hashing and base64 helpers on WebCrypto and the runtime's `btoa`/`atob`, so they run on Node and on Workers alike. */

const encoder = new TextEncoder()

/** Lowercase hex, two digits a byte. */
export const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** Hex SHA-256 of text (as UTF-8) or of raw bytes. */
export const sha256Hex = async (data: string | Uint8Array<ArrayBuffer>): Promise<string> =>
  hex(new Uint8Array(await crypto.subtle.digest('SHA-256', typeof data === 'string' ? encoder.encode(data) : data)))

/** The HMACs WebCrypto computes (MD5, which Vonage may sign with, is `receipts/md5.ts`). */
export type HmacHash = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512'

/** HMAC of `text` (as UTF-8) under `key` (text as UTF-8, or raw bytes), as WebCrypto computes it. */
export const hmac = async (
  hash: HmacHash,
  key: string | Uint8Array,
  text: string,
): Promise<Uint8Array<ArrayBuffer>> => {
  const raw = typeof key === 'string' ? encoder.encode(key) : new Uint8Array(key)
  const cryptoKey = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(text)))
}

/** HMAC-SHA256 of `text` (as UTF-8) under `key` (text as UTF-8, or raw bytes). */
export const hmacSha256 = (key: string | Uint8Array, text: string): Promise<Uint8Array<ArrayBuffer>> =>
  hmac('SHA-256', key, text)

/** Standard base64 with padding (Twilio's signature; the Standard Webhooks library's on Workers). */
export const base64 = (bytes: Uint8Array): string => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''))

/** base64url without padding (a JWT's parts, a sealed number). */
export const base64url = (bytes: Uint8Array): string =>
  base64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

/** The bytes of unpadded base64url; undefined when the text is not that. */
export const fromBase64url = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  // The one length no base64 has; `atob` would throw on it.
  if (!/^[\w-]*$/.test(text) || text.length % 4 === 1) return undefined
  return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
}

/**
 * Compares two strings in time independent of where they differ (signatures, tokens). Lengths are not hidden:
 * a signature's length is fixed, and a token's length tells nothing useful about it.
 */
export const constantTimeEqual = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
