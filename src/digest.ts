/** Hashing helpers on WebCrypto, so they run on Node and on Workers alike. */

const encoder = new TextEncoder()

/** Lowercase hex, two digits a byte. */
export const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** Hex SHA-256 of text (as UTF-8) or of raw bytes. */
export const sha256Hex = async (data: string | Uint8Array<ArrayBuffer>): Promise<string> =>
  hex(new Uint8Array(await crypto.subtle.digest('SHA-256', typeof data === 'string' ? encoder.encode(data) : data)))
