import type { Env } from '../config/env.js'
import { duration, get, integer, isSet, oneOf, type SettingDocs, type Settings } from '../config/settings.js'
import { ConfigError } from '../errors.js'

/** The hook's own settings: who may call it, and how long it may take to answer. */
export interface HookConfig {
  /** Decoded HMAC keys of `GOTRUE_HOOK_SEND_SMS_SECRETS`, in the order given. */
  secrets: Uint8Array[]
  /** Time within which every hook call is answered, counted from its arrival (GoTrue gives up after 5 s). */
  timeoutMs: number
  /** `SMS_HOOK_MAX_IN_FLIGHT`: hooks past their claim at once; more are answered 503 busy at once. */
  maxInFlight: number
  /**
   * `SMS_HOOK_UNKNOWN_OUTCOME`: how a call whose SMS may have gone (the provider took the request and did not
   * answer in time, the connection dropped after it left) is answered. `success` (the default) lets GoTrue store
   * the code that may still arrive: GoTrue stores an OTP only when the hook succeeds, so an error here leaves the
   * user with a code that can never be verified. `error` answers 504 as a failure instead.
   */
  unknownOutcome: UnknownOutcomePolicy
  /**
   * `SMS_HOOK_SIGNATURE_TOLERANCE`: how far a `webhook-timestamp` may be from our clock, past or future. A captured
   * call signed within this window is taken again by a hook that has forgotten it (an in-memory store after a
   * restart), so a shorter window narrows that replay.
   */
  signatureToleranceMs: number
}

export type UnknownOutcomePolicy = 'success' | 'error'

/**
 * Enough for a burst of sign-ins waiting on a slow vendor (each holds a socket and a timer, little memory), and
 * few enough that one process still answers every one of them within GoTrue's 5 s instead of late.
 */
const DEFAULT_MAX_IN_FLIGHT = 512

export const DEFAULT_TIMEOUT_MS = 4500
/** GoTrue's budget is 5 s for every attempt together; 200 ms stay for the network and GoTrue itself. */
const MAX_TIMEOUT_MS = 4800
/** Standard Webhooks' replay window, in both directions: the default, and the longest the hook takes. */
export const DEFAULT_SIGNATURE_TOLERANCE_MS = 5 * 60_000
/**
 * GoTrue signs each attempt as it sends it and retries within its 5 s, so 30 s still takes every genuine call from
 * a GoTrue whose clock is up to 25 s off ours.
 */
const MIN_SIGNATURE_TOLERANCE_MS = 30_000
/** Standard Webhooks keys shorter than this are too weak to trust (the spec's own secrets are 24 to 64 bytes). */
const MIN_SECRET_BYTES = 24

export const HOOK_SETTINGS = {
  GOTRUE_HOOK_SEND_SMS_SECRETS: { parse: (value, name) => parseSecrets(value, name), secret: true },
  SMS_HOOK_TIMEOUT: { parse: duration({ min: 100, max: MAX_TIMEOUT_MS }), default: `${DEFAULT_TIMEOUT_MS}ms` },
  // The name this setting had before every duration took a unit; read only when SMS_HOOK_TIMEOUT is not set.
  SMS_HOOK_TIMEOUT_MS: { parse: integer({ min: 100, max: MAX_TIMEOUT_MS }), deprecated: true },
  SMS_HOOK_MAX_IN_FLIGHT: { parse: integer({ min: 1, max: 100_000 }), default: String(DEFAULT_MAX_IN_FLIGHT) },
  SMS_HOOK_UNKNOWN_OUTCOME: { parse: oneOf(['success', 'error'] as const), default: 'success' },
  SMS_HOOK_SIGNATURE_TOLERANCE: {
    parse: duration({ min: MIN_SIGNATURE_TOLERANCE_MS, max: DEFAULT_SIGNATURE_TOLERANCE_MS }),
    default: '5m',
  },
} as const satisfies Settings

export const HOOK_SETTING_DOCS: SettingDocs<typeof HOOK_SETTINGS> = {
  GOTRUE_HOOK_SEND_SMS_SECRETS:
    'The Standard Webhooks secrets, exactly as GoTrue has them: v1,whsec_<base64>, several joined by | during a rotation.',
  SMS_HOOK_TIMEOUT:
    'Time within which every hook call is answered, counted from its arrival (GoTrue gives up after 5s); at most 4800ms.',
  SMS_HOOK_TIMEOUT_MS: 'Deprecated: SMS_HOOK_TIMEOUT in bare milliseconds; ignored when SMS_HOOK_TIMEOUT is set.',
  SMS_HOOK_MAX_IN_FLIGHT:
    'Hook calls being delivered at once; more are answered 503 busy at once, so each is still answered within its time.',
  SMS_HOOK_UNKNOWN_OUTCOME:
    'How a call whose SMS may have gone is answered: success (GoTrue keeps the code that may still arrive) or error (504).',
  SMS_HOOK_SIGNATURE_TOLERANCE: 'How far a webhook-timestamp may be from this clock, past or future (30s to 5m).',
}

export const parseHookConfig = (env: Env): HookConfig => {
  const secrets = get(env, HOOK_SETTINGS, 'GOTRUE_HOOK_SEND_SMS_SECRETS')
  if (secrets === undefined && !isSet(env, 'GOTRUE_HOOK_SEND_SMS_SECRETS')) {
    throw new ConfigError(
      'GOTRUE_HOOK_SEND_SMS_SECRETS',
      'is required: set it to the same value as GoTrue\'s (make one with "npx --no-install sms-hook secret"), or run "npm run dev" for a development secret',
    )
  }
  return {
    secrets: secrets ?? [],
    timeoutMs: isSet(env, 'SMS_HOOK_TIMEOUT')
      ? get(env, HOOK_SETTINGS, 'SMS_HOOK_TIMEOUT')
      : (get(env, HOOK_SETTINGS, 'SMS_HOOK_TIMEOUT_MS') ?? DEFAULT_TIMEOUT_MS),
    maxInFlight: get(env, HOOK_SETTINGS, 'SMS_HOOK_MAX_IN_FLIGHT'),
    unknownOutcome: get(env, HOOK_SETTINGS, 'SMS_HOOK_UNKNOWN_OUTCOME'),
    signatureToleranceMs: get(env, HOOK_SETTINGS, 'SMS_HOOK_SIGNATURE_TOLERANCE'),
  }
}

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
      throw new ConfigError(
        variable,
        `${which} decodes to ${key.length} bytes; at least ${MIN_SECRET_BYTES} are required`,
      )
    }
    return key
  })
}
