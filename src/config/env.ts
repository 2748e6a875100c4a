/**
 * Readers for environment settings: a leaf module (it imports only the error type), so that every section of
 * the configuration, each provider's included, can read its own variables without importing the whole config.
 */
import { ConfigError } from '../errors.js'

/** The environment as a plain record: `process.env` on Node, the bindings on Workers. */
export type Env = Record<string, string | undefined>

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

/** Milliseconds per unit of the settings written with one (durations here, the guard's windows). */
export const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/**
 * A duration written with its unit, `500ms`, `30s` or `2m`, in milliseconds. A bare number is refused: whether
 * `30` means seconds or milliseconds is exactly the mistake a unit prevents.
 */
export const duration = (
  env: Env,
  name: string,
  { fallback, min, max }: { fallback: number; min: number; max: number },
): number => {
  const value = text(env, name)
  if (value === undefined) return fallback
  const match = /^(\d+)\s*(ms|s|m)$/i.exec(value)
  if (!match) throw new ConfigError(name, `must be a duration such as 500ms, 30s or 2m, got "${value}"`)
  const ms = Number(match[1]) * UNIT_MS[match[2]!.toLowerCase() as keyof typeof UNIT_MS]
  if (ms < min || ms > max) throw new ConfigError(name, `must be between ${min}ms and ${max / 1000}s, got "${value}"`)
  return ms
}

/** One of `allowed`, compared without regard to case (`LOG_LEVEL=INFO` and `GOTRUE_SMS_PROVIDER=Aliyun` work). */
export const oneOf = <T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T => {
  const value = text(env, name)
  if (value === undefined) return fallback
  const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase())
  if (found !== undefined) return found
  throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`)
}

/**
 * A base URL override for a vendor API (tests, proxies): scheme, host and optional port, nothing more, since
 * each provider appends its own API path. Returned without a trailing slash.
 */
export const endpoint = (env: Env, name: string, fallback: string): string => {
  const value = text(env, name)
  if (value === undefined) return fallback
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(name, `must be a full URL such as https://host[:port], got "${value}"`)
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search || url.hash) {
    throw new ConfigError(name, `must be http(s)://host[:port] with no path, got "${value}"`)
  }
  return url.origin
}

/** Long enough that guessing is hopeless; `openssl rand -hex 16` makes one. */
const MIN_TOKEN_LENGTH = 16

/**
 * A token setting (`SMS_HOOK_INBOX_TOKEN`, `SMS_HOOK_METRICS_TOKEN`): at least 16 characters, without white
 * space or whatever else `forbidden` matches (`described` says what, for the error).
 */
export const token = (env: Env, name: string, forbidden = /\s/, described = 'spaces'): string | undefined => {
  const value = text(env, name)
  if (value !== undefined && (value.length < MIN_TOKEN_LENGTH || forbidden.test(value))) {
    throw new ConfigError(name, `must be at least ${MIN_TOKEN_LENGTH} characters without ${described} (e.g. openssl rand -hex 16)`)
  }
  return value
}

/** A setting that holds JSON, parsed; `shape` says what it must look like, for the error a typo gets. */
export const jsonSetting = (variable: string, value: string, shape: string): unknown => {
  try {
    return JSON.parse(value)
  } catch {
    throw new ConfigError(variable, `is not valid JSON: ${shape}`)
  }
}
