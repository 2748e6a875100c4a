import { ConfigError } from './errors.js'
import { LOG_LEVELS, type LogLevel } from './log.js'
import { parseProviderConfig, type ProviderConfig } from './providers/index.js'

/** The environment as a plain record: `process.env` on Node, the bindings on Workers. */
export type Env = Record<string, string | undefined>

export type Mode = 'production' | 'development'

/** Validated settings. Built once by `parseConfig`; the app never reads the environment itself. */
export interface Config {
  mode: Mode
  /** Decoded HMAC keys of `GOTRUE_HOOK_SEND_SMS_SECRETS`, in the order given. */
  secrets: Uint8Array[]
  provider: ProviderConfig
  port: number
  host: string
  logLevel: LogLevel
  /** Time within which every hook call is answered (GoTrue gives up after 5 s). */
  timeoutMs: number
  smsTemplate: string
  mfaTemplate: string
  /** `GOTRUE_SMS_OTP_EXP`: how long the OTP is valid, in seconds. */
  otpExpSeconds: number
  idempotencyMaxKeys: number
}

export const DEFAULT_TIMEOUT_MS = 4500
/** GoTrue's budget is 5 s for every attempt together; 200 ms stay for the network and GoTrue itself. */
export const MAX_TIMEOUT_MS = 4800
export const DEFAULT_SMS_TEMPLATE = 'Your code is {{ .Code }}'
/** Standard Webhooks keys shorter than this are too weak to trust (the spec's own secrets are 24 to 64 bytes). */
export const MIN_SECRET_BYTES = 24

/**
 * Validates the environment. Throws a `ConfigError` naming the first wrong variable.
 *
 * @example
 * const config = parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: 'v1,whsec_...', NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console' })
 */
export const parseConfig = (env: Env): Config => {
  const mode: Mode = env.NODE_ENV === 'production' ? 'production' : 'development'
  const secretsValue = text(env, 'GOTRUE_HOOK_SEND_SMS_SECRETS')
  if (secretsValue === undefined) {
    throw new ConfigError(
      'GOTRUE_HOOK_SEND_SMS_SECRETS',
      'is required: set it to the same value as GoTrue\'s (make one with "npx sms-hook secret"), or run "npm run dev" for a development secret',
    )
  }
  return {
    mode,
    secrets: parseSecrets(secretsValue),
    provider: parseProviderConfig(env, mode),
    port: integer(env, 'PORT', { fallback: 8080, min: 0, max: 65535 }),
    host: text(env, 'HOST') ?? '0.0.0.0',
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    timeoutMs: integer(env, 'SMS_HOOK_TIMEOUT_MS', { fallback: DEFAULT_TIMEOUT_MS, min: 100, max: MAX_TIMEOUT_MS }),
    smsTemplate: text(env, 'GOTRUE_SMS_TEMPLATE') ?? DEFAULT_SMS_TEMPLATE,
    mfaTemplate: text(env, 'GOTRUE_MFA_PHONE_TEMPLATE') ?? text(env, 'GOTRUE_SMS_TEMPLATE') ?? DEFAULT_SMS_TEMPLATE,
    otpExpSeconds: otpExpSeconds(env),
    idempotencyMaxKeys: integer(env, 'SMS_HOOK_IDEMPOTENCY_MAX_KEYS', { fallback: 100_000, min: 100, max: 10_000_000 }),
  }
}

/** `GOTRUE_SMS_OTP_EXP`, GoTrue's OTP lifetime in seconds; providers whose templates show it read it too. */
export const otpExpSeconds = (env: Env): number => integer(env, 'GOTRUE_SMS_OTP_EXP', { fallback: 60, min: 1, max: 86_400 })

/**
 * Decodes GoTrue's secret list: `v1,whsec_<base64>` entries separated by `|` (several during a rotation).
 * The error never repeats the secret itself, only which entry is wrong.
 */
export const parseSecrets = (value: string, variable = 'GOTRUE_HOOK_SEND_SMS_SECRETS'): Uint8Array[] => {
  const entries = value.split('|').map((s) => s.trim())
  return entries.map((entry, i) => {
    const which = entries.length > 1 ? `entry ${i + 1}` : 'the secret'
    const match = /^(?:v1,)?whsec_([A-Za-z0-9+/]+={0,2})$/.exec(entry)
    if (!match?.[1]) throw new ConfigError(variable, `${which} must look like v1,whsec_<base64>`)
    let key: Uint8Array
    try {
      key = Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0))
    } catch {
      throw new ConfigError(variable, `${which} is not valid base64 after "whsec_"`)
    }
    if (key.length < MIN_SECRET_BYTES) {
      throw new ConfigError(variable, `${which} decodes to ${key.length} bytes; at least ${MIN_SECRET_BYTES} are required`)
    }
    return key
  })
}

/** The trimmed value, or undefined when unset or blank (an empty variable in a compose file means "not set"). */
export const text = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim()
  return value ? value : undefined
}

export const required = (env: Env, name: string, why = 'is required'): string => {
  const value = text(env, name)
  if (value === undefined) throw new ConfigError(name, why)
  return value
}

export const integer = (
  env: Env,
  name: string,
  { fallback, min, max }: { fallback: number; min: number; max: number },
): number => {
  const value = text(env, name)
  if (value === undefined) return fallback
  if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got "${value}"`)
  const n = Number(value)
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`)
  return n
}

export const boolean = (env: Env, name: string, fallback = false): boolean => {
  const value = text(env, name)?.toLowerCase()
  if (value === undefined) return fallback
  if (['true', '1', 'yes', 'on'].includes(value)) return true
  if (['false', '0', 'no', 'off'].includes(value)) return false
  throw new ConfigError(name, `must be true or false, got "${value}"`)
}

export const oneOf = <T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T => {
  const value = text(env, name)
  if (value === undefined) return fallback
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`)
}
