import { base64url, fromBase64url, hex, hmacSha256 } from '../digest.js'

/**
 * A phone number as the shared state may keep it: a keyed hash (docs/receipts.md, "Privacy"). The state's
 * keys and records are readable by whoever reads Redis or a backup of it; with only the hash there, the
 * numbers that asked for codes cannot be listed, and with the key unknown they cannot be guessed by hashing
 * every number either (a mobile number space is small enough to hash in full).
 */
export type NumberKey = (e164: string) => Promise<string>

/** What the key is derived from, for the error of a hook without either. */
const LABEL = 'sms-hook number key v1'

/**
 * The number key of a deployment: HMAC-SHA-256 under a key derived from `SMS_HOOK_ADMIN_TOKEN` when set, else
 * from the first of the hook's secrets, so every replica of one deployment derives the same one. 128 bits of it
 * are kept: collisions among a deployment's numbers are out of reach, and keys stay short. Changing the admin
 * token (or the first hook secret, without one) starts every number's history afresh.
 */
export const createNumberKey = (material: string | Uint8Array): NumberKey => {
  const derived = hmacSha256(material, LABEL)
  const cache = new Map<string, string>()
  return async function numberKey(e164) {
    const hit = cache.get(e164)
    if (hit !== undefined) return hit
    const digest = hex(await hmacSha256(await derived, e164)).slice(0, 32)
    // A few recent numbers only: the resend rule and the guard hash one number twice or more per call.
    if (cache.size >= 256) cache.delete(cache.keys().next().value!)
    cache.set(e164, digest)
    return digest
  }
}

/** The key material of a deployment, as `createNumberKey` documents. */
export const numberKeyMaterial = (
  adminToken: string | undefined,
  secrets: readonly Uint8Array[],
): string | Uint8Array => adminToken ?? secrets[0] ?? LABEL

/**
 * A number the shared state must keep for a while but not in clear: the one thing reconciliation needs that
 * the hash cannot give back (Alibaba Cloud's QuerySendDetails asks by number). `seal` gives AES-256-GCM of the
 * E.164 digits under a random 12-byte IV, as base64url of IV then ciphertext and tag; `open` gives them back,
 * and refuses (rejects) anything altered, truncated or sealed under another key.
 */
export interface NumberSeal {
  seal(e164: string): Promise<string>
  open(sealed: string): Promise<string>
}

/** A label of its own: the sealing key is not the hashing key, though both come from the same material. */
const SEAL_LABEL = 'sms-hook number seal v1'
const IV_BYTES = 12
/** AES-GCM's tag; a shorter input cannot be a sealed number. */
const TAG_BYTES = 16
const E164_DIGITS = /^[1-9]\d{6,14}$/

/**
 * The number seal of a deployment, from the material of its number key (`numberKeyMaterial`): every replica
 * opens what another sealed, and changing the admin token (or the first hook secret, without one) leaves the
 * sends sealed before it unopenable, so they are reconciled no further (their receipts still count).
 */
export const createNumberSeal = (material: string | Uint8Array): NumberSeal => {
  const key = hmacSha256(material, SEAL_LABEL).then((raw) =>
    crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']),
  )
  // Bound to this use: a ciphertext made under the same key for anything else does not open as a number.
  const additionalData = new TextEncoder().encode(SEAL_LABEL)
  return {
    async seal(e164) {
      if (!E164_DIGITS.test(e164)) throw new Error('only E.164 digits (no +) are sealed')
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
      const sealed = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData },
        await key,
        new TextEncoder().encode(e164),
      )
      const out = new Uint8Array(IV_BYTES + sealed.byteLength)
      out.set(iv)
      out.set(new Uint8Array(sealed), IV_BYTES)
      return base64url(out)
    },
    async open(sealed) {
      const bytes = fromBase64url(sealed)
      if (bytes === undefined || bytes.length < IV_BYTES + TAG_BYTES + 7) throw new Error('not a sealed number')
      let plain: ArrayBuffer
      try {
        plain = await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: bytes.slice(0, IV_BYTES), additionalData },
          await key,
          bytes.slice(IV_BYTES),
        )
      } catch {
        throw new Error('a sealed number that does not open: altered, or sealed under another key')
      }
      const e164 = new TextDecoder().decode(plain)
      if (!E164_DIGITS.test(e164)) throw new Error('a sealed value that is not a number')
      return e164
    },
  }
}
