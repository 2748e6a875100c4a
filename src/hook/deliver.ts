import type { Clock } from '../clock.js'
import { Deadline, sleep } from '../deadline.js'
import { DeadlineError, isProviderError, type ProviderError } from '../errors.js'
import { MESSAGES, OUTCOME_UNKNOWN, refused, type Outcome } from '../outcome.js'
import type { Provider, SendOptions, SmsMessage } from '../providers/types.js'
import type { BreakerPass, BreakerVerdict, CircuitBreaker } from './breaker.js'
import type { FailedAttempt } from './events.js'

/** Attempts per provider for `retryable` failures (nothing was sent), when no other provider is left to try. */
const MAX_ATTEMPTS = 3
/** Do not start an attempt with less time than this left: it could only end as a timeout. */
const MIN_ATTEMPT_MS = 500

export interface DeliverOptions {
  clock: Clock
  /** The answer to GoTrue must be ready by then, whatever number of providers is tried. */
  deadline: Deadline
  /**
   * How long a provider call may go on after the answer went out (`RUN_ON_MS` by default): a call still at work at
   * the deadline is not aborted, since the SMS may be on its way, and its own outcome is reported in `late`.
   */
  runOnMs?: number
  /** `SMS_HOOK_FAILOVER_ON_TIMEOUT`: fail over after a provider's own `outcome_unknown` answer too. */
  failoverOnTimeout: boolean
  /** Each provider's circuit breaker (`createBreakers`). */
  breakerOf: (provider: Provider) => CircuitBreaker
  /**
   * Called with every failed attempt, for the hook's events; `attempt` counts attempts on every provider, and
   * `providerMs` is how long the provider took on it.
   */
  onFailure?: (provider: string, error: unknown, attempt: number, providerMs: number) => void
}

/** How a delivery went: the answer, and the attempts that led to it. */
export interface Delivery {
  outcome: Outcome
  /** The provider whose answer `outcome` is: the last one tried. */
  provider: string
  /** Attempts on every provider together. */
  attempts: number
  /** Every failed attempt, in order. */
  failedAttempts: FailedAttempt[]
  /** Providers of the route passed over because their breaker was open. */
  skipped: string[]
  /** How long the provider took on the last attempt. */
  providerMs: number
  /**
   * Set when the deadline passed with the last provider still at work (`outcome` is then `outcome_unknown`):
   * settles with that provider's own outcome once its call ends, at most `runOnMs` later. Never rejects.
   */
  late?: Promise<LateOutcome>
}

/** What a provider call that outlived the answer ended with. */
export interface LateOutcome {
  outcome: Outcome
  /** How long the provider took, from the start of the attempt. */
  providerMs: number
  /** The provider's failure, when it failed; for the log. */
  error?: unknown
}

/** A provider call still at work when the answer went out may go on this long from its start, then is aborted. */
export const RUN_ON_MS = 30_000

/**
 * Sends `message` through the providers of `route`, in order, and always settles by the deadline, whatever
 * the providers do. The answer is the last provider's.
 *
 * - `retryable` (nothing was sent) and `configuration` (this vendor's account, sign name or template; another
 *   vendor is configured apart) move on to the next provider at once. Only the last provider available retries
 *   a `retryable` failure itself, with a short backoff (or the provider's retry hint), because GoTrue's own
 *   retries share the same 5 s and are never invited.
 * - `recipient_invalid` and `rate_limited` are answers about the number or its destination: another vendor
 *   would not help, would cost money, and would pass over the first vendor's own destination rules (its geo
 *   permissions), so they are answered as they are. Neither counts towards the breaker: anyone can pick a number
 *   a vendor refuses. A code the vendor's table does not know (`unrecognised`) is answered the same way.
 * - `outcome_unknown` (the SMS may have gone) is answered as it is, unless `failoverOnTimeout`. A provider still
 *   busy at the deadline ends the call either way: no time is left.
 * - No attempt but the first starts with less than `MIN_ATTEMPT_MS` left.
 * - A provider whose breaker is open is skipped; when every provider of the route is, the last is tried anyway.
 *
 * Once an attempt may have sent the SMS, the answer keeps `mayHaveSent`, whatever the later providers said,
 * so that GoTrue's retries are answered from it and never send again.
 */
