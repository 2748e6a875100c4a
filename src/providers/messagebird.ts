/**
 * MessageBird (Bird) SMS API: `POST /messages` with JSON `{originator, recipients, body, datacoding}` and
 * `Authorization: AccessKey <key>`; recipients are E.164 digits without `+`. Read from GoTrue's own
 * `GOTRUE_SMS_MESSAGEBIRD_*` variables.
 *
 * Receipts: with SMS_HOOK_PUBLIC_URL and SMS_HOOK_RECEIPTS_TOKEN set, each message carries `reportUrl` and
 * `reference` (our reference): MessageBird sends no status report for a message without a reference.
 *
 * Numbers: MessageBird reads each recipient as an MSISDN, country code first, which is what the E.164 digits
 * are; no national form is sent.
 */
import type { Env } from '../config/env.js'
import { anyText, endpoint, get, required, type SettingDocs, type Settings } from '../config/settings.js'
import type { ProviderErrorKind } from '../errors.js'
import { isGsm7 } from '../message/gsm7.js'
import { isRecord } from '../record.js'
import { callVendor, kindOfAnswer, providerError, stringOf, type VendorAnswer } from './http.js'
import { defineProvider, type SendResult, type SmsMessage } from './types.js'

export interface MessageBirdSettings {
  accessKey: string
  originator: string
  endpoint: string
}

/** MessageBird's code for a missing or wrong parameter; on `recipients` it means "no (correct) recipients". */
const BAD_PARAMETER = 9

/**
 * `errors[0].code` values about our account (the vendor's API reference), besides 9 (`knownKind`). Any other
 * code is read as a destination refusal and logged at error (`kindOfAnswer`).
 */
const ACCOUNT: Record<number, ProviderErrorKind> = {
  2: 'configuration', // the access key is missing or wrong (HTTP 401)
  25: 'configuration', // not enough balance (HTTP 402)
}

const VENDOR = 'MessageBird'

/** GoTrue's own MessageBird variables. */
export const MESSAGEBIRD_SETTINGS = {
  GOTRUE_SMS_MESSAGEBIRD_ACCESS_KEY: { parse: anyText, secret: true },
  GOTRUE_SMS_MESSAGEBIRD_ORIGINATOR: { parse: anyText },
  GOTRUE_SMS_MESSAGEBIRD_ENDPOINT: { parse: endpoint, default: 'https://rest.messagebird.com' },
} as const satisfies Settings

export const MESSAGEBIRD_SETTING_DOCS: SettingDocs<typeof MESSAGEBIRD_SETTINGS> = {
  GOTRUE_SMS_MESSAGEBIRD_ACCESS_KEY: 'A live access key of the dashboard (required).',
  GOTRUE_SMS_MESSAGEBIRD_ORIGINATOR: 'A number or an alphanumeric sender (required).',
  GOTRUE_SMS_MESSAGEBIRD_ENDPOINT: 'Base URL override (a proxy, a test server).',
}

export const messagebird = defineProvider<MessageBirdSettings>({
  name: 'messagebird',
  settings: MESSAGEBIRD_SETTINGS,
  parse: (env: Env): MessageBirdSettings => ({
    accessKey: required(
      env,
      MESSAGEBIRD_SETTINGS,
      'GOTRUE_SMS_MESSAGEBIRD_ACCESS_KEY',
      'is required (a live access key from the dashboard)',
    ),
    originator: required(
      env,
      MESSAGEBIRD_SETTINGS,
      'GOTRUE_SMS_MESSAGEBIRD_ORIGINATOR',
      'is required (a number or an alphanumeric sender)',
    ),
    endpoint: get(env, MESSAGEBIRD_SETTINGS, 'GOTRUE_SMS_MESSAGEBIRD_ENDPOINT'),
  }),
  create(settings, { fetch, clock, receiptUrl }) {
    const url = `${settings.endpoint}/messages`
    const headers = { authorization: `AccessKey ${settings.accessKey}`, 'content-type': 'application/json' }
    return {
      name: 'messagebird',
      settings: MESSAGEBIRD_SETTINGS,
      async send(message, { signal }) {
        const reportUrl = receiptUrl?.('messagebird', message.reference)
        const body = JSON.stringify({
          originator: settings.originator,
          recipients: [message.to.e164],
          body: message.text,
          // `plain` is the GSM alphabet: anything else would arrive as `?`.
          datacoding: isGsm7(message.text) ? 'plain' : 'unicode',
          ...(reportUrl === undefined ? {} : { reportUrl, reference: message.reference }),
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
  const errors = Array.isArray(json.errors) ? json.errors : undefined
  const error = errors !== undefined && isRecord(errors[0]) ? errors[0] : {}
  const code = typeof error.code === 'number' ? error.code : undefined
  const detail = [stringOf(error.description), stringOf(error.parameter)].filter(Boolean).join(', parameter ')
  const reading = { vendorJson: errors !== undefined, code: stringOf(code), known: knownKind(code, error.parameter) }
  throw providerError(
    VENDOR,
    answer,
    { ...kindOfAnswer(answer.status, reading), code: reading.code, detail: detail || undefined },
    message,
    now,
  )
}

const knownKind = (code: number | undefined, parameter: unknown): ProviderErrorKind | undefined => {
  if (code === undefined) return undefined
  // Every other parameter (originator, body, datacoding) comes from our settings.
  if (code === BAD_PARAMETER) return parameter === 'recipients' ? 'recipient_invalid' : 'configuration'
  return ACCOUNT[code]
}
