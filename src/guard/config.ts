import { text, UNIT_MS, type Env } from '../config/env.js'
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

const LIMIT_VARIABLES: Record<LimitRule, string> = {
  per_number: 'SMS_HOOK_LIMIT_PER_NUMBER',
  per_ip: 'SMS_HOOK_LIMIT_PER_IP',
  per_network: 'SMS_HOOK_LIMIT_PER_NETWORK',
  per_country: 'SMS_HOOK_LIMIT_PER_COUNTRY',
  global: 'SMS_HOOK_LIMIT_GLOBAL',
}

/**
 * A person needs a handful of codes an hour (GoTrue itself sends one per number every 60 s); more to one number,
 * or from one address, is a script. An IPv6 /48 is one site (an office, a campus, a hosting customer) holding many
 * /64s: four times the per-address limit leaves room for a few busy subnets behind it, yet caps a script rotating
 * through its 65,536 /64s at 120 codes an hour where the per-IP limit alone would let it send about two million.
 * Country and global limits depend on the traffic of each project: off.
 */
const DEFAULT_LIMITS: Record<LimitRule, string> = {
  per_ip: '30/1h',
  per_network: '120/1h',
  per_number: '10/1h',
  per_country: 'off',
  global: 'off',
}

/** Counters live as long as their window; a month is more than any abuse pattern needs. */
const MAX_WINDOW_MS = 30 * UNIT_MS.d

export const parseGuardConfig = (env: Env): GuardConfig => ({
  allowedCountries: parseCountries(env, 'SMS_HOOK_ALLOWED_COUNTRIES'),
  blockedPrefixes: parsePrefixes(env, 'SMS_HOOK_BLOCKED_PREFIXES'),
  limits: Object.fromEntries(
    LIMIT_RULES.map((rule) => [rule, parseLimit(text(env, LIMIT_VARIABLES[rule]) ?? DEFAULT_LIMITS[rule], LIMIT_VARIABLES[rule])]),
  ) as GuardConfig['limits'],
})

/**
 * `count/window`, such as `5/1h` or `100/30m` (windows in `s`, `m`, `h` or `d`, from 1 s to 30 d), or `off`.
 *
 * @example
 * parseLimit('10/1h', 'SMS_HOOK_LIMIT_PER_NUMBER') // { max: 10, windowMs: 3600000 }
 */
export const parseLimit = (value: string, variable: string): Limit | undefined => {
  if (value.toLowerCase() === 'off') return undefined
  const match = /^(\d{1,9})\s*\/\s*(\d{1,6})\s*([smhd])$/i.exec(value)
  const max = Number(match?.[1])
  const windowMs = Number(match?.[2]) * UNIT_MS[match?.[3]?.toLowerCase() as keyof typeof UNIT_MS]
  if (!match || max < 1 || !(windowMs >= 1000 && windowMs <= MAX_WINDOW_MS)) {
    throw new ConfigError(variable, `must be a count per window such as 5/1h (s, m, h or d; at most 30d), or off, got "${value}"`)
  }
  return { max, windowMs }
}

const list = (value: string | undefined) => (value ?? '').split(',').map((entry) => entry.trim().replace(/^\+/, '')).filter(Boolean)

const parseCountries = (env: Env, variable: string) => {
  const codes = list(text(env, variable))
  if (codes.length === 0) return undefined
  for (const code of codes) {
    if (!isCallingCode(code)) throw new ConfigError(variable, `"${code}" is not a country calling code in service (e.g. 86,852,853,1)`)
  }
  return new Set(codes)
}

const parsePrefixes = (env: Env, variable: string) => {
  const prefixes = list(text(env, variable))
  for (const prefix of prefixes) {
    if (!E164_PREFIX.test(prefix)) throw new ConfigError(variable, `"${prefix}" is not the start of an E.164 number (digits, e.g. 1876,44870)`)
  }
  return prefixes
}
