/**
 * What the hook reports about each call, as typed events: the handler decides the order of steps, observers
 * decide what to do with what happened (the JSON log here; metrics elsewhere). An observer must not throw.
 */
import { isDeadlineError, isProviderError } from '../errors.js'
import { maskPhone, type Logger, type LogFields } from '../log.js'
import type { GuardRule } from '../guard/index.js'
import type { Delivered, Refused } from '../outcome.js'
import type { StateDownPolicy } from '../store/config.js'

/** Who and what a claimed call is about, for every event after the payload was read. */
export interface CallContext {
  /** The idempotency key. */
  key: string
  /** E.164 digits; observers mask it. */
  to: string
  smsType: string
}

export type HookEvent =
  /** Refused before any idempotency claim: too large, unsigned or tampered, unreadable, a number no SMS reaches. */
  | { type: 'refused'; step: 'body' | 'verify' | 'parse' | 'normalise'; refusal: Refused; reason: string; fields?: LogFields }
  /** A repeat of a call that already has an outcome: answered from it, nothing sent. */
  | { type: 'replayed'; call: CallContext; outcome: Delivered | Refused; provider: string | undefined; durationMs: number }
  /** One provider attempt failed, after `providerMs`; more may follow. */
  | { type: 'attempt_failed'; call: CallContext; provider: string; attempt: number; error: unknown; providerMs: number }
  /** `providerMs`: how long the provider took on the attempt that sent; `durationMs`: the whole call. */
  | { type: 'delivered'; call: CallContext; outcome: Delivered; provider: string; attempts: number; durationMs: number; providerMs: number }
  | { type: 'failed'; call: CallContext; outcome: Refused; provider: string | undefined; attempts: number; durationMs: number }
  /** The SMS-pumping guard refused the call before any provider was called; a `failed` event follows. */
  | { type: 'guard_refused'; call: CallContext; rule: GuardRule; refusal: Refused }
  /**
   * The shared state did not answer (StateUnavailableError) at the idempotency claim or the guard's counters, and
   * `SMS_HOOK_STATE_DOWN` decided: `send` goes on without de-duplication (or without the limits), `refuse` answers 503.
   */
  | { type: 'state_down'; call: CallContext; step: 'idempotency' | 'guard'; policy: StateDownPolicy; error: unknown }
  /**
   * The shared state failed otherwise than by not answering: the idempotency store before sending (`claim`) or
   * while recording what happened (`record`), or the guard's counters (`guard`).
   */
  | { type: 'store_error'; call: CallContext; phase: 'claim' | 'guard' | 'record'; error: unknown }
  /** A provider's circuit breaker changed state (emitted by the provider routing). */
  | { type: 'breaker'; provider: string; state: 'opened' | 'half_open' | 'closed' }

export type HookObserver = (event: HookEvent) => void

/** One observer made of several, in order. */
export const observeAll = (observers: readonly HookObserver[]): HookObserver => {
  if (observers.length === 1) return observers[0]!
  return (event) => {
    for (const observe of observers) observe(event)
  }
}

/**
 * The JSON log of hook calls: one `hook` line per call with the masked number (never the OTP or the body),
 * a line per failed provider attempt, and errors of the store. Fields are built only for lines that are
 * written: at LOG_LEVEL=warn a delivered OTP builds none.
 */
export const logObserver = (logger: Logger): HookObserver =>
  function logHookEvent(event) {
    switch (event.type) {
      case 'refused':
        if (logger.enabled('warn')) {
          logger.warn(REFUSED_MESSAGES[event.step], { reason: event.reason, status: event.refusal.status, ...event.fields })
        }
        return
      case 'attempt_failed':
        logAttemptFailure(logger, event.error, { ...callFields(event.call, event.provider), attempt: event.attempt })
        return
      case 'guard_refused':
        if (logger.enabled('warn')) {
          logger.warn('sms-pumping guard refused the call', { ...callFields(event.call, undefined), rule: event.rule, status: event.refusal.status })
        }
        return
      case 'state_down':
        logger.warn(STATE_DOWN_MESSAGES[event.policy][event.step], { ...callFields(event.call, undefined), error: describeError(event.error) })
        return
      case 'store_error':
        logger.error(STORE_ERROR_MESSAGES[event.phase], {
          ...callFields(event.call, undefined),
          error: describeError(event.error),
        })
        return
      case 'replayed':
      case 'delivered':
      case 'failed': {
        const { outcome } = event
        const level = outcome.ok ? 'info' : outcome.status === 500 ? 'error' : 'warn'
        if (!logger.enabled(level)) return
        logger[level]('hook', {
          ...callFields(event.call, event.provider),
          outcome: outcome.ok ? (event.type === 'replayed' ? 'replayed' : 'sent') : outcome.code,
          status: outcome.ok ? 200 : outcome.status,
          attempts: event.type === 'replayed' ? 0 : event.attempts,
          duration_ms: event.durationMs,
        })
      }
    }
  }

const REFUSED_MESSAGES = {
  body: 'hook body too large',
  verify: 'hook signature rejected',
  parse: 'hook payload refused',
  normalise: 'hook payload refused',
} as const

const STORE_ERROR_MESSAGES = {
  claim: 'idempotency store failed',
  guard: "the guard's counters failed",
  record: 'idempotency store failed to record an outcome',
} as const

const STATE_DOWN_MESSAGES = {
  send: {
    idempotency: 'shared state unavailable: sending without de-duplication',
    guard: 'shared state unavailable: sending without the velocity limits',
  },
  refuse: {
    idempotency: 'shared state unavailable: refusing the call',
    guard: 'shared state unavailable: refusing the call',
  },
} as const

const callFields = (call: CallContext, provider: string | undefined): LogFields => ({
  key: call.key,
  phone: maskPhone(call.to),
  provider,
  sms_type: call.smsType,
})

/** Provider failures with what support needs (provider code, request id); configuration errors are errors. */
const logAttemptFailure = (logger: Logger, error: unknown, fields: LogFields) => {
  if (isDeadlineError(error)) {
    logger.warn('provider did not answer before the deadline; the SMS may still arrive', fields)
    return
  }
  if (!isProviderError(error)) {
    logger.error('provider failed', { ...fields, error: describeError(error) })
    return
  }
  const details = {
    ...fields,
    kind: error.kind,
    provider_code: error.providerCode,
    provider_message: error.message,
    request_id: error.requestId,
  }
  if (error.kind === 'configuration') logger.error('provider rejected our configuration', details)
  else logger.warn('provider failed', details)
}

export const describeError = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))
