/**
 * The settings table: every environment variable the service reads is declared once, by the module that owns
 * it, as a `Setting` (how its value is parsed, its default, whether it is secret), and read through `get`. The
 * same tables give the typo check its list of known names (`config/names.ts`), and, with each owner's line of
 * documentation (`SettingDocs`), the settings reference (docs/settings.md) and `sms-hook check`.
 *
 * A leaf module (it imports only the error type), so that every owner, providers included, can declare its
 * settings without importing the whole configuration.
 */
import { ConfigError } from '../errors.js'
import { text, type Env } from './env.js'

export interface Setting<T = unknown> {
  /** Parses a value that is set; throws a `ConfigError` naming `name` when it is wrong. */
  parse: (value: string, name: string) => T
  /** The value used when the variable is unset or blank, written as a user would write it, parsed by `parse`. */
  default?: string
  /** Never printed: not by the start-up summary, not by `sms-hook check`, not in an error. */
  secret?: boolean
  /** Still read, but never suggested for a misspelt name: the typo check points at its successor instead. */
  deprecated?: boolean
}

export type Settings = Readonly<Record<string, Setting>>

/**
 * One line of documentation per setting of a table, declared beside the table but apart from it, so that the
 * Worker bundle (which never prints them) leaves the text out while the type still demands a line for each.
 */
export type SettingDocs<S extends Settings> = { readonly [K in keyof S]: string }

type ValueOf<S extends Setting> =
  S extends Setting<infer T> ? (S extends { default: string } ? T : T | undefined) : never

/**
 * Where the errors of one start-up are gathered: while `collectErrors` runs, `get` records a wrong value and
 * goes on with the default, so that every mistake is reported at once instead of one per restart.
 */
const collectors = new WeakMap<Env, ConfigError[]>()

/**
 * A value wrapped in quotes is taken literally by `docker --env-file`, Kubernetes and systemd's Environment=,
 * where a shell would have removed them: `"aliyun"` is not a provider, and a quoted AccessKey ID fails only at
 * the first user's sign-in.
 */
const QUOTED = /^(["'`]).*\1$/s

/**
 * The value of `name` as its table declares it: parsed, the default when unset, undefined when unset without
 * one. Throws the `ConfigError` of a wrong value, or records it while the environment's errors are collected.
 *
 * @example
 * const timeoutMs = get(env, HOOK_SETTINGS, 'SMS_HOOK_TIMEOUT')
 */
export const get = <S extends Settings, K extends keyof S & string>(env: Env, table: S, name: K): ValueOf<S[K]> => {
  const setting = table[name]!
  const value = text(env, name)
  try {
    if (value !== undefined && value.length >= 2 && QUOTED.test(value)) {
      throw new ConfigError(
        name,
        `is wrapped in quotes (${value[0]}...${value[0]}): remove them, they would be part of the value`,
      )
    }
    return read(setting, value, name) as ValueOf<S[K]>
  } catch (error) {
    const errors = collectors.get(env)
    if (errors === undefined || !(error instanceof ConfigError)) throw error
    errors.push(error)
    return read(setting, undefined, name) as ValueOf<S[K]>
  }
}

const read = (setting: Setting, value: string | undefined, name: string) => {
  const given = value ?? setting.default
  return given === undefined ? undefined : setting.parse(given, name)
}

/**
 * The value of a setting without which its section cannot work. Missing, it is an error: recorded while the
 * environment's errors are collected (the section goes on with an empty value, so that its other mistakes are
 * found too), thrown otherwise.
 */
export const required = <S extends Settings, K extends keyof S & string>(
  env: Env,
  table: S,
  name: K,
  why = 'is required',
) => {
  const value = get(env, table, name)
  if (value !== undefined) return value as NonNullable<ValueOf<S[K]>>
  const errors = collectors.get(env)
  if (errors === undefined) throw new ConfigError(name, why)
  // Set but unread: `get` has recorded why (quotes, a wrong value); missing: this is the error.
  if (!isSet(env, name)) errors.push(new ConfigError(name, why))
  return '' as NonNullable<ValueOf<S[K]>>
}

/** Whether `name` is set to something other than blank: a setting given explicitly, default or not. */
export const isSet = (env: Env, name: string): boolean => text(env, name) !== undefined

/**
 * Runs `parse` over `env`, gathering every `ConfigError`: those `get` records, and the one a section throws
 * (a missing required setting, two settings that contradict each other). Throws them all together as a
 * `ConfigErrors`, the first error per variable only, since a wrong value often makes a later check fail too.
 */
export const collectErrors = <T>(
  env: Env,
  parse: (section: <R>(read: () => R) => R | undefined, report: (error: ConfigError) => void) => T,
): T => {
  const errors: ConfigError[] = []
  // A collection inside another (the Node entry's around the shared one) reports to the outer one as it ends.
  const outer = collectors.get(env)
  collectors.set(env, errors)
  const section = <R>(read: () => R): R | undefined => {
    try {
      return read()
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      errors.push(...eachError(error))
      return undefined
    }
  }
  try {
    const result = parse(section, (error) => errors.push(error))
    if (errors.length > 0) throw new ConfigErrors(errors)
    return result
  } catch (error) {
    // A section that failed leaves its part undefined, and what uses it may fail in turn: the errors already
    // gathered are the ones to report.
    if (errors.length > 0 && !(error instanceof ConfigErrors)) throw new ConfigErrors(errors)
    throw error
  } finally {
    if (outer) collectors.set(env, outer)
    else collectors.delete(env)
  }
}

/** Each mistake a `ConfigError` stands for: those of a `ConfigErrors`, or the one. */
export const eachError = (error: ConfigError): readonly ConfigError[] =>
  error instanceof ConfigErrors ? error.errors : [error]

/**
 * Every mistake of one configuration. A `ConfigError` itself (named after the first variable), so code that
 * reports one error reports these too; `errors` has each, one per variable, in the order they were found.
 */
export class ConfigErrors extends ConfigError {
  readonly errors: readonly ConfigError[]
  constructor(errors: readonly ConfigError[]) {
    const seen = new Set<string>()
    const unique = errors.filter((e) => !seen.has(e.variable) && seen.add(e.variable))
    super(unique[0]!.variable, '')
    this.errors = unique
    this.message = unique.map((e) => e.message).join('\n')
  }
}

// ---- Parsers: what a value may be. Each names the variable in its error and never repeats a secret.

/** Any text, as given (trimmed). */
export const anyText: Setting<string>['parse'] = (value) => value

export const integer =
  ({ min, max }: { min: number; max: number }) =>
  (value: string, name: string): number => {
    if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got "${value}"`)
    const n = Number(value)
    if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`)
    return n
  }

export const boolean = (value: string, name: string): boolean => {
  const v = value.toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(v)) return true
  if (['false', '0', 'no', 'off'].includes(v)) return false
  throw new ConfigError(name, `must be true or false, got "${value}"`)
}

