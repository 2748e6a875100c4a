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
    /** What is wrong with it, without the name: the message is `variable: detail`. */
    readonly detail: string,
  ) {
    super(`${variable}: ${detail}`)
  }
}

export const isConfigError = (e: unknown): e is ConfigError =>
  e instanceof Error && e.name === 'ConfigError' && 'variable' in e

/**
 * How a provider failed, which decides what the hook does next:
 * - `retryable`: nothing was sent (throttled, gateway down); the hook may try again or fail over.
 * - `recipient_invalid`: the vendor refused this destination: the number (invalid, unreachable, barred, opted
 *   out) or its region (geo permissions, no route). Trying again or another vendor cannot help, and would take
 *   the number past the operator's own per-vendor destination rules; it says nothing against the vendor.
 * - `rate_limited`: the provider's per-number flow control; the user must wait.
 * - `configuration`: a code the vendor documents as being about our account, credentials, sender, signature or
 *   template. Only such codes: a code we do not know is read as a destination refusal (see `unrecognised`).
 * - `outcome_unknown`: a timeout or lost connection after the request left; the SMS may have gone, so it is
 *   never retried, failed over or released for a resend.
 */
export type ProviderErrorKind = 'retryable' | 'recipient_invalid' | 'rate_limited' | 'configuration' | 'outcome_unknown'

export interface ProviderErrorOptions {
  /** The provider's own error code (`isv.BUSINESS_LIMIT_CONTROL`, `21211`), for logs. */
  providerCode?: string
  /** The provider's request id, for support tickets. */
  requestId?: string
  /** A retry hint from the provider (`x-acs-retry-after`, `Retry-After`), in milliseconds. */
  retryAfterMs?: number
  /**
   * The vendor's code is missing from its table in `providers/`. Such an answer is read as a destination
   * refusal (`recipient_invalid`): any number can draw an odd code, and reading it as our account's fault would
   * let anyone fail over past the first vendor's geo permissions and open its breaker. Logged at error with the
   * code, so that the operator can add it.
   */
  unrecognised?: boolean
  cause?: unknown
}

/** A typed provider failure; the kind, never the message text, drives retry, failover and the answer. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError'
  readonly providerCode: string | undefined
  readonly requestId: string | undefined
  readonly retryAfterMs: number | undefined
  readonly unrecognised: boolean
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    options: ProviderErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.providerCode = options.providerCode
    this.requestId = options.requestId
    this.retryAfterMs = options.retryAfterMs
    this.unrecognised = options.unrecognised ?? false
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

const isStoreFullError = (e: unknown): e is StoreFullError => e instanceof Error && e.name === 'StoreFullError'

/**
 * Why the shared state refused an operation it did answer: a short label from this fixed set, for the
 * `reason` of `sms_hook_store_errors_total` and the logs (docs/shared-state.md).
 * - `oom`: Redis is at `maxmemory` under `noeviction` and refuses writes.
 * - `readonly`: the endpoint is a replica (a failover happened, or the URL names the wrong node).
 * - `redirect`: a cluster node answered MOVED or ASK that the client did not follow (a plain client on a cluster).
 * - `wrongtype`: a key under our prefix holds another type (a foreign key, another deployment on the same prefix).
 * - `noperm`: the ACL user may not run the command or touch the key.
 * - `loading`: the server is loading its dataset after a restart.
 * - `busy`: the server is running a long script, or a Durable Object is overloaded.
 * - `script`: a script failed (NOSCRIPT that could not be retried, a Lua error).
 * - `unreplicated`: SMS_HOOK_REDIS_DURABLE=wait, and no replica acknowledged the write in time.
 * - `bad_reply`: the answer did not have the shape the store wrote (a stored outcome that does not parse).
 * - `full`: the in-memory store holds as many keys in flight as it may.
 * - `other`: any other error reply.
 */
export type StoreErrorReason =
  | 'oom'
  | 'readonly'
  | 'redirect'
  | 'wrongtype'
  | 'noperm'
  | 'loading'
  | 'busy'
  | 'script'
  | 'unreplicated'
  | 'bad_reply'
  | 'full'
  | 'other'

/**
 * The shared state answered, with an error: it is there but refuses (full, read-only, wrong key type...). Unlike
 * silence (StateUnavailableError) this never follows SMS_HOOK_STATE_DOWN: the call is refused with nothing sent,
 * since sending unguarded would hand anyone who can fill the state a switch that turns the guard off.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError'
  /** The server's own word for it (`OOM`, `READONLY`, `WRONGPASS`), for logs; absent when it gave none. */
  readonly code: string | undefined
  constructor(
    readonly reason: StoreErrorReason,
    message: string,
    options?: { cause?: unknown; code?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = options?.code
  }
}

export const isStoreError = (e: unknown): e is StoreError =>
  e instanceof Error && e.name === 'StoreError' && 'reason' in e

/** The reason label of any failure of the state that is not silence. */
export const storeErrorReason = (e: unknown): StoreErrorReason =>
  isStoreError(e) ? e.reason : isStoreFullError(e) ? 'full' : 'other'

/**
 * The shared state (Redis) did not answer: down, connection lost, or too slow. Raised per operation; the hook
 * decides from the type alone whether to send without the store or to refuse (`SMS_HOOK_STATE_DOWN`).
 */
export class StateUnavailableError extends Error {
  override readonly name = 'StateUnavailableError'
  /** What kept the answer away, for logs: a system error code (`ECONNREFUSED`, `ENOTFOUND`), `timeout` or `closed`. */
  readonly code: string | undefined
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = options?.code
  }
}

export const isStateUnavailableError = (e: unknown): e is StateUnavailableError =>
  e instanceof Error && e.name === 'StateUnavailableError'
