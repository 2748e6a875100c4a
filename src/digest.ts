/** Hashing helpers on WebCrypto, so they run on Node and on Workers alike. */

const encoder = new TextEncoder()

/** Lowercase hex, two digits a byte. */
export const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** Hex SHA-256 of text (as UTF-8) or of raw bytes. */
export const sha256Hex = async (data: string | Uint8Array<ArrayBuffer>): Promise<string> =>
  hex(new Uint8Array(await crypto.subtle.digest('SHA-256', typeof data === 'string' ? encoder.encode(data) : data)))

/** HMAC-SHA256 of `text` (as UTF-8) under `key` (text as UTF-8, or raw bytes), as WebCrypto computes it. */
export const hmacSha256 = async (key: string | Uint8Array, text: string): Promise<Uint8Array<ArrayBuffer>> => {
  const raw = typeof key === 'string' ? encoder.encode(key) : new Uint8Array(key)
  const cryptoKey = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(text)))
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
