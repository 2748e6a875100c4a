/**
 * What the hook reports about each call, as typed events: the handler decides the order of steps, observers
 * decide what to do with what happened (the JSON log here; metrics elsewhere). An observer must not throw.
 */
import { isDeadlineError, isProviderError, storeErrorReason, type ProviderErrorKind } from '../errors.js'
import { maskPhone, type Logger, type LogFields } from '../log.js'
import type { GuardRule } from '../guard/index.js'
import type { Delivered, Refused } from '../outcome.js'
import type { BreakerTransition } from './breaker.js'
import type { StateDownPolicy } from '../store/config.js'
import { isFinal, type DeliveryRecord, type DeliveryStatus } from '../delivery/types.js'

/** Who and what a claimed call is about, for every event after the payload was read. */
export interface CallContext {
  /** The idempotency key. */
  key: string
  /** E.164 digits; observers mask it. */
  to: string
  smsType: string
}

/**
 * A provider attempt that failed, as the `delivered` and `failed` events list them. A deadline that passed
 * during the attempt, or an error that is not a `ProviderError`, is `outcome_unknown` without a code.
 */
export interface FailedAttempt {
  provider: string
  kind: ProviderErrorKind
  /** The vendor's own error code, when it gave one. */
  code: string | undefined
}

/**
 * Event names (`type`) are stable: metrics and alerts key on them.
 * - `refused`: refused before any idempotency claim.
 * - `replayed`: a repeat answered from a stored outcome.
 * - `attempt_failed`: one provider attempt failed.
 * - `delivered` / `failed`: the outcome of a call that went through routing (`failed` also when no route matched).
 * - `store_error`: the idempotency store failed.
 * - `breaker`: a provider's circuit breaker `opened`, went `half_open` (one probe may try it) or `closed`.
 */
export type HookEvent =
  /**
   * Refused before any idempotency claim: too large, unsigned or tampered, unreadable, a number no SMS reaches,
   * or shed as the process is too busy to answer in time (`shed`: 503 busy).
   */
  | {
      type: 'refused'
      step: 'body' | 'verify' | 'parse' | 'normalise' | 'shed'
      refusal: Refused
      reason: string
      /** From the request's arrival to this answer, as for the other calls: the hook's latency counts them too. */
      durationMs: number
      fields?: LogFields
    }
  /** A repeat of a call that already has an outcome: answered from it, nothing sent. */
  | {
      type: 'replayed'
      call: CallContext
      outcome: Delivered | Refused
      provider: string | undefined
      durationMs: number
      /** A stored "may have gone" outcome answered as success (SMS_HOOK_UNKNOWN_OUTCOME=success). */
      answeredAsSent: boolean
    }
  /** One provider attempt failed; more may follow. `attempt` counts the call's attempts on every provider, from 1. */
  | { type: 'attempt_failed'; call: CallContext; provider: string; attempt: number; error: unknown; providerMs: number }
  /**
   * Sent by `provider` after `attempts` attempts in all; `failedAttempts` are the ones before it, on this
   * provider or on those it failed over from; `skipped` the providers of the route passed over as their breaker was open.
   */
  | {
      type: 'delivered'
      call: CallContext
      outcome: Delivered
      provider: string
      attempts: number
      failedAttempts: readonly FailedAttempt[]
      skipped: readonly string[]
      durationMs: number
      /** How long the provider took on the attempt that sent. */
      providerMs: number
    }
  /** Not sent. `provider` is the last one tried, whose answer this is; undefined when none was (no route). */
  | {
      type: 'failed'
      call: CallContext
      outcome: Refused
      provider: string | undefined
      attempts: number
      failedAttempts: readonly FailedAttempt[]
      skipped: readonly string[]
      durationMs: number
      /**
       * The SMS may have gone (`outcome.mayHaveSent`) and the call was answered as success, so that GoTrue keeps
       * the code that may still arrive (SMS_HOOK_UNKNOWN_OUTCOME=success).
       */
      answeredAsSent: boolean
    }
  /**
   * A provider call that was still at work when the call was answered ended: `outcome` is what it really did
   * (delivered, or a failure), recorded for the idempotency key. Comes after the call's `failed` event.
   */
  | {
      type: 'late_outcome'
      call: CallContext
      provider: string
      outcome: Delivered | Refused
      providerMs: number
      error?: unknown
    }
  /**
   * GoTrue's `metadata.time` was too far from this clock to be its time of the call (more than a second ahead, or
   * minutes old): the deadline counts from arrival. Reported at most once a minute.
   */
  | { type: 'clock_untrusted'; ageMs: number }
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
  /** A provider's circuit breaker changed state (breaker.ts); not tied to one call. */
  | { type: 'breaker'; provider: string; state: BreakerTransition }
  /**
   * A resend (a code asked for within SMS_HOOK_RESEND_WINDOW of the last send to the number, which is not known
   * to be delivered) tries `to` first, the provider of that last send (`from`) last.
   */
  | { type: 'resend_rotated'; call: CallContext; from: string; to: string }
  /**
   * One delivery report was read, from a vendor's push (`via: 'receipt'`) or from asking the vendor
   * (`'reconcile'`): `status` is the status it moved the send to, `unmatched` when no kept send of that provider
   * has its reference or message id, `refused` when the request was not taken (bad signature, malformed report).
   * `changed` is false for a repeat or a status behind the one kept: nothing changed, nothing is counted.
   */
  | {
      type: 'receipt'
      provider: string
      via: 'receipt' | 'reconcile'
      status: DeliveryStatus | 'unmatched' | 'refused'
      changed: boolean
      /** The send as it is now, when matched. */
      record?: DeliveryRecord
      vendorCode?: string
      /** Why it was refused or not matched, for the log. */
      reason?: string
    }
  /** The delivery records failed: recording a send, applying a receipt, reading the last send, reconciling. */
  | { type: 'delivery_error'; phase: 'record' | 'receipt' | 'resend' | 'reconcile'; error: unknown; key?: string }

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
 * the provider whose answer it is and the providers it failed over from (`failed_over`), a line per failed
 * provider attempt, errors of the store, and the breakers' transitions. Fields are built only for lines that are
 * written: at LOG_LEVEL=warn a delivered OTP builds none.
 */
