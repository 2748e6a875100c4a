import type { Env } from '../config/env.js'
import type { Mode } from '../config/index.js'
import { durationMs, get, isSet, type Setting, type SettingDocs, type Settings } from '../config/settings.js'
import { ConfigError } from '../errors.js'
import { isCallingCode } from '../phone/calling-codes.js'
import { E164_PREFIX } from '../phone/e164.js'

/** A velocity limit: at most `max` SMS per fixed window of `windowMs`. */
export interface Limit {
  max: number
  windowMs: number
}

/**
 * What each velocity limit counts, in the order a refusal names them: the caller's (address, network) first, as
 * the guard counts them first, then the destination's; the most specific first within each.
 */
export const LIMIT_RULES = ['per_ip', 'per_network', 'per_number', 'per_country', 'global'] as const
export type LimitRule = (typeof LIMIT_RULES)[number]

/** The SMS-pumping guard's settings. */
export interface GuardConfig {
  /** Calling codes a destination must have (`SMS_HOOK_ALLOWED_COUNTRIES`); any when undefined. */
  allowedCountries: ReadonlySet<string> | undefined
  /** E.164 digit prefixes never sent to (`SMS_HOOK_BLOCKED_PREFIXES`). */
  blockedPrefixes: readonly string[]
  /** Each limit, or undefined when it is `off`. */
  limits: Record<LimitRule, Limit | undefined>
}

const LIMIT_VARIABLES = {
  per_ip: 'SMS_HOOK_LIMIT_PER_IP',
  per_network: 'SMS_HOOK_LIMIT_PER_NETWORK',
  per_number: 'SMS_HOOK_LIMIT_PER_NUMBER',
  per_country: 'SMS_HOOK_LIMIT_PER_COUNTRY',
  global: 'SMS_HOOK_LIMIT_GLOBAL',
} as const satisfies Record<LimitRule, string>

/** Counters live as long as their window; a month is more than any abuse pattern needs. */
const MAX_WINDOW_MS = 30 * 86_400_000

/**
 * `count/window`, such as `5/1h` or `100/30m` (the window a duration as every setting writes one, from 1 s to
 * 30 d), or `off`.
 *
 * @example
 * parseLimit('10/1h', 'SMS_HOOK_LIMIT_PER_NUMBER') // { max: 10, windowMs: 3600000 }
 */
export const parseLimit = (value: string, variable: string): Limit | undefined => {
  if (value.toLowerCase() === 'off') return undefined
  const match = /^(\d{1,9})\s*\/\s*(\S.*)$/.exec(value)
  const max = Number(match?.[1])
  const windowMs = match ? durationMs(match[2]!) : undefined
  if (!match || max < 1 || windowMs === undefined || windowMs < 1000 || windowMs > MAX_WINDOW_MS) {
    throw new ConfigError(
      variable,
      `must be a count per window such as 5/1h (s, m, h or d; at most 30d), or off, got "${value}"`,
    )
  }
  return { max, windowMs }
}

const limit = (fallback: string): Setting<Limit | undefined> & { default: string } => ({
  parse: parseLimit,
  default: fallback,
})

/**
 * A person needs a handful of codes an hour (GoTrue itself sends one per number every 60 s); more to one number,
 * or from one address, is a script. An IPv6 /48 is one site (an office, a campus, a hosting customer) holding many
 * /64s: four times the per-address limit leaves room for a few busy subnets behind it, yet caps a script rotating
 * through its 65,536 /64s at 120 codes an hour where the per-IP limit alone would let it send about two million.
 * Country and global limits depend on the traffic of each project: off.
 */
export const GUARD_SETTINGS = {
  SMS_HOOK_ALLOWED_COUNTRIES: { parse: (value, name) => parseCountries(value, name) },
  SMS_HOOK_BLOCKED_PREFIXES: { parse: (value, name) => parsePrefixes(value, name) },
  SMS_HOOK_LIMIT_PER_IP: limit('30/1h'),
  SMS_HOOK_LIMIT_PER_NETWORK: limit('120/1h'),
  SMS_HOOK_LIMIT_PER_NUMBER: limit('10/1h'),
  SMS_HOOK_LIMIT_PER_COUNTRY: limit('off'),
  SMS_HOOK_LIMIT_GLOBAL: limit('off'),
} as const satisfies Settings

export const GUARD_SETTING_DOCS: SettingDocs<typeof GUARD_SETTINGS> = {
  SMS_HOOK_ALLOWED_COUNTRIES:
    'Calling codes a destination must have, comma-separated (86,852,853); every country when unset.',
  SMS_HOOK_BLOCKED_PREFIXES:
    'E.164 digit prefixes never sent to, comma-separated (1876,44870): premium and pumped ranges.',
  SMS_HOOK_LIMIT_PER_IP:
    'SMS per caller address (the user GoTrue reports) per window: count/window, s/m/h/d up to 30d, such as 30/1h; or off.',
  SMS_HOOK_LIMIT_PER_NETWORK:
    'SMS per caller IPv6 /48 (one site holding many addresses) per window, or off; IPv4 callers count per address only.',
  SMS_HOOK_LIMIT_PER_NUMBER: 'SMS per destination number per window, or off.',
  SMS_HOOK_LIMIT_PER_COUNTRY: 'SMS per destination calling code per window, or off.',
  SMS_HOOK_LIMIT_GLOBAL: 'SMS in all per window, or off: a ceiling on the bill.',
}

/**
 * In development mode the velocity limits are off unless set explicitly: a developer sending test codes from one
 * machine, or GoTrue in Docker behind one address, is exactly what they count. The lists still apply.
 */
export const parseGuardConfig = (env: Env, mode: Mode = 'production'): GuardConfig => ({
  allowedCountries: get(env, GUARD_SETTINGS, 'SMS_HOOK_ALLOWED_COUNTRIES'),
  blockedPrefixes: get(env, GUARD_SETTINGS, 'SMS_HOOK_BLOCKED_PREFIXES') ?? [],
  limits: Object.fromEntries(
    LIMIT_RULES.map((rule) => {
      const name = LIMIT_VARIABLES[rule]
      return [rule, mode === 'development' && !isSet(env, name) ? undefined : get(env, GUARD_SETTINGS, name)]
    }),
  ) as GuardConfig['limits'],
})

const list = (value: string) =>
  value
    .split(',')
    .map((entry) => entry.trim().replace(/^\+/, ''))
    .filter(Boolean)

const parseCountries = (value: string, variable: string) => {
  const codes = list(value)
  if (codes.length === 0) return undefined
  for (const code of codes) {
    if (!isCallingCode(code))
      throw new ConfigError(variable, `"${code}" is not a country calling code in service (e.g. 86,852,853,1)`)
  }
  return new Set(codes)
}

const parsePrefixes = (value: string, variable: string) => {
  const prefixes = list(value)
  for (const prefix of prefixes) {
    if (!E164_PREFIX.test(prefix))
      throw new ConfigError(variable, `"${prefix}" is not the start of an E.164 number (digits, e.g. 1876,44870)`)
  }
  return prefixes
}
