import type { Context } from 'hono'
import type { Clock } from '../clock.js'
import { Deadline } from '../deadline.js'
import {
  DeadlineError,
  isBodyTooLargeError,
  isSignatureError,
  isStateUnavailableError,
  StateUnavailableError,
} from '../errors.js'
import type { Guard } from '../guard/index.js'
import { createMessageBuilder, type MessageConfig } from '../message/build.js'
import { clip, maskPhone, type LogFields } from '../log.js'
import { MESSAGES, refused, type Outcome, type Refused } from '../outcome.js'
import { normalisePhone, type PhoneNumber } from '../phone/e164.js'
import type { Provider } from '../providers/types.js'
import type { StateDownPolicy } from '../store/config.js'
import type { IdempotencyStore } from '../store/types.js'
import { answer, answeredAsSent } from './answer.js'
import { readBody } from './body.js'
import { createBreakers } from './breaker.js'
import type { HookConfig } from './config.js'
import { deliver, type Delivery } from './deliver.js'
import type { DeliveryTracking } from './deliveries.js'
import type { NumberKey } from '../delivery/number-key.js'
import type { CallContext, HookEvent, HookObserver } from './events.js'
import { idempotencyKey, once, type Sent } from './idempotency.js'
import { parsePayload, type HookPayload } from './parse.js'
import { createRouter, type RoutingConfig } from './route.js'
import {
  checkSignatureHeaders,
  createBodyVerifier,
  type HeaderSource,
  type SignatureHeaders,
  type SignerFactory,
} from './verify.js'

/** A number no rule of `SMS_HOOK_ROUTES` matches: no provider is called. */
const NO_ROUTE = refused(400, 'no_route', MESSAGES.noRoute)
/** Nothing sent: the shared state failed (`store_unavailable`), or did not answer under SMS_HOOK_STATE_DOWN=refuse. */
const STORE_UNAVAILABLE = refused(503, 'store_unavailable', MESSAGES.unavailable)
const STATE_UNAVAILABLE = refused(503, 'state_unavailable', MESSAGES.unavailable)
/** Shed at once, nothing claimed or sent: answering late would be worse, GoTrue gives up after 5 s anyway. */
const BUSY = refused(503, 'busy', MESSAGES.busy)
const UNAUTHORIZED = refused(401, 'unauthorized', MESSAGES.unauthorized)
const PAYLOAD_TOO_LARGE = refused(413, 'payload_too_large', MESSAGES.payloadTooLarge)
const INVALID_PHONE = refused(400, 'invalid_phone', MESSAGES.invalidPhone)

/**
 * A call that reaches its claim with less than this left of its budget (or half the budget, when that is
 * smaller) has waited too long to be served (the event loop is behind): it could only end as a timeout, so it
 * is shed rather than answered late.
 */
const MIN_BUDGET_AT_CLAIM_MS = 500

/** A call that passed every check before the claim: what the rest of its way needs. */
interface ClaimedCall {
  c: Context
  payload: HookPayload
  /** The destination, normalised. */
  to: PhoneNumber
  /** The raw body, for the idempotency key of calls without `metadata.uuid`. */
  body: Uint8Array<ArrayBuffer>
  /** When it arrived, by the clock. */
  started: number
  /** When it must be answered: the hook's own deadline or GoTrue's, whichever is earlier. */
  deadline: Deadline
}

type RefusedStep = Extract<HookEvent, { type: 'refused' }>['step']

/** GoTrue's one deadline for every attempt at one hook call, counted from `metadata.time`. */
const GOTRUE_BUDGET_MS = 5000
/** Kept from GoTrue's budget for the answer's way back to GoTrue and GoTrue reading it. */
const RETURN_MARGIN_MS = 400
/** A `metadata.time` further ahead of our clock than this, or older than the next, is a clock problem. */
const MAX_CLOCK_AHEAD_MS = 1000
const MAX_CALL_AGE_MS = 5 * 60_000
const CLOCK_WARNING_EVERY_MS = 60_000

/**
 * GoTrue's API takes request bodies up to 1 MiB, and the hook's payload carries the whole user record, so one
 * user's `user_metadata` alone can be 1 MiB: this leaves as much again for the rest of the payload (the user's
 * other fields, JSON escaping). More is not a GoTrue call. Unsigned junk this large costs no read: the
 * signature headers are checked before the body.
 */
export const MAX_BODY_BYTES = 2 * 1024 * 1024

