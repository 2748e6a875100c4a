/** The HMACs vendors sign receipts with, on WebCrypto (and MD5 by hand, which WebCrypto lacks), for Node and Workers alike. */
import { hmacMd5 } from './md5.js'

export type HmacHash = 'MD5' | 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512'

const encoder = new TextEncoder()

/** HMAC of `text` (UTF-8) under `key` (UTF-8). */
export const hmac = async (hash: HmacHash, key: string, text: string): Promise<Uint8Array> => {
  if (hash === 'MD5') return hmacMd5(encoder.encode(key), encoder.encode(text))
  const cryptoKey = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(text)))
}

/** Standard base64 with padding (Twilio's signature). */
export const base64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes))

/** base64url without padding (a JWT's parts). */
export const base64url = (bytes: Uint8Array): string =>
  base64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

/** The text of a base64url part (UTF-8); undefined when it is not base64url. */
export const fromBase64url = (part: string): string | undefined => {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return undefined
  try {
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'))
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    )
  } catch {
    return undefined
  }
}
