import type { DeliveryRecord, DeliveryUpdate } from '../../delivery/types.js'
import { isProviderError, ProviderError } from '../../errors.js'
import { isMainlandMobile, type PhoneNumber } from '../../phone/e164.js'
import { CHINA_OFFSET_MS, chinaTime } from '../../receipts/times.js'
import { scrubText } from '../scrub.js'
import type { Provider, ProviderDeps, SmsMessage } from '../types.js'
import { knownKind } from './classify.js'
import type { AliyunAnswer, AliyunSendDetail, AliyunTransport, QuerySendDetailsRequest } from './transport.js'

/**
 * How long one question may take on the SDK transport, which cannot be aborted (the fetch transport stops at the
 * caller's signal): as long as the reconciler waits for an answer.
 */
export const QUERY_TIMEOUT_MS = 5000

/** `yyyyMMdd` of an instant in China time: the day QuerySendDetails files a send under. */
export const chinaDate = (epochMs: number): string =>
  new Date(epochMs + CHINA_OFFSET_MS).toISOString().slice(0, 10).replace(/-/g, '')

/**
 * SendSms's BizId (`900619746936498440^0`). What a send recorded as its message id when Aliyun gave none (its
 * RequestId) is not one, and asking by it would find nothing.
 */
const BIZ_ID = /^\d+\^\d+$/

/**
 * `Provider.query` for the SendSms route: QuerySendDetails for the number, in the form SendSms sent it, on the
 * day of the send in China time, by BizId too when SendSms's answer came. The send is the entry whose `OutId`
 * is its reference (the hook's idempotency key, which SendSms sent as `OutId`), or, asked by BizId, the entry
 * without one. `SendStatus` 3 is `delivered`, 2 `failed` (with `ErrCode`), 1 no word yet; a send Aliyun does
 * not list (yet, or ever: the request never reached it) is no word too. One page of 50 is enough: Aliyun's
 * per-number limits allow far fewer sends to one number in a day.
 *
 * A refusal (a RAM user without `dysms:QuerySendDetails`, throttling) or no answer rejects with a
 * `ProviderError`, its text scrubbed of the number.
 */
export const querySendDetails = (
  transport: AliyunTransport,
  deps: Pick<ProviderDeps, 'clock'>,
): NonNullable<Provider['query']> =>
  async function query(record, { signal, to }) {
    const bizId =
      record.vendorMessageId !== undefined && BIZ_ID.test(record.vendorMessageId) ? record.vendorMessageId : undefined
    const request: QuerySendDetailsRequest = {
      action: 'QuerySendDetails',
      phoneNumber: isMainlandMobile(to) ? to.national : to.e164,
      sendDate: chinaDate(record.sentAt),
      pageSize: '50',
      currentPage: '1',
      ...(bizId === undefined ? {} : { bizId }),
    }
    let answer: AliyunAnswer
    try {
      answer = await transport.call(request, { signal, deadline: deps.clock.now() + QUERY_TIMEOUT_MS })
    } catch (error) {
      const what = isProviderError(error) ? error.message : describe(error)
      throw new ProviderError(
        'retryable',
        scrubText(`no answer from Alibaba Cloud to QuerySendDetails (${what})`, scrubbing(to)),
        {
          cause: error,
        },
      )
    }
    if (answer.code !== 'OK' || answer.status < 200 || answer.status >= 300) throw refused(answer, to)
    const detail = matching(answer.details ?? [], record.reference, bizId)
    return detail === undefined ? undefined : updateOf(detail, record, bizId, deps.clock.now())
  }

const matching = (details: readonly AliyunSendDetail[], reference: string, bizId: string | undefined) =>
  details.find((detail) => detail.outId === reference) ??
  (bizId === undefined ? undefined : details.find((detail) => detail.outId === undefined))

const updateOf = (
  detail: AliyunSendDetail,
  record: DeliveryRecord,
  bizId: string | undefined,
  now: number,
): DeliveryUpdate | undefined => {
  const status = detail.sendStatus === 3 ? 'delivered' : detail.sendStatus === 2 ? 'failed' : undefined
  if (status === undefined) return undefined
  return {
    provider: 'aliyun',
    reference: record.reference,
    ...(bizId === undefined ? {} : { vendorMessageId: bizId }),
    status,
    ...(detail.errCode === undefined ? {} : { vendorCode: detail.errCode }),
    // A failure Aliyun itself decided has no receipt, so no ReceiveDate: the time it is learnt stands for it.
    at: chinaTime(detail.receiveDate) ?? now,
  }
}

/** Refusals the operator must act on: the RAM policy, above all, which a SendSms-only policy lacks. */
const refused = (answer: AliyunAnswer, to: PhoneNumber): ProviderError => {
  const code = answer.code ?? `HTTP ${answer.status}`
  const known = answer.code === undefined ? undefined : knownKind(answer.code)
  const permission =
    answer.code === 'isp.RAM_PERMISSION_DENY' || answer.code?.startsWith('Forbidden')
      ? ' (the RAM user needs dysms:QuerySendDetails)'
      : ''
  const text = `Alibaba Cloud answered ${code} to QuerySendDetails${permission}: ${answer.message ?? 'no message'}`
  return new ProviderError(
    known === 'configuration' || permission !== '' ? 'configuration' : 'retryable',
    scrubText(text, scrubbing(to)),
    {
      providerCode: answer.code,
      requestId: answer.requestId,
      retryAfterMs: answer.retryAfterMs,
    },
  )
}

/** `scrubText` masks the number of a message: a question has a number and nothing else to hide. */
const scrubbing = (to: PhoneNumber): SmsMessage => ({
  to,
  otp: '',
  text: '',
  smsType: 'sms',
  expiryMinutes: 0,
  reference: '',
})

const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
  return `${error.name}: ${error.message}${cause}`
}