export interface SendSmsDeps {
  clock: Clock
  store: IdempotencyStore
  /** The SMS-pumping guard, over counters shared like `store`. */
  guard: Guard
  /** What wins while the shared state (store, guard counters) does not answer (`SMS_HOOK_STATE_DOWN`). */
  stateDown: StateDownPolicy
  /** The store and the guard's counters live in this process: nothing to bound by the deadline. */
  localState?: boolean
  /** Every provider the routes name, built, keyed by name. */
  providers: Readonly<Record<string, Provider>>
  observe: HookObserver
  /** The destination's keyed hash, for the guard's per-number counter and the delivery records. */
  numberKey: NumberKey
  /** The delivery records' resend rule and recording (`deliveries.ts`); none without SMS_HOOK_RECEIPTS. */
  tracking?: DeliveryTracking | undefined
  signer?: SignerFactory | undefined
  /** The caller's address, where the runtime knows it, for the log lines of refused calls. */
  remoteAddress?: ((c: Context) => string | undefined) | undefined
  /**
   * When the request arrived, by `clock`, where the runtime records it (Node, as the server reads it): the
   * deadline counts from then, not from when a busy event loop got round to the handler.
   */
  arrivedAt?: ((c: Context) => number | undefined) | undefined
  /** Keeps work that goes on after the answer alive (Workers: `ctx.waitUntil`); Node needs nothing. */
  waitUntil?: ((c: Context, work: Promise<void>) => void) | undefined
  /**
   * The request's headers as the runtime has them already (Node's parsed `incoming.headers`): building a
   * `Headers` object for three lookups costs a hook more than verifying its signature. `c.req.raw.headers` when
   * not given.
   */
  headers?: ((c: Context) => HeaderSource) | undefined
}

/**
 * `POST /send-sms`, in the order of its steps, one module each: body -> verify -> parse -> normalise ->
 * idempotency claim -> guard -> route -> deliver (with failover) -> answer. What happens is reported to
 * `observe` as events; the answer is decided here.
 *
 * Every call to the shared state is bounded by the hook's deadline. When the state does not answer
 * (StateUnavailableError), `stateDown` decides: `send` delivers without de-duplication, the guard letting the
 * call through if its counters are down too; `refuse` answers 503 without sending.
 */
