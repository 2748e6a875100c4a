import { hex, hmacSha256 } from '../digest.js'

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
