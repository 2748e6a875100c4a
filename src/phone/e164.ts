/**
 * Phone numbers, normalised once by the core before anything chooses a provider: routing, the country
 * allowlist and every provider read the same E.164 number and calling code.
 */
import type { Setting } from '../config/settings.js'
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

/** `SMS_HOOK_NATIONAL_NUMBERS` as written: `86`, `none` (every number is E.164), or unset (the deployment decides). */
export type NationalNumbersSetting = '86' | 'none' | undefined

/** Mainland China mobiles: 11 digits starting with 13-19. */
const CN_MOBILE = /^1[3-9]\d{9}$/

/** E.164: up to 15 digits, no leading zero. A leading `+` is tolerated though GoTrue strips it. */
const E164 = /^\+?([1-9]\d{6,14})$/

/**
 * `SMS_HOOK_NATIONAL_NUMBERS`: `86` when the app stores mainland mobiles without their country code. Such a
 * number (`13800138000`) is otherwise a North American one (+1 380...). `none` keeps every number E.164 even
 * where the default would be `86` (`nationalNumbersFor`).
 */
export const NATIONAL_NUMBERS: Setting<NationalNumbersSetting> = {
  parse: (written, name) => {
    const value = written.toLowerCase()
    if (value === '86' || value === 'none') return value
    throw new ConfigError(
      name,
      `must be 86 (mainland China mobiles stored without +86) or none (every number is E.164), got "${value}"`,
    )
  },
}

/**
 * How a deployment reads bare numbers. The setting decides when it is given. Unset, a deployment whose providers
 * all send to mainland China only reads a bare 11-digit `1[3-9]` number as +86: every vendor it has would read it
 * so anyway (Alibaba Cloud and Tencent take such a number as a mainland mobile), and the +1 number it also is
 * could not be sent. Alibaba Cloud's RDS Supabase example signs users up that way. A deployment that can send
 * abroad could reach that +1 number, so there it stays E.164 unless the setting says `86`.
 *
 * @example
 * nationalNumbersFor(undefined, { sendsAbroad: false }) // { nationalNumbers: '86', defaulted: true }
 * nationalNumbersFor(undefined, { sendsAbroad: true })  // { nationalNumbers: undefined, defaulted: false }
 */
export const nationalNumbersFor = (
  setting: NationalNumbersSetting,
  { sendsAbroad }: { sendsAbroad: boolean },
): { nationalNumbers: NationalNumbers; defaulted: boolean } => {
  if (setting === '86') return { nationalNumbers: '86', defaulted: false }
  if (setting === 'none' || sendsAbroad) return { nationalNumbers: undefined, defaulted: false }
  return { nationalNumbers: '86', defaulted: true }
}

/** Whether a number is a mainland China mobile, the only kind a domestic SMS reaches. */
export const isMainlandMobile = (to: PhoneNumber): boolean => to.callingCode === '86' && CN_MOBILE.test(to.national)

/** The start of an E.164 number, as routes (`SMS_HOOK_ROUTES`) and blocked prefixes take it: 1 to 15 digits, no leading 0. */
export const E164_PREFIX = /^[1-9]\d{0,14}$/

/**
 * Reads a destination as GoTrue sends it (E.164 digits, perhaps with `+`), or a bare mainland mobile (no `+`)
 * when `nationalNumbers` is `86`. Undefined when it is not a number any SMS can reach (too short or long, or no
 * calling code in service).
 *
 * @example
 * normalisePhone('8613800138000', undefined) // { e164: '8613800138000', callingCode: '86', national: '13800138000' }
 * normalisePhone('13800138000', '86')        // the same
 */
export const normalisePhone = (raw: string, nationalNumbers: NationalNumbers): PhoneNumber | undefined => {
  const digits = E164.exec(raw)?.[1]
  if (digits === undefined) return undefined
  // A `+` says the digits are E.164 already, whatever they look like.
  if (nationalNumbers === '86' && !raw.startsWith('+') && CN_MOBILE.test(digits)) {
    return { e164: `86${digits}`, callingCode: '86', national: digits }
  }
  const callingCode = callingCodeOf(digits)
  if (callingCode === undefined) return undefined
  return { e164: digits, callingCode, national: digits.slice(callingCode.length) }
}