export const deliver = async (
  route: readonly Provider[],
  message: SmsMessage,
  options: DeliverOptions,
): Promise<Delivery> => {
  const { deadline, breakerOf } = options
  const trail: Trail = { attempts: 0, failedAttempts: [], skipped: [], providerMs: 0 }
  let answer: { outcome: Outcome; provider: string; late: Promise<LateOutcome> | undefined } | undefined
  let mayHaveSent = false
  for (const [index, provider] of route.entries()) {
    if (answer !== undefined && deadline.remaining() < MIN_ATTEMPT_MS) break
    const breaker = breakerOf(provider)
    let pass: BreakerPass | undefined = breaker.enter()
    if (pass === undefined) {
      if (index < route.length - 1 || answer !== undefined) {
        trail.skipped.push(provider.name)
        continue
      }
      // Every provider of the route is open: trying the last beats refusing outright.
      pass = 'forced'
    }
    const othersLeft = () => route.slice(index + 1).some((next) => breakerOf(next).available)
    let verdict: BreakerVerdict = 'down'
    let run: Run
    try {
      run = await runOn(provider, message, options, trail, othersLeft)
      verdict = run.verdict
    } finally {
      // Even when something threw, a probe must come back, or the provider would never be tried again.
      breaker.record(pass, verdict)
    }
    answer = { outcome: run.outcome, provider: provider.name, late: run.late }
    if (run.outcome.ok || !run.failOver) break
    mayHaveSent ||= run.outcome.mayHaveSent
  }
  if (answer === undefined) throw new Error('deliver needs a route with at least one provider')
  // Once an earlier provider may have sent the SMS, no later answer can say it was not sent.
  const keepSent = (outcome: Outcome): Outcome =>
    !outcome.ok && mayHaveSent && !outcome.mayHaveSent ? { ...outcome, mayHaveSent: true } : outcome
  return {
    ...trail,
    provider: answer.provider,
    outcome: keepSent(answer.outcome),
    ...(answer.late ? { late: answer.late.then((late) => ({ ...late, outcome: keepSent(late.outcome) })) } : {}),
  }
}

type Trail = Omit<Delivery, 'outcome' | 'provider'>

/** How a hook's run on one provider ended: its answer, what it says of the vendor, and whether to try the next. */
interface Run {
  outcome: Outcome
  verdict: BreakerVerdict
  failOver: boolean
  late?: Promise<LateOutcome>
}

const runOn = async (
  provider: Provider,
  message: SmsMessage,
  options: DeliverOptions,
  trail: Trail,
  othersLeft: () => boolean,
): Promise<Run> => {
  const { clock, deadline } = options
  for (let attempt = 1; ; attempt++) {
    // Nothing was sent: a failure of the hook's own, which says nothing of the vendor and must never be read as
    // "the SMS may have gone".
    if (deadline.passed) return { outcome: NOT_STARTED, verdict: 'none', failOver: false }
    trail.attempts++
    const attemptStarted = clock.now()
    const settled = await attemptUntil(provider, message, deadline, options.runOnMs ?? RUN_ON_MS, clock)
    trail.providerMs = clock.now() - attemptStarted
    if (settled.ok) {
      return {
        outcome: { ok: true, provider: provider.name, messageId: settled.messageId },
        verdict: 'up',
        failOver: false,
      }
    }
    const error = settled.error
    trail.failedAttempts.push(failedAttempt(provider.name, error))
    options.onFailure?.(provider.name, error, trail.attempts, trail.providerMs)
    // The deadline passed with the provider still at work: nothing can start any more, and the SMS may be on
    // its way. The call runs on; what it ends with is the late outcome.
    if (settled.late) return { outcome: OUTCOME_UNKNOWN, verdict: 'down', failOver: false, late: settled.late }
    // A provider that threw something untyped (a bug, a parse error after its HTTP call) may have sent it too.
    if (!isProviderError(error))
      return { outcome: OUTCOME_UNKNOWN, verdict: 'down', failOver: options.failoverOnTimeout }
    const outcome = outcomeOf(error)
    switch (error.kind) {
      case 'recipient_invalid':
      case 'rate_limited':
        // A known refusal of the number shows the vendor up; an unknown code shows nothing either way.
        return { outcome, verdict: error.unrecognised ? 'none' : 'up', failOver: false }
      case 'outcome_unknown':
        return { outcome, verdict: 'down', failOver: options.failoverOnTimeout }
      case 'configuration':
        return { outcome, verdict: 'down', failOver: true }
      case 'retryable':
        if (attempt < MAX_ATTEMPTS && !othersLeft()) {
          const pause = backoff(error, attempt)
          if (deadline.remaining() - pause >= MIN_ATTEMPT_MS) {
            await sleep(pause)
            continue
          }
        }
        return { outcome, verdict: 'down', failOver: true }
    }
  }
}

