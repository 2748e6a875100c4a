import { ProviderError, type ProviderErrorKind } from '../../errors.js'
import type { SendResult } from '../types.js'
import type { AliyunAnswer } from './transport.js'

/** Per-number flow control: the user must wait; resending through Aliyun would only be refused again. */
const RATE_LIMITED = new Set([
  'isv.BUSINESS_LIMIT_CONTROL',
  'isv.DAY_LIMIT_CONTROL',
  'isv.MONTH_LIMIT_CONTROL',
  // dypnsapi's own per-number interval on the test route.
  'biz.FREQUENCY',
])

const RECIPIENT_INVALID = new Set([
  'isv.MOBILE_NUMBER_ILLEGAL',
  'isv.MOBILE_COUNT_OVER_LIMIT',
  'isv.DOMESTIC_NUMBER_NOT_SUPPORTED',
])

/** Failures of Aliyun itself, after which nothing was sent. `Throttling*` codes join them by prefix. */
const TRANSIENT = new Set(['isp.SYSTEM_ERROR', 'ServiceUnavailable', 'InternalError'])

/** Network failures before a request could leave this machine: nothing was sent, so trying again is safe. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])

/**
 * The hook's reading of an Aliyun answer: the BizId when the message was accepted, else a `ProviderError` whose
 * kind decides the answer to GoTrue. `otp` is scrubbed from Aliyun's message, which goes to the logs.
 *
 * Unknown codes count as `configuration`: they are logged at error level with Aliyun's code and request id,
 * which is what an operator needs to fix whatever Aliyun refused.
 */
export const resultOf = (answer: AliyunAnswer, otp: string): SendResult => {
  if (answer.code === 'OK' && answer.status >= 200 && answer.status < 300) {
    return { messageId: answer.bizId ?? answer.requestId ?? '' }
  }
  const described = answer.code ?? `HTTP ${answer.status}`
  const message = (answer.message ?? 'no message').replaceAll(otp, '******').slice(0, 300)
  throw new ProviderError(kindOf(answer), `Alibaba Cloud answered ${described}: ${message}`, {
    providerCode: answer.code,
    requestId: answer.requestId,
    retryAfterMs: answer.retryAfterMs,
  })
}

const kindOf = ({ status, code }: AliyunAnswer): ProviderErrorKind => {
  if (code === undefined) {
    // A 2xx Aliyun did not explain may still have sent the message.
    if (status >= 200 && status < 300) return 'outcome_unknown'
    return status >= 500 || status === 429 ? 'retryable' : 'configuration'
  }
  if (code.startsWith('Throttling') || TRANSIENT.has(code)) return 'retryable'
  if (RATE_LIMITED.has(code)) return 'rate_limited'
  if (RECIPIENT_INVALID.has(code)) return 'recipient_invalid'
  return status >= 500 ? 'retryable' : 'configuration'
}

/**
 * A call that got no answer. A connection refused or a name that did not resolve sent nothing; anything later
 * (a timeout, a reset) may have reached Aliyun, which does not deduplicate, so it is never retried.
 */
export const noAnswer = (error: unknown): ProviderError => {
  const code = networkCode(error)
  if (code !== undefined && NOT_SENT.has(code)) {
    return new ProviderError('retryable', `could not connect to Alibaba Cloud (${code})`, { cause: error })
  }
  const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return new ProviderError('outcome_unknown', `no answer from Alibaba Cloud, the SMS may have been sent (${why})`, {
    cause: error,
  })
}

/** `x-acs-retry-after` as milliseconds, as the SDK reads it. */
export const parseRetryAfter = (value: string | null | undefined): number | undefined => {
  if (!value || !/^\d+$/.test(value.trim())) return undefined
  return Number(value.trim())
}

/** Fields of Aliyun's JSON answer (`Code`, `Message`, `RequestId`, `BizId` or, from dypnsapi, `Model.BizId`). */
export const answerOf = (status: number, body: unknown, retryAfterMs?: number): AliyunAnswer => {
  const json = isRecord(body) ? body : {}
  const model = isRecord(json.Model) ? json.Model : {}
  return {
    status,
    code: stringOf(json.Code),
    message: stringOf(json.Message),
    requestId: stringOf(json.RequestId),
    bizId: stringOf(json.BizId) ?? stringOf(model.BizId),
    retryAfterMs,
  }
}

/** Node's network errors carry `code` on the error (http) or on its cause (fetch). */
const networkCode = (error: unknown): string | undefined => {
  for (let e: unknown = error, depth = 0; isRecord(e) && depth < 3; e = e.cause, depth++) {
    if (typeof e.code === 'string') return e.code
  }
  return undefined
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

const stringOf = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined)
