import type { Clock } from '../clock.js'
import { DeadlineError, isDeadlineError, isProviderError, type ProviderError } from '../errors.js'
import { MESSAGES, refused, type Outcome } from '../outcome.js'
import type { Provider, SendOptions, SmsMessage } from '../providers/types.js'

/** Attempts per provider for `retryable` failures (nothing was sent). */
const MAX_ATTEMPTS = 3
/** Do not start an attempt with less time than this left: it could only end as a timeout. */
const MIN_ATTEMPT_MS = 500

export interface DeliverOptions {
  clock: Clock
  /** Epoch ms by `clock`: the answer to GoTrue must be ready by then. */
  deadline: number
  /** Called as each attempt starts, for the hook's events. */
  onAttempt?: (attempt: number) => void
  /** Called with every failed attempt, for the hook's events. */
  onFailure?: (error: unknown, attempt: number) => void
}

/**
 * Sends `message` through `provider` and always settles by the deadline, whatever the provider does.
 *
 * Retryable failures are retried here, inside GoTrue's 5 s, with a short backoff (or the provider's retry hint),
 * because GoTrue's own retries share that budget and are never invited. A provider still busy at the deadline
 * may have delivered: that is `outcome_unknown`, never retried.
 */
export const deliver = async (provider: Provider, message: SmsMessage, options: DeliverOptions): Promise<Outcome> => {
  const { clock, deadline } = options
  for (let attempt = 1; ; attempt++) {
    let error: unknown
    options.onAttempt?.(attempt)
    try {
      const result = await withDeadline(deadline, clock, (sendOptions) => provider.send(message, sendOptions))
      return { ok: true, provider: provider.name, messageId: result.messageId }
    } catch (e) {
      error = e
      options.onFailure?.(e, attempt)
    }
    // A provider still busy at the deadline, or one that threw something untyped (a bug, a parse error after
    // its HTTP call), may have sent the SMS: never released for a resend.
    if (isDeadlineError(error) || !isProviderError(error)) return refused(504, 'outcome_unknown', MESSAGES.outcomeUnknown, true)
    if (error.kind === 'retryable' && attempt < MAX_ATTEMPTS) {
      const pause = backoff(error, attempt)
      if (deadline - clock.now() - pause >= MIN_ATTEMPT_MS) {
        await sleep(pause)
        continue
      }
    }
    return outcomeOf(error)
  }
}

/** The answer for a provider's typed failure. */
export const outcomeOf = (error: ProviderError): Outcome => {
  switch (error.kind) {
    case 'retryable':
      return refused(503, 'unavailable', MESSAGES.unavailable)
    case 'recipient_invalid':
      return refused(400, 'recipient_invalid', MESSAGES.recipientInvalid)
    case 'rate_limited':
      return refused(429, 'rate_limited', MESSAGES.rateLimited)
    case 'configuration':
      return refused(500, 'configuration', MESSAGES.configuration)
    case 'outcome_unknown':
      return refused(504, 'outcome_unknown', MESSAGES.outcomeUnknown, true)
  }
}

/** 100 ms, then 200 ms...; a provider's hint wins but never past a second (the whole budget is five). */
const backoff = (error: ProviderError, attempt: number) =>
  Math.min(error.retryAfterMs ?? 100 * 2 ** (attempt - 1), 1000)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `work` with a signal that aborts after `ms`, and settles at that moment even if `work` ignores the signal.
 * The signal is made on first use: an AbortController is costly on Node, and a provider that never waits on
 * the network (the console provider) never asks for it.
 */
const withDeadline = <T>(deadline: number, clock: Clock, work: (options: SendOptions) => Promise<T>): Promise<T> => {
  const ms = deadline - clock.now()
  if (ms <= 0) return Promise.reject(new DeadlineError('deadline passed before sending'))
  let controller: AbortController | undefined
  const options: SendOptions = {
    deadline,
    get signal() {
      controller ??= new AbortController()
      return controller.signal
    },
  }
  return new Promise<T>((resolve, reject) => {
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      const error = new DeadlineError(`no provider answer within ${ms} ms`)
      controller?.abort(error)
      reject(error)
    }, ms)
    let pending: Promise<T>
    try {
      pending = Promise.resolve(work(options))
    } catch (error) {
      clearTimeout(timer)
      reject(error)
      return
    }
    pending.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        // After the deadline the promise is already settled with DeadlineError; a provider's own abort
        // error arriving late must not change the answer.
        if (!timedOut) reject(error)
      },
    )
  })
}
