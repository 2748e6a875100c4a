import type { Context } from 'hono'
import type { Clock } from '../clock.js'
import { isBodyTooLargeError, isSignatureError } from '../errors.js'
import { createMessageBuilder, type MessageConfig } from '../message/build.js'
import { clip } from '../log.js'
import { MESSAGES, refused, type Outcome } from '../outcome.js'
import { normalisePhone } from '../phone/e164.js'
import type { Provider } from '../providers/types.js'
import type { IdempotencyStore } from '../store/types.js'
import { answer } from './answer.js'
import { readBody } from './body.js'
import { createBreakers } from './breaker.js'
import type { HookConfig } from './config.js'
import { deliver, type Delivery } from './deliver.js'
import type { CallContext, HookObserver } from './events.js'
import { idempotencyKey, once } from './idempotency.js'
import { parsePayload } from './parse.js'
import { createRouter, type RoutingConfig } from './route.js'
import { createSignatureVerifier, type SignerFactory } from './verify.js'

/** A number no rule of `SMS_HOOK_ROUTES` matches: no provider is called. */
const NO_ROUTE = refused(400, 'no_route', MESSAGES.noRoute)

/** GoTrue's payloads stay far below this (~200 KiB at most, a huge `user_metadata`); more is not a GoTrue call. */
export const MAX_BODY_BYTES = 256 * 1024

export interface SendSmsDeps {
  clock: Clock
  store: IdempotencyStore
  /** Every provider the routes name, built, keyed by name. */
  providers: Readonly<Record<string, Provider>>
  observe: HookObserver
  signer?: SignerFactory | undefined
  /** The caller's address, where the runtime knows it, for the log lines of refused calls. */
  remoteAddress?: ((c: Context) => string | undefined) | undefined
}

/**
 * `POST /send-sms`, in the order of its steps, one module each: body -> verify -> parse -> normalise ->
 * idempotency claim -> route -> deliver (with failover) -> answer. What happens is reported to `observe` as
 * events; the answer is decided here.
 */
export const sendSmsHandler = (hook: HookConfig, message: MessageConfig, routing: RoutingConfig, deps: SendSmsDeps) => {
  const { clock, store, observe } = deps
  const router = createRouter(routing.routes, deps.providers)
  // Per process (or isolate): each replica learns on its own which provider is down.
  const breakerOf = createBreakers(routing.breaker, clock, (provider, state) => observe({ type: 'breaker', provider, state }))
  // Before the signature holds, anyone may be calling: what they sent is cut short before it is logged.
  const caller = (c: Context) => clip(deps.remoteAddress?.(c))
  const verify = createSignatureVerifier(hook.secrets, clock, deps.signer)
  const buildMessage = createMessageBuilder(message)
  // A claim outlives the owner's own deadline a little, so only a dead owner's claim lapses.
  const leaseMs = hook.timeoutMs + 1000

  return async function sendSms(c: Context): Promise<Response> {
    const started = clock.now()
    const deadline = started + hook.timeoutMs
    let body: Uint8Array<ArrayBuffer>
    try {
      body = await readBody(c, MAX_BODY_BYTES)
    } catch (error) {
      if (!isBodyTooLargeError(error)) throw error
      const refusal = refused(413, 'payload_too_large', MESSAGES.payloadTooLarge)
      const fields = { limit: MAX_BODY_BYTES, remote_address: caller(c) }
      observe({ type: 'refused', step: 'body', refusal, reason: 'body too large', fields })
      return answer(c, refusal, false)
    }

    let text: string
    try {
      text = verify(c.req.raw.headers, body)
    } catch (error) {
      if (!isSignatureError(error)) throw error
      const refusal = refused(401, 'unauthorized', MESSAGES.unauthorized)
      const fields = { webhook_id: clip(c.req.header('webhook-id')), remote_address: caller(c) }
      observe({ type: 'refused', step: 'verify', refusal, reason: error.reason, fields })
      return answer(c, refusal, false)
    }

    const parsed = parsePayload(text)
    if (!parsed.ok) {
      observe({ type: 'refused', step: 'parse', refusal: parsed.refusal, reason: parsed.reason })
      return answer(c, parsed.refusal, parsed.hasMetadata)
    }
    const { payload } = parsed

    const to = normalisePhone(payload.phone, message.nationalNumbers)
    if (to === undefined) {
      const refusal = refused(400, 'invalid_phone', MESSAGES.invalidPhone)
      observe({ type: 'refused', step: 'normalise', refusal, reason: 'invalid phone number' })
      return answer(c, refusal, payload.hasMetadata)
    }

    const key = await idempotencyKey(payload, body)
    const call: CallContext = { key, to: to.e164, smsType: payload.smsType }
    const sms = buildMessage(payload, to, key)
    let delivery: Delivery | undefined
    let outcome: Outcome & { replayed?: boolean }
    try {
      outcome = await once(
        store,
        key,
        {
          leaseMs,
          waitSignal: () => AbortSignal.timeout(Math.max(0, deadline - clock.now())),
          onRecordError: (error) => observe({ type: 'store_error', call, phase: 'record', error }),
        },
        async () => {
          const route = router.routeFor(to.e164)
          if (route === undefined) return NO_ROUTE
          delivery = await deliver(route, sms, {
            clock,
            deadline,
            failoverOnTimeout: routing.failoverOnTimeout,
            breakerOf,
            onFailure: (provider, error, attempt) => observe({ type: 'attempt_failed', call, provider, attempt, error }),
          })
          return delivery.outcome
        },
      )
    } catch (error) {
      observe({ type: 'store_error', call, phase: 'claim', error })
      outcome = refused(503, 'store_unavailable', MESSAGES.unavailable)
    }

    const durationMs = clock.now() - started
    const trail = {
      attempts: delivery?.attempts ?? 0,
      failedAttempts: delivery?.failedAttempts ?? [],
      skipped: delivery?.skipped ?? [],
      durationMs,
    }
    if (outcome.replayed) {
      observe({ type: 'replayed', call, outcome, provider: outcome.ok ? outcome.provider : undefined, durationMs })
    } else if (outcome.ok) {
      observe({ type: 'delivered', call, outcome, provider: outcome.provider, ...trail })
    } else {
      observe({ type: 'failed', call, outcome, provider: delivery?.provider, ...trail })
    }
    return answer(c, outcome, payload.hasMetadata)
  }
}