/** Milliseconds per unit: the one syntax of every duration, the guard's windows included. */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/**
 * A duration written with its unit (`500ms`, `30s`, `2m`, `1h`, `1d`), in milliseconds; undefined for anything
 * else. A bare number is refused: whether `30` means seconds or milliseconds is exactly the mistake a unit prevents.
 */
export const durationMs = (value: string): number | undefined => {
  const match = /^(\d{1,9})\s*(ms|s|m|h|d)$/i.exec(value.trim())
  return match ? Number(match[1]) * UNIT_MS[match[2]!.toLowerCase() as keyof typeof UNIT_MS] : undefined
}

/** Written the way `durationMs` reads it, in the largest unit that divides it. */
export const formatDuration = (ms: number): string => {
  for (const unit of ['d', 'h', 'm', 's'] as const)
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`
  return `${ms}ms`
}

export const duration =
  ({ min, max }: { min: number; max: number }) =>
  (value: string, name: string): number => {
    const ms = durationMs(value)
    if (ms === undefined) throw new ConfigError(name, `must be a duration such as 500ms, 30s, 2m or 1h, got "${value}"`)
    if (ms < min || ms > max) {
      throw new ConfigError(name, `must be between ${formatDuration(min)} and ${formatDuration(max)}, got "${value}"`)
    }
    return ms
  }

/** One of `allowed`, compared without regard to case (`LOG_LEVEL=INFO` and `GOTRUE_SMS_PROVIDER=Aliyun` work). */
export const oneOf =
  <T extends string>(allowed: readonly T[]) =>
  (value: string, name: string): T => {
    const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase())
    if (found !== undefined) return found
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`)
  }

/**
 * A base URL override for a vendor API (tests, proxies): scheme, host and optional port, nothing more, since
 * each provider appends its own API path. Returned without a trailing slash.
 */
export const endpoint = (value: string, name: string): string => {
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
 * A token (`SMS_HOOK_INBOX_TOKEN`, `SMS_HOOK_METRICS_TOKEN`): at least 16 characters, without white space or
 * whatever else `forbidden` matches (`described` says what, for the error).
 */
export const token =
  (forbidden = /\s/, described = 'spaces') =>
  (value: string, name: string): string => {
    if (value.length < MIN_TOKEN_LENGTH || forbidden.test(value)) {
      throw new ConfigError(
        name,
        `must be at least ${MIN_TOKEN_LENGTH} characters without ${described} (e.g. openssl rand -hex 16)`,
      )
    }
    return value
  }

/** A setting that holds JSON, parsed; `shape` says what it must look like, for the error a typo gets. */
export const json = (value: string, name: string, shape: string): unknown => {
  try {
    return JSON.parse(value)
  } catch {
    throw new ConfigError(name, `is not valid JSON: ${shape}`)
  }
}
