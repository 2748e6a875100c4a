/**
 * Every error type of the project, and the one shape of an error answer. Guards test `name` rather than
 * `instanceof`, so an error keeps its meaning after bundling or when it crosses a runtime boundary (a Durable
 * Object stub, a worker isolate).
 */

/**
 * The body of every error answer, `{"error":{"http_code","message"}}`: the object GoTrue v2.187+ reads from a
 * hook's answer (docs/gotrue-contract.md), used for the app's own errors (404, 500) too so that callers see one shape.
 */
export const errorBody = (status: number, message: string) => ({ error: { http_code: status, message } })

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

/** The hook's deadline passed while the provider was still working: the SMS may still arrive. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError'
}

export const isDeadlineError = (e: unknown): e is DeadlineError => e instanceof Error && e.name === 'DeadlineError'

/** The request body was larger than allowed; answered 413. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError'
}

export const isBodyTooLargeError = (e: unknown): e is BodyTooLargeError =>
  e instanceof Error && e.name === 'BodyTooLargeError'

/**
 * The connection closed before the request body had arrived: the client went away, or the server cut it off for
 * sending too slowly. The client's doing, not ours; nobody reads the answer.
 */
export class RequestAbortedError extends Error {
  override readonly name = 'RequestAbortedError'
}

export const isRequestAbortedError = (e: unknown): e is RequestAbortedError =>
  e instanceof Error && e.name === 'RequestAbortedError'

export type SignatureFailure =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'invalid_body_encoding'
  | 'no_matching_signature'

/** A request that is not provably from GoTrue. The reason goes to the log, never to the caller. */
export class SignatureError extends Error {
  override readonly name = 'SignatureError'
  constructor(readonly reason: SignatureFailure) {
    super(reason)
  }
}

export const isSignatureError = (e: unknown): e is SignatureError =>
  e instanceof Error && e.name === 'SignatureError' && 'reason' in e

/** Raised by a store that cannot take another in-flight key without forgetting one. */
export class StoreFullError extends Error {
  override readonly name = 'StoreFullError'
}

export const isStoreFullError = (e: unknown): e is StoreFullError => e instanceof Error && e.name === 'StoreFullError'

/**
 * The shared state (Redis) did not answer: down, connection lost, or too slow. Raised per operation; the hook
 * decides from the type alone whether to send without the store or to refuse (`SMS_HOOK_STATE_DOWN`).
 */
export class StateUnavailableError extends Error {
  override readonly name = 'StateUnavailableError'
}

export const isStateUnavailableError = (e: unknown): e is StateUnavailableError =>
  e instanceof Error && e.name === 'StateUnavailableError'