export const logObserver = (logger: Logger): HookObserver =>
  function logHookEvent(event) {
    switch (event.type) {
      case 'refused':
        if (logger.enabled('warn')) {
          logger.warn(REFUSED_MESSAGES[event.step], {
            reason: event.reason,
            status: event.refusal.status,
            ...event.fields,
          })
        }
        return
      case 'attempt_failed':
        logAttemptFailure(logger, event.error, { ...callFields(event.call, event.provider), attempt: event.attempt })
        return
      case 'guard_refused':
        if (logger.enabled('warn')) {
          logger.warn('sms-pumping guard refused the call', {
            ...callFields(event.call, undefined),
            rule: event.rule,
            status: event.refusal.status,
          })
        }
        return
      case 'state_down':
        logger.warn(STATE_DOWN_MESSAGES[event.policy][event.step], {
          ...callFields(event.call, undefined),
          error: describeError(event.error),
        })
        return
      case 'store_error':
        logger.error(STORE_ERROR_MESSAGES[event.phase], {
          ...callFields(event.call, undefined),
          reason: storeErrorReason(event.error),
          error: describeError(event.error),
        })
        return
      case 'breaker':
        if (event.state === 'opened') {
          logger.warn('provider keeps failing: skipped until its breaker cools down', {
            provider: event.provider,
            breaker: event.state,
          })
        } else if (logger.enabled('info')) {
          const msg =
            event.state === 'half_open' ? 'letting one hook probe a skipped provider' : 'provider answers again'
          logger.info(msg, { provider: event.provider, breaker: event.state })
        }
        return
      case 'late_outcome':
        logLateOutcome(logger, event)
        return
      case 'clock_untrusted':
        logger.warn('metadata.time is far from this clock: check NTP', {
          age_ms: event.ageMs,
        })
        return
      case 'replayed':
        logCall(logger, event)
        return
      case 'resend_rotated':
        if (logger.enabled('info')) {
          logger.info('resend: trying another provider first', {
            ...callFields(event.call, event.to),
            previous_provider: event.from,
          })
        }
        return
      case 'receipt':
        logReceipt(logger, event)
        return
      case 'delivery_error': {
        // A vendor refusing the reconciliation's question (a RAM permission missing) is not the state failing.
        const { error } = event
        const refusedQuery = event.phase === 'reconcile' && isProviderError(error)
        logger.error(refusedQuery ? RECONCILE_REFUSED : DELIVERY_ERROR_MESSAGES[event.phase], {
          ...(event.key === undefined ? {} : { key: event.key }),
          error: describeError(error),
          ...(refusedQuery ? { kind: error.kind, provider_code: error.providerCode } : {}),
        })
        return
      }
      case 'delivered':
      case 'failed':
        logCall(logger, event, () => ({
          ...failoverFields(event.provider, event.failedAttempts),
          ...(event.skipped.length > 0 ? { skipped: event.skipped } : {}),
        }))
    }
  }

