/**
 * MessageBird (Bird) SMS API: `POST /messages` with JSON `{originator, recipients, body, datacoding}` and
 * `Authorization: AccessKey <key>`; recipients are E.164 digits without `+`. Read from GoTrue's own
 * `GOTRUE_SMS_MESSAGEBIRD_*` variables.
 *
 * Numbers: MessageBird reads each recipient as an MSISDN, country code first, which is what the E.164 digits
 * are; no national form is sent.
 */
import { endpoint, required, type Env } from '../config/env.js'
import type { ProviderErrorKind } from '../errors.js'
import { isGsm7 } from '../message/gsm7.js'
import { callVendor, isRecord, kindOfStatus, refusal, stringOf, type VendorAnswer } from './http.js'
import { defineProvider, type SendResult, type SmsMessage } from './types.js'

export interface MessageBirdSettings {
  accessKey: string
  originator: string
  endpoint: string
}

/** MessageBird's code for a missing or wrong parameter; on `recipients` it means "no (correct) recipients". */
const BAD_PARAMETER = 9

const VENDOR = 'MessageBird'

export const messagebird = defineProvider<MessageBirdSettings>({
  name: 'messagebird',
  parse: (env: Env): MessageBirdSettings => ({
    accessKey: required(env, 'GOTRUE_SMS_MESSAGEBIRD_ACCESS_KEY', 'is required (a live access key from the dashboard)'),
    originator: required(env, 'GOTRUE_SMS_MESSAGEBIRD_ORIGINATOR', 'is required (a number or an alphanumeric sender)'),
    endpoint: endpoint(env, 'GOTRUE_SMS_MESSAGEBIRD_ENDPOINT', 'https://rest.messagebird.com'),
  }),
  create(settings, { fetch, clock }) {
    const url = `${settings.endpoint}/messages`
    const headers = { authorization: `AccessKey ${settings.accessKey}`, 'content-type': 'application/json' }
    return {
      name: 'messagebird',
      async send(message, { signal }) {
        const body = JSON.stringify({
          originator: settings.originator,
          recipients: [message.to.e164],
          body: message.text,
          // `plain` is the GSM alphabet: anything else would arrive as `?`.
          datacoding: isGsm7(message.text) ? 'plain' : 'unicode',
        })
        const answer = await callVendor(fetch, { vendor: VENDOR, url, headers, body, signal }, message)
        return resultOf(answer, message, clock.now())
      },
    }
  },
})

const resultOf = (answer: VendorAnswer, message: SmsMessage, now: number): SendResult => {
  const json = isRecord(answer.json) ? answer.json : {}
  const id = stringOf(json.id)
  if (answer.status >= 200 && answer.status < 300 && id !== undefined) return { messageId: id }
  const error = Array.isArray(json.errors) && isRecord(json.errors[0]) ? json.errors[0] : {}
  const code = typeof error.code === 'number' ? error.code : undefined
  const detail = [stringOf(error.description), stringOf(error.parameter)].filter(Boolean).join(', parameter ')
  throw refusal(
    VENDOR,
    answer,
    { kind: kindOf(answer.status, code, error.parameter), code: stringOf(code), detail: detail || undefined },
    message,
    now,
  )
}

const kindOf = (status: number, code: number | undefined, parameter: unknown): ProviderErrorKind => {
  if (status === 422 && code === BAD_PARAMETER && parameter === 'recipients') return 'recipient_invalid'
  // A wrong access key (code 2, HTTP 401), no balance (25, HTTP 402) and any other 4xx are our account's
  // to fix; 429 and 5xx sent nothing.
  return kindOfStatus(status)
}