/** The answer when the SMS may have gone: never released for a resend (`mayHaveSent`). */
/** The deadline passed before any provider was called: nothing was sent. */
const NOT_STARTED = refused(503, 'busy', MESSAGES.busy)

const failedAttempt = (provider: string, error: unknown): FailedAttempt =>
  isProviderError(error)
    ? { provider, kind: error.kind, code: error.providerCode }
    : { provider, kind: 'outcome_unknown', code: undefined }

/** The answer for a provider's typed failure. */
const outcomeOf = (error: ProviderError): Outcome => {
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
      return OUTCOME_UNKNOWN
  }
}

/** 100 ms, then 200 ms...; a provider's hint wins but never past a second (the whole budget is five). */
const backoff = (error: ProviderError, attempt: number) =>
  Math.min(error.retryAfterMs ?? 100 * 2 ** (attempt - 1), 1000)

/** How one provider call went by the answer's deadline. */
type Attempt =
  | { ok: true; messageId: string }
  /** `late`: the deadline passed first (`error` is a DeadlineError); the call goes on, and `late` is its end. */
  | { ok: false; error: unknown; late?: Promise<LateOutcome> }

/**
 * Calls the provider and settles by the answer's deadline even if the provider ignores every signal. A call
 * still at work then is NOT aborted, since the vendor may be sending the SMS: it goes on with its own signal,
 * which aborts `runOnMs` after the attempt began, and its end is reported through `late`. The signal is made on
 * first use: an AbortController is costly on Node, and a provider that never waits on the network (the console
 * provider) never asks for it.
 */
const attemptUntil = async (
  provider: Provider,
  message: SmsMessage,
  deadline: Deadline,
  runOnMs: number,
  clock: Clock,
): Promise<Attempt> => {
  const started = clock.now()
  const own = new Deadline(started + runOnMs, clock, () => new DeadlineError(`no provider answer within ${runOnMs} ms`))
  const options: SendOptions = {
    deadline: own.at,
    get signal() {
      return own.signal
    },
  }
  const pending = (async () => provider.send(message, options))().finally(() => own.clear())
  try {
    const result = await deadline.race(pending)
    return { ok: true, messageId: result.messageId }
  } catch (error) {
    if (!deadline.isReason(error)) return { ok: false, error }
    const late = pending.then(
      (result): LateOutcome => ({
        outcome: { ok: true, provider: provider.name, messageId: result.messageId },
        providerMs: clock.now() - started,
      }),
      (failure: unknown): LateOutcome => ({
        outcome: isProviderError(failure) ? outcomeOf(failure) : OUTCOME_UNKNOWN,
        providerMs: clock.now() - started,
        error: failure,
      }),
    )
    return { ok: false, error, late }
  }
}
