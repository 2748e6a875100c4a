/**
 * Phone numbers, normalised once by the core before anything chooses a provider: routing, the country
 * allowlist and every provider read the same E.164 number and calling code.
 */
import type { Env } from '../config/env.js'
import { text } from '../config/env.js'
import { ConfigError } from '../errors.js'
import { callingCodeOf } from './calling-codes.js'

export interface PhoneNumber {
  /** E.164 digits without `+`, e.g. `8613800138000`. */
  e164: string
  /** The ITU calling code it starts with, e.g. `86`. */
  callingCode: string
  /** The digits after the calling code, e.g. `13800138000`. */
  national: string
}

/** Calling codes whose national numbers can be told apart from E.164 ones; only China's rule is that sharp. */
export type NationalNumbers = '86' | undefined

/** Mainland China mobiles: 11 digits starting with 13-19. */
const CN_MOBILE = /^1[3-9]\d{9}$/

/** E.164: up to 15 digits, no leading zero. A leading `+` is tolerated though GoTrue strips it. */
const E164 = /^\+?([1-9]\d{6,14})$/

/**
 * `SMS_HOOK_NATIONAL_NUMBERS`: `86` when the app stores mainland mobiles without their country code. Such a
 * number (`13800138000`) is otherwise a North American one (+1 380...).
 */
export const parseNationalNumbers = (env: Env): NationalNumbers => {
  const value = text(env, 'SMS_HOOK_NATIONAL_NUMBERS')
  if (value === undefined || value === '86') return value
  throw new ConfigError(
    'SMS_HOOK_NATIONAL_NUMBERS',
    `only 86 (mainland China mobiles stored without +86) is supported, got "${value}"`,
  )
}

/**
 * Reads a destination as GoTrue sends it (E.164 digits, perhaps with `+`), or a bare mainland mobile when
 * `nationalNumbers` is `86`. Undefined when it is not a number any SMS can reach (too short or long, or no
 * calling code in service).
 *
 * @example
 * normalisePhone('8613800138000', undefined) // { e164: '8613800138000', callingCode: '86', national: '13800138000' }
 * normalisePhone('13800138000', '86')        // the same
 */
export const normalisePhone = (raw: string, nationalNumbers: NationalNumbers): PhoneNumber | undefined => {
  const digits = E164.exec(raw)?.[1]
  if (digits === undefined) return undefined
  if (nationalNumbers === '86' && CN_MOBILE.test(digits)) {
    return { e164: `86${digits}`, callingCode: '86', national: digits }
  }
  const callingCode = callingCodeOf(digits)
  if (callingCode === undefined) return undefined
  return { e164: digits, callingCode, national: digits.slice(callingCode.length) }
}
