import { isProviderError, ProviderError, type ProviderErrorKind } from '../../errors.js'
import { isRecord } from '../../record.js'
import { kindOfAnswer, noAnswer, stringOf } from '../http.js'
import { scrubText } from '../scrub.js'
import type { SendResult, SmsMessage } from '../types.js'
import type { AliyunAnswer, AliyunSendDetail } from './transport.js'

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

/** Codes about our account, credentials, signature or template. `InvalidAccessKeyId.*` join them by prefix. */
const CONFIGURATION = new Set([
  'SignatureDoesNotMatch',
  'InvalidTimeStamp.Expired',
  'isv.SMS_TEMPLATE_ILLEGAL',
  'isv.SMS_SIGNATURE_ILLEGAL',
  'isv.INVALID_JSON_PARAM',
  'isv.TEMPLATE_MISSING_PARAMETERS',
  'isv.AMOUNT_NOT_ENOUGH',
  'isp.RAM_PERMISSION_DENY',
  'isv.PRODUCT_UN_SUBSCRIPT',
  'isv.ACCOUNT_ABNORMAL',
  // Mainland SMS refused from a source IP outside mainland China: this deployment's, for every number.
  'isv.DENY_IP_RANGE',
])

/**
 * The hook's reading of an Aliyun answer: the BizId when the message was accepted, else a `ProviderError` whose
 * kind decides the answer to GoTrue. Aliyun's own message goes to the logs, scrubbed (it may quote the number).
 *
 * A code in none of the sets above is read as a destination refusal (`kindOfAnswer`), and logged at error level
 * with Aliyun's code and request id, which is what an operator needs to add it.
 */
export const resultOf = (answer: AliyunAnswer, message: SmsMessage): SendResult => {
  if (answer.code === 'OK' && answer.status >= 200 && answer.status < 300) {
    return { messageId: answer.bizId ?? answer.requestId ?? '' }
  }
  const { status, code } = answer
  if (code === undefined) throw notAliyunJson(`HTTP ${status}`)
  const text = scrubText(`Alibaba Cloud answered ${code}: ${answer.message ?? 'no message'}`, message)
  const { kind, unrecognised } = kindOfAnswer(status, { vendorJson: true, code, known: knownKind(code) })
  throw new ProviderError(kind, text, {
    providerCode: code,
    requestId: answer.requestId,
    retryAfterMs: answer.retryAfterMs,
    ...(unrecognised ? { unrecognised } : {}),
  })
}

export const knownKind = (code: string): ProviderErrorKind | undefined => {
  if (code.startsWith('Throttling') || TRANSIENT.has(code)) return 'retryable'
  if (RATE_LIMITED.has(code)) return 'rate_limited'
  if (RECIPIENT_INVALID.has(code)) return 'recipient_invalid'
  if (CONFIGURATION.has(code) || code.startsWith('InvalidAccessKeyId.')) return 'configuration'
  return undefined
}

/**
 * An answer without Alibaba Cloud's JSON (`Code`): an HTML page or an empty body, whatever its status. Something
 * between the hook and Aliyun answered (a proxy, a gateway, a captive portal), and whether Aliyun got the request
 * cannot be known, so the SMS may have gone: `outcome_unknown`, on both transports (the SDK cannot even tell the
 * status of such an answer, only that its body is not JSON).
 */
export const notAliyunJson = (what: string): ProviderError =>
  new ProviderError(
    'outcome_unknown',
    `Alibaba Cloud's endpoint answered ${what} without Alibaba Cloud's JSON (a proxy's page?); the SMS may have been sent`,
  )

/**
 * A call that failed: a `ProviderError` a transport already made, or a network failure read the way every
 * provider reads one (`noAnswer`): nothing sent only when the request never left; its text scrubbed, since the
 * SDK's messages end with the whole request URL, number and code included.
 */
export const failureOf = (error: unknown, message: SmsMessage): ProviderError =>
  isProviderError(error) ? error : noAnswer('Alibaba Cloud', error, message)

/** `x-acs-retry-after` as milliseconds, as the SDK reads it. */
export const parseRetryAfter = (value: string | null | undefined): number | undefined => {
  if (!value || !/^\d+$/.test(value.trim())) return undefined
  return Number(value.trim())
}

/**
 * Fields of Aliyun's JSON answer (`Code`, `Message`, `RequestId`, `BizId` or, from dypnsapi, `Model.BizId`, and
 * QuerySendDetails' `SmsSendDetailDTOs.SmsSendDetailDTO`).
 */
export const answerOf = (status: number, body: unknown, retryAfterMs?: number): AliyunAnswer => {
  const json = isRecord(body) ? body : {}
  const model = isRecord(json.Model) ? json.Model : {}
  const dtos = isRecord(json.SmsSendDetailDTOs) ? json.SmsSendDetailDTOs.SmsSendDetailDTO : undefined
  return {
    status,
    code: stringOf(json.Code),
    message: stringOf(json.Message),
    requestId: stringOf(json.RequestId),
    bizId: stringOf(json.BizId) ?? stringOf(model.BizId),
    retryAfterMs,
    ...(Array.isArray(dtos) ? { details: dtos.filter(isRecord).map(detailOf) } : {}),
  }
}

/** One SmsSendDetailDTO; `SendStatus` is a number in Aliyun's JSON, read from a string too. */
const detailOf = (dto: Record<string, unknown>): AliyunSendDetail => ({
  phoneNum: stringOf(dto.PhoneNum),
  sendStatus: stringOf(dto.SendStatus) === undefined ? undefined : Number(stringOf(dto.SendStatus)),
  errCode: stringOf(dto.ErrCode),
  outId: stringOf(dto.OutId),
  sendDate: stringOf(dto.SendDate),
  receiveDate: stringOf(dto.ReceiveDate),
})
