/**
 * The keyed hash the shared state keeps a number as, computed here with node:crypto apart from the code under
 * test (src/delivery/number-key.ts): HMAC-SHA-256 of the E.164 digits under HMAC-SHA-256(material, label),
 * the first 128 bits in hex.
 */
import { createHmac } from 'node:crypto'
import { SECRET } from './sign.js'

/** The material of an app on the test secret without SMS_HOOK_ADMIN_TOKEN: the secret's decoded key. */
export const TEST_SECRET_KEY = Buffer.from(SECRET.slice('v1,whsec_'.length), 'base64')

export const numberHash = (e164: string, material: string | Uint8Array = TEST_SECRET_KEY): string => {
  const derived = createHmac('sha256', material).update('sms-hook number key v1').digest()
  return createHmac('sha256', derived).update(e164).digest('hex').slice(0, 32)
}