/** The `hook` line: info when sent, error when our configuration failed, warn otherwise. */
const logCall = (
  logger: Logger,
  event: Extract<HookEvent, { type: 'replayed' | 'delivered' | 'failed' }>,
  extra?: () => LogFields,
) => {
  const { outcome } = event
  const level = outcome.ok ? 'info' : outcome.status === 500 ? 'error' : 'warn'
  if (!logger.enabled(level)) return
  logger[level]('hook', {
    ...callFields(event.call, event.provider),
    outcome: outcome.ok ? (event.type === 'replayed' ? 'replayed' : 'sent') : outcome.code,
    status: outcome.ok || (event.type !== 'delivered' && event.answeredAsSent) ? 200 : outcome.status,
    ...(event.type !== 'delivered' && event.answeredAsSent ? { answered: 'success' } : {}),
    attempts: event.type === 'replayed' ? 0 : event.attempts,
    ...extra?.(),
    duration_ms: event.durationMs,
  })
}

/** What a provider call that outlived its answer ended with: the operator sees whether the code went out. */
const logLateOutcome = (logger: Logger, event: Extract<HookEvent, { type: 'late_outcome' }>) => {
  const { outcome } = event
  const fields = {
    ...callFields(event.call, event.provider),
    outcome: outcome.ok ? 'sent' : outcome.code,
    provider_ms: event.providerMs,
    ...(event.error === undefined ? {} : { error: describeError(event.error) }),
  }
  if (outcome.ok) {
    if (logger.enabled('info')) logger.info('provider answered after the hook had answered: sent', fields)
  } else {
    logger.warn('provider answered after the hook had answered: not sent', fields)
  }
}

/**
 * A line per receipt that settles a send (masked number, provider, status, vendor code, seconds from the
 * hand-off to the handset), a warning per refused report; a receipt for no kept send is a debug line, since
 * a vendor may push reports of sends made before this hook (or another) took over.
 */
const logReceipt = (logger: Logger, event: Extract<HookEvent, { type: 'receipt' }>) => {
  const { record } = event
  if (event.status === 'refused') {
    logger.warn('delivery report refused', { provider: event.provider, reason: event.reason })
    return
  }
  if (event.status === 'unmatched' || record === undefined) {
    if (logger.enabled('debug'))
      logger.debug('delivery report for no kept send', { provider: event.provider, reason: event.reason })
    return
  }
  if (!event.changed || !isFinal(event.status)) return
  const level = event.status === 'delivered' ? 'info' : 'warn'
  if (!logger.enabled(level)) return
  logger[level]('delivery', {
    key: record.reference,
    phone: record.to,
    provider: record.provider,
    status: event.status,
    vendor_code: record.vendorCode,
    via: event.via,
    ...(record.deliveredAt === undefined ? {} : { seconds: deliverySeconds(record) }),
  })
}

/** Seconds from the hand-off to the handset as the receipt reports them, never below 0 (clocks differ). */
export const deliverySeconds = (record: DeliveryRecord): number =>
  Math.max(0, Math.round((record.deliveredAt! - record.sentAt) / 100) / 10)

const RECONCILE_REFUSED = 'the vendor refused a reconciliation query: the send waits for its receipt'

const DELIVERY_ERROR_MESSAGES = {
  record: 'delivery records failed to record a send',
  receipt: 'delivery records failed to apply a report',
  resend: 'delivery records failed to read the last send: the route keeps its order',
  reconcile: 'delivery records failed during a reconciliation',
} as const

/** `failed_over`: the failed attempts on providers other than the one whose answer this is; absent without failover. */
const failoverFields = (provider: string | undefined, failedAttempts: readonly FailedAttempt[]): LogFields => {
  const failedOver = failedAttempts.filter((attempt) => attempt.provider !== provider)
  return failedOver.length > 0 ? { failed_over: failedOver } : {}
}

const REFUSED_MESSAGES = {
  body: 'hook body too large',
  verify: 'hook signature rejected',
  parse: 'hook payload refused',
  normalise: 'hook payload refused',
  shed: 'hook shed: too busy to answer in time',
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
  // Answered like a refused number, but only the operator can tell what the code means: said loudly, with it.
  else if (error.unrecognised)
    logger.error('provider answered a code missing from its table', { ...details, unrecognised: true })
  else logger.warn('provider failed', details)
}

const describeError = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))
