import { duration, integer, oneOf, text, type Env } from '../config/env.js'
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
export const DEFAULT_MAX_IN_FLIGHT = 512

export const DEFAULT_TIMEOUT_MS = 4500
/** GoTrue's budget is 5 s for every attempt together; 200 ms stay for the network and GoTrue itself. */
export const MAX_TIMEOUT_MS = 4800
/** Standard Webhooks' replay window, in both directions: the default, and the longest the hook takes. */
export const DEFAULT_SIGNATURE_TOLERANCE_MS = 5 * 60_000
/**
 * GoTrue signs each attempt as it sends it and retries within its 5 s, so 30 s still takes every genuine call from
 * a GoTrue whose clock is up to 25 s off ours.
 */
export const MIN_SIGNATURE_TOLERANCE_MS = 30_000
/** Standard Webhooks keys shorter than this are too weak to trust (the spec's own secrets are 24 to 64 bytes). */
export const MIN_SECRET_BYTES = 24

export const parseHookConfig = (env: Env): HookConfig => {
  const secrets = text(env, 'GOTRUE_HOOK_SEND_SMS_SECRETS')
  if (secrets === undefined) {
    throw new ConfigError(
      'GOTRUE_HOOK_SEND_SMS_SECRETS',
      'is required: set it to the same value as GoTrue\'s (make one with "npx sms-hook secret"), or run "npm run dev" for a development secret',
    )
  }
  return {
    secrets: parseSecrets(secrets),
    timeoutMs: integer(env, 'SMS_HOOK_TIMEOUT_MS', { fallback: DEFAULT_TIMEOUT_MS, min: 100, max: MAX_TIMEOUT_MS }),
    maxInFlight: integer(env, 'SMS_HOOK_MAX_IN_FLIGHT', { fallback: DEFAULT_MAX_IN_FLIGHT, min: 1, max: 100_000 }),
    unknownOutcome: oneOf(env, 'SMS_HOOK_UNKNOWN_OUTCOME', ['success', 'error'] as const, 'success'),
    signatureToleranceMs: duration(env, 'SMS_HOOK_SIGNATURE_TOLERANCE', {
      fallback: DEFAULT_SIGNATURE_TOLERANCE_MS,
      min: MIN_SIGNATURE_TOLERANCE_MS,
      max: DEFAULT_SIGNATURE_TOLERANCE_MS,
    }),
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
      throw new ConfigError(variable, `${which} decodes to ${key.length} bytes; at least ${MIN_SECRET_BYTES} are required`)
    }
    return key
  })
}