export const sendSmsHandler = (hook: HookConfig, message: MessageConfig, routing: RoutingConfig, deps: SendSmsDeps) => {
  const { clock, store, guard, stateDown, observe } = deps
  const router = createRouter(routing.routes, deps.providers)
  // Per process (or isolate): each replica learns on its own which provider is down.
  const breakerOf = createBreakers(routing.breaker, clock, (provider, state) =>
    observe({ type: 'breaker', provider, state }),
  )
  // Before the signature holds, anyone may be calling: what they sent is cut short before it is logged.
  const caller = (c: Context) => clip(deps.remoteAddress?.(c))
  const verifyBody = createBodyVerifier(hook.secrets, deps.signer)
  const buildMessage = createMessageBuilder(message)
  // A claim outlives the owner's own deadline a little, so only a dead owner's claim lapses.
  const leaseMs = hook.timeoutMs + 1000
  let inFlight = 0
  let lastClockWarning = -Infinity
  /**
   * The call's deadline: the earlier of the hook's own (arrival + SMS_HOOK_TIMEOUT) and GoTrue's, which is
   * one 5 s budget from `metadata.time` for ALL its attempts, less the way back (docs/gotrue-contract.md). A
   * `metadata.time` too far from our clock says the clocks disagree, not how long GoTrue waits: it is not
   * trusted, and said at most once a minute.
   */
  const deadlineOf = (arrived: number, time: number | undefined): number => {
    const own = arrived + hook.timeoutMs
    if (time === undefined) return own
    const ageMs = arrived - time
    if (ageMs < -MAX_CLOCK_AHEAD_MS || ageMs > MAX_CALL_AGE_MS) {
      if (arrived - lastClockWarning >= CLOCK_WARNING_EVERY_MS) {
        lastClockWarning = arrived
        observe({ type: 'clock_untrusted', ageMs })
      }
      return own
    }
    return Math.min(own, time + GOTRUE_BUDGET_MS - RETURN_MARGIN_MS)
  }
  const minBudgetAtClaim = Math.min(MIN_BUDGET_AT_CLAIM_MS, hook.timeoutMs / 2)

  return async function sendSms(c: Context): Promise<Response> {
    const started = deps.arrivedAt?.(c) ?? clock.now()
    const headers = deps.headers?.(c) ?? c.req.raw.headers
    // Cheapest first: the signature headers (no body read), then the declared size (readBody, before reading),
    // then the read, then the HMAC. A caller without GoTrue's headers makes us read nothing.
    /** Every refusal before the claim: reported once, then answered; nothing was claimed or sent. */
    const refuse = (step: RefusedStep, refusal: Refused, reason: string, hasMetadata: boolean, fields?: LogFields) => {
      const durationMs = clock.now() - started
      observe({ type: 'refused', step, refusal, reason, durationMs, ...(fields ? { fields } : {}) })
      return answer(c, refusal, hasMetadata)
    }
    const unauthorized = (reason: string) =>
      refuse('verify', UNAUTHORIZED, reason, false, {
        webhook_id: clip(headers.get('webhook-id') ?? undefined),
        remote_address: caller(c),
      })
    let signed: SignatureHeaders
    try {
      signed = checkSignatureHeaders(headers, clock, hook.signatureToleranceMs)
    } catch (error) {
      if (!isSignatureError(error)) throw error
      return unauthorized(error.reason)
    }

    let body: Uint8Array<ArrayBuffer>
    try {
      body = await readBody(c, MAX_BODY_BYTES, headers)
    } catch (error) {
      if (!isBodyTooLargeError(error)) throw error
      return refuse('body', PAYLOAD_TOO_LARGE, 'body too large', false, {
        limit: MAX_BODY_BYTES,
        remote_address: caller(c),
      })
    }

    let text: string
    try {
      text = verifyBody(signed, body)
    } catch (error) {
      if (!isSignatureError(error)) throw error
      return unauthorized(error.reason)
    }

    // A signed body GoTrue sent and we refuse is a bug on one side: the key and the masked number let the
    // operator find the call in GoTrue's log and in ours.
    const whose = async (uuid: string | undefined, phone: string | undefined): Promise<LogFields> => ({
      key: clip(await idempotencyKey({ uuid }, body)),
      ...(phone === undefined ? {} : { phone: maskPhone(phone) }),
      webhook_id: clip(signed.id),
    })
    const parsed = parsePayload(text)
    if (!parsed.ok) {
      return refuse('parse', parsed.refusal, parsed.reason, parsed.hasMetadata, await whose(parsed.uuid, parsed.phone))
    }
    const { payload } = parsed

    const to = normalisePhone(payload.phone, message.nationalNumbers)
    if (to === undefined) {
      const fields = await whose(payload.uuid, payload.phone)
      return refuse('normalise', INVALID_PHONE, 'invalid phone number', payload.hasMetadata, fields)
    }

    const deadline = new Deadline(
      deadlineOf(started, payload.time),
      clock,
      () => new DeadlineError('the hook deadline passed'),
    )
    const late = deadline.remaining() < minBudgetAtClaim
    if (late || inFlight >= hook.maxInFlight) {
      return refuse('shed', BUSY, late ? 'arrived too long ago' : 'too many hooks in flight', payload.hasMetadata)
    }
    inFlight++
    try {
      return await claimAndSend({ c, payload, to, body, started, deadline })
    } finally {
      inFlight--
    }
  }

  async function claimAndSend({ c, payload, to, body, started, deadline }: ClaimedCall): Promise<Response> {
    const key = await idempotencyKey(payload, body)
    const call: CallContext = { key, to: to.e164, smsType: payload.smsType }
    const number = await deps.numberKey(to.e164)
    const { tracking } = deps
    const sms = buildMessage(payload, to, key)
    // State in this process answers at once: nothing to bound. Shared state that does not answer by the
    // deadline counts as unavailable, and SMS_HOOK_STATE_DOWN decides.
    const bound = <T>(operation: Promise<T>): Promise<T> =>
      deps.localState
        ? operation
        : deadline.race(operation, () => new StateUnavailableError('shared state: no answer before the hook deadline'))
    let delivery: Delivery | undefined

    const send = async (): Promise<Sent> => {
      // Only the providers that can send to this number at all (docs: `Provider.reaches`): one that would read it
      // as another number, or cannot send abroad, is passed over rather than tried, failed over or counted.
      const named = router.routeFor(to.e164)
      const reachable = named?.some((p) => p.reaches !== undefined)
        ? named.filter((p) => p.reaches?.(to) ?? true)
        : named
      if (reachable === undefined || reachable.length === 0) return { outcome: NO_ROUTE }
      let route = reachable
      if (tracking) {
        const ordered = await tracking.order(reachable, { number, reference: key }, bound, (error) =>
          observe({ type: 'delivery_error', phase: 'resend', error, key }),
        )
        route = ordered.route
        if (ordered.rotated) observe({ type: 'resend_rotated', call, ...ordered.rotated })
      }
      delivery = await deliver(route, sms, {
        clock,
        deadline,
        failoverOnTimeout: routing.failoverOnTimeout,
        breakerOf,
        onFailure: (provider, error, attempt, providerMs) =>
          observe({ type: 'attempt_failed', call, provider, attempt, error, providerMs }),
      })
      const { late, provider } = delivery
      track(provider, delivery.outcome, false)
      return {
        outcome: delivery.outcome,
        ...(late
          ? {
              late: late.then((end) => {
                observe({
                  type: 'late_outcome',
                  call,
                  provider,
                  outcome: end.outcome,
                  providerMs: end.providerMs,
                  error: end.error,
                })
                track(provider, end.outcome, true)
                return end.outcome
              }),
            }
          : {}),
      }
    }

    /**
     * Records what the provider did, past the answer: the write must not hold GoTrue up, and its failure is the
     * log's, never the call's (the SMS went, or may have).
     */
    const track = (provider: string, outcome: Outcome, late: boolean) => {
      const recording = tracking?.record({ reference: key, to, number, provider, outcome, late })
      if (recording === undefined) return
      const settled = recording.catch((error: unknown) =>
        observe({ type: 'delivery_error', phase: 'record', error, key }),
      )
      deps.waitUntil?.(c, settled)
    }

    const runGuard = async (): Promise<Refused | undefined> => {
      try {
        const verdict = await bound(guard({ to, number, ip: payload.ip }))
        if (verdict.ok) return undefined
        observe({ type: 'guard_refused', call, rule: verdict.rule, refusal: verdict.refusal })
        return verdict.refusal
      } catch (error) {
        if (!isStateUnavailableError(error)) {
          observe({ type: 'store_error', call, phase: 'guard', error })
          return STORE_UNAVAILABLE
        }
        observe({ type: 'state_down', call, step: 'guard', policy: stateDown, error })
        return stateDown === 'send' ? undefined : STATE_UNAVAILABLE
      }
    }
    // The guard counts this call once, however it goes on: when marking the claim sending fails after the guard
    // ran inside `once`, the SMS_HOOK_STATE_DOWN=send fallback below reuses its verdict rather than count again.
    let guarded: Promise<Refused | undefined> | undefined
    const check = () => (guarded ??= runGuard())

    let outcome: Outcome & { replayed?: boolean }
    try {
      outcome = await once(
        deps.localState ? store : boundedStore(store, bound),
        key,
        {
          leaseMs,
          waitSignal: () => deadline.signal,
          onRecordError: (error) => observe({ type: 'store_error', call, phase: 'record', error }),
          check,
          onLate: (recording) => deps.waitUntil?.(c, recording),
          ...(deps.localState ? {} : { answerBy: reached(deadline.signal) }),
        },
        send,
      )
    } catch (error) {
      if (isStateUnavailableError(error)) {
        observe({ type: 'state_down', call, step: 'idempotency', policy: stateDown, error })
        outcome = stateDown === 'send' ? ((await check()) ?? (await send()).outcome) : STATE_UNAVAILABLE
      } else {
        observe({ type: 'store_error', call, phase: 'claim', error })
        outcome = STORE_UNAVAILABLE
      }
    } finally {
      deadline.clear()
    }

    const durationMs = clock.now() - started
    const trail = {
      attempts: delivery?.attempts ?? 0,
      failedAttempts: delivery?.failedAttempts ?? [],
      skipped: delivery?.skipped ?? [],
      durationMs,
    }
    const providerMs = delivery?.providerMs ?? 0
    const answeredSent = answeredAsSent(outcome, hook.unknownOutcome)
    if (outcome.replayed) {
      observe({
        type: 'replayed',
        call,
        outcome,
        provider: outcome.ok ? outcome.provider : undefined,
        durationMs,
        answeredAsSent: answeredSent,
      })
    } else if (outcome.ok) {
      observe({ type: 'delivered', call, outcome, provider: outcome.provider, ...trail, providerMs })
    } else {
      observe({ type: 'failed', call, outcome, provider: delivery?.provider, ...trail, answeredAsSent: answeredSent })
    }
    return answer(c, outcome, payload.hasMetadata, hook.unknownOutcome)
  }
}

/** Resolves when `signal` aborts. */
const reached = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })

/** The store as one call uses it: claims and marks bounded by the deadline (waits and records have their own). */
const boundedStore = (store: IdempotencyStore, bound: <T>(operation: Promise<T>) => Promise<T>): IdempotencyStore => ({
  claim: (key, leaseMs) => bound(store.claim(key, leaseMs)),
  markSending: (key, token) => bound(store.markSending(key, token)),
  wait: (key, signal) => store.wait(key, signal),
  complete: (key, token, outcome, ttlMs) => store.complete(key, token, outcome, ttlMs),
  release: (key, token) => store.release(key, token),
  // Asked after the deadline, so bounded by `once` itself.
  ...(store.markedSending ? { markedSending: (key: string) => store.markedSending!(key) } : {}),
})
