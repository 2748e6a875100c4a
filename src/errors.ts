/**
 * The project's error types. Guards test `name` rather than `instanceof`, so an error keeps its meaning
 * after bundling or when it crosses a runtime boundary (a Durable Object stub, a worker isolate).
 */

/** A setting is missing or wrong. Raised at start-up (Node) or per request (Workers), always naming the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`${variable}: ${detail}`)
  }
}

export const isConfigError = (e: unknown): e is ConfigError =>
  e instanceof Error && e.name === 'ConfigError' && 'variable' in e

/**
 * How a provider failed, which decides what the hook does next:
 * - `retryable`: nothing was sent (throttled, gateway down); the hook may try again or fail over.
 * - `recipient_invalid`: the number cannot receive this SMS; trying again cannot help.
 * - `rate_limited`: the provider's per-number flow control; the user must wait.
 * - `configuration`: our account, credentials, signature or template are wrong.
 * - `outcome_unknown`: a timeout or lost connection after the request left; the SMS may have gone, so it is
 *   never retried, failed over or released for a resend.
 */
export type ProviderErrorKind =
  | 'retryable'
  | 'recipient_invalid'
  | 'rate_limited'
  | 'configuration'
  | 'outcome_unknown'

export interface ProviderErrorOptions {
  /** The provider's own error code (`isv.BUSINESS_LIMIT_CONTROL`, `21211`), for logs. */
  providerCode?: string
  /** The provider's request id, for support tickets. */
  requestId?: string
  /** A retry hint from the provider (`x-acs-retry-after`, `Retry-After`), in milliseconds. */
  retryAfterMs?: number
  cause?: unknown
}

/** A typed provider failure; the kind, never the message text, drives retry, failover and the answer. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError'
  readonly providerCode: string | undefined
  readonly requestId: string | undefined
  readonly retryAfterMs: number | undefined
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    options: ProviderErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.providerCode = options.providerCode
    this.requestId = options.requestId
    this.retryAfterMs = options.retryAfterMs
  }
}

export const isProviderError = (e: unknown): e is ProviderError =>
  e instanceof Error && e.name === 'ProviderError' && 'kind' in e

/**
 * The shared state (Redis) did not answer: down, connection lost, or too slow. Raised per operation; the hook
 * decides from the type alone whether to send without the store or to refuse (`SMS_HOOK_STATE_DOWN`).
 */
export class StateUnavailableError extends Error {
  override readonly name = 'StateUnavailableError'
}

export const isStateUnavailableError = (e: unknown): e is StateUnavailableError =>
  e instanceof Error && e.name === 'StateUnavailableError'
