import type { Context } from 'hono'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { isProviderError } from '../errors.js'
import { maskPhone, type Logger, type LogFields } from '../log.js'
import { MESSAGES, refused, type Outcome } from '../outcome.js'
import type { Provider } from '../providers/types.js'
import type { IdempotencyStore } from '../store/types.js'
import { answer } from './answer.js'
import { BodyTooLargeError, readBody } from './body.js'
import { DeadlineError, deliver } from './deliver.js'
import { idempotencyKey, once } from './idempotency.js'
import { createMessageBuilder } from './message.js'
import { parsePayload } from './parse.js'
import { createSignatureVerifier, isSignatureError, type SignerFactory } from './verify.js'

/** GoTrue's payloads stay far below this (~200 KiB at most, a huge `user_metadata`); more is not a GoTrue call. */
export const MAX_BODY_BYTES = 256 * 1024

export interface SendSmsDeps {
  clock: Clock
  store: IdempotencyStore
  logger: Logger
  provider: Provider
  signer?: SignerFactory | undefined
}

/**
 * `POST /send-sms`: body -> verify -> parse -> idempotency -> deliver -> answer, one module per step.
 * Logs one line per call with the masked number, never the OTP or the body.
 */
export const sendSmsHandler = (config: Config, deps: SendSmsDeps) => {
  const { clock, store, logger, provider } = deps
  const verify = createSignatureVerifier(config.secrets, clock, deps.signer)
  const buildMessage = createMessageBuilder(config)
  // A claim outlives the owner's own deadline a little, so only a dead owner's claim lapses.
  const leaseMs = config.timeoutMs + 1000

  return async function sendSms(c: Context): Promise<Response> {
    const started = clock.now()
    const deadline = started + config.timeoutMs
    let body: Uint8Array<ArrayBuffer>
    try {
      body = await readBody(c, MAX_BODY_BYTES)
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error
      logger.warn('hook body too large', { limit: MAX_BODY_BYTES })
      return answer(c, refused(413, 'payload_too_large', MESSAGES.payloadTooLarge), false)
    }

    let text: string
    try {
      text = verify(c.req.raw.headers, body)
    } catch (error) {
      if (!isSignatureError(error)) throw error
      logger.warn('hook signature rejected', { reason: error.reason, webhook_id: c.req.header('webhook-id') })
      return answer(c, refused(401, 'unauthorized', MESSAGES.unauthorized), false)
    }

    const parsed = parsePayload(text)
    if (!parsed.ok) {
      logger.warn('hook payload refused', { reason: parsed.reason, status: parsed.refusal.status })
      return answer(c, parsed.refusal, parsed.hasMetadata)
    }
    const { payload } = parsed
    const pendingKey = idempotencyKey(payload, body)
    const key = typeof pendingKey === 'string' ? pendingKey : await pendingKey
    const message = buildMessage(payload, key)
    // Log fields are built only for lines that are written: at LOG_LEVEL=warn a delivered OTP builds none.
    const context = (): LogFields => ({ key, phone: maskPhone(payload.to), provider: provider.name, sms_type: payload.smsType })

    let attempts = 0
    const onAttempt = (attempt: number) => {
      attempts = attempt
    }
    const onFailure = (error: unknown, attempt: number) => logProviderFailure(logger, error, { ...context(), attempt })
    const waitSignal = () => AbortSignal.timeout(Math.max(0, deadline - clock.now()))
    const onRecordError = (error: unknown) =>
      logger.error('idempotency store failed to record an outcome', { ...context(), error: describe(error) })
    let outcome: Outcome & { replayed?: boolean }
    try {
      outcome = await once(store, key, { leaseMs, waitSignal, onRecordError }, () =>
        deliver(provider, message, { clock, deadline, onAttempt, onFailure }),
      )
    } catch (error) {
      logger.error('idempotency store failed', { ...context(), error: describe(error) })
      outcome = refused(503, 'store_unavailable', MESSAGES.unavailable)
    }

    const level = outcome.ok ? 'info' : outcome.status === 500 ? 'error' : 'warn'
    if (logger.enabled(level)) {
      logger[level]('hook', {
        ...context(),
        outcome: outcome.ok ? (outcome.replayed ? 'replayed' : 'sent') : outcome.code,
        status: outcome.ok ? 200 : outcome.status,
        attempts,
        duration_ms: clock.now() - started,
      })
    }
    return answer(c, outcome, payload.hasMetadata)
  }
}

/** Provider failures with what support needs (provider code, request id); configuration errors are errors. */
const logProviderFailure = (logger: Logger, error: unknown, fields: LogFields) => {
  if (error instanceof DeadlineError) {
    logger.warn('provider did not answer before the deadline; the SMS may still arrive', fields)
    return
  }
  if (!isProviderError(error)) {
    logger.error('provider failed', { ...fields, error: describe(error) })
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

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))
