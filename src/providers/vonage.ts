/**
 * Vonage (formerly Nexmo) SMS API: `POST /sms/json`, a form with `api_key`, `api_secret`, `from`, `to` (E.164
 * digits without `+`) and `text`, plus `type=unicode` when the text needs more than the GSM alphabet. Vonage
 * answers HTTP 200 whatever happened; `messages[0].status` says what. Read from GoTrue's own `GOTRUE_SMS_VONAGE_*`.
 *
 * Receipts: with SMS_HOOK_PUBLIC_URL and SMS_HOOK_RECEIPTS_TOKEN set, each message carries `callback` (the DLR
 * URL, overriding the dashboard's) and `client-ref` (our reference, which the receipt echoes).
 *
 * Numbers: Vonage reads `to` as international format, country code first, so the E.164 digits are one number to
 * it whatever their length; no national form is sent.
 */
import type { Env } from '../config/env.js'
import { anyText, endpoint, get, required, type SettingDocs, type Settings } from '../config/settings.js'
import type { ProviderErrorKind } from '../errors.js'
import { isGsm7 } from '../message/gsm7.js'
import { isRecord } from '../record.js'
import { callVendor, kindOfAnswer, providerError, stringOf, type VendorAnswer } from './http.js'
import { defineProvider, type SendResult, type SmsMessage } from './types.js'

export interface VonageSettings {
  apiKey: string
  apiSecret: string
  from: string
  endpoint: string
}

/**
 * `messages[0].status` values (the vendor's API reference). Status 3 depends on the parameter it names: see
 * `knownKind`. A status not here is read as a destination refusal and logged at error (`kindOfAnswer`).
 */
const KINDS: Record<string, ProviderErrorKind> = {
  '1': 'retryable', // throttled
  '5': 'retryable', // internal error
  '6': 'recipient_invalid', // unroutable
  '7': 'recipient_invalid', // number barred
  '15': 'recipient_invalid', // barred, as the vendor's status table reads it
  '2': 'configuration', // a parameter is missing
  '4': 'configuration', // bad credentials
  '9': 'configuration', // quota exceeded
  '29': 'configuration', // a trial account's destination is not whitelisted
}

/** Vonage's `error-text` for status 3 names the parameter: "Invalid to param", "Invalid To Number". */
const ABOUT_TO_NUMBER = /\bto\s+(?:param|number)\b/i

const VENDOR = 'Vonage'

/**
 * The SMS API's limits (its API reference): a longer `callback` is refused with status 23 (every send would
 * fail), a longer `client-ref` is not taken. Without them the message still goes, and its receipt (to the
 * dashboard's URL, if any) is matched by `messageId`.
 */
export const MAX_CALLBACK_LENGTH = 100
export const MAX_CLIENT_REF_LENGTH = 40

/** GoTrue's own Vonage variables. */
export const VONAGE_SETTINGS = {
  GOTRUE_SMS_VONAGE_API_KEY: { parse: anyText },
  GOTRUE_SMS_VONAGE_API_SECRET: { parse: anyText, secret: true },
  GOTRUE_SMS_VONAGE_FROM: { parse: anyText },
  GOTRUE_SMS_VONAGE_ENDPOINT: { parse: endpoint, default: 'https://rest.nexmo.com' },
} as const satisfies Settings

export const VONAGE_SETTING_DOCS: SettingDocs<typeof VONAGE_SETTINGS> = {
  GOTRUE_SMS_VONAGE_API_KEY: 'API key of the Vonage dashboard (required).',
  GOTRUE_SMS_VONAGE_API_SECRET: 'API secret (required).',
  GOTRUE_SMS_VONAGE_FROM: 'A Vonage number or an alphanumeric sender id (required).',
  GOTRUE_SMS_VONAGE_ENDPOINT: 'Base URL override (a proxy, a test server).',
}

export const vonage = defineProvider<VonageSettings>({
  name: 'vonage',
  settings: VONAGE_SETTINGS,
  parse: (env: Env): VonageSettings => ({
    apiKey: required(
      env,
      VONAGE_SETTINGS,
      'GOTRUE_SMS_VONAGE_API_KEY',
      'is required (the API key on the Vonage dashboard)',
    ),
    apiSecret: required(
      env,
      VONAGE_SETTINGS,
      'GOTRUE_SMS_VONAGE_API_SECRET',
      'is required (the API secret on the Vonage dashboard)',
    ),
    from: required(
      env,
      VONAGE_SETTINGS,
      'GOTRUE_SMS_VONAGE_FROM',
      'is required (a Vonage number or an alphanumeric sender id)',
    ),
    endpoint: get(env, VONAGE_SETTINGS, 'GOTRUE_SMS_VONAGE_ENDPOINT'),
  }),
  create(settings, { fetch, clock, logger, receiptUrl }) {
    const url = `${settings.endpoint}/sms/json`
    const headers = { 'content-type': 'application/x-www-form-urlencoded' }
    let warned = false
    const callbackOf = (reference: string): string | undefined => {
      const callback = receiptUrl?.('vonage', reference)
      if (callback === undefined || callback.length <= MAX_CALLBACK_LENGTH) return callback
      // The URL is the same for every message (public URL and token): said once, not per send.
      if (!warned) {
        warned = true
        logger.warn(
          `Vonage takes a callback URL of at most ${MAX_CALLBACK_LENGTH} characters; the receipt URL has ` +
            `${callback.length}, so messages go without one (a shorter SMS_HOOK_PUBLIC_URL or SMS_HOOK_RECEIPTS_TOKEN fixes it)`,
          { provider: 'vonage' },
        )
      }
      return undefined
    }
    return {
      name: 'vonage',
      settings: VONAGE_SETTINGS,
      async send(message, { signal }) {
        const body = new URLSearchParams({
          api_key: settings.apiKey,
          api_secret: settings.apiSecret,
          from: settings.from,
          to: message.to.e164,
          text: message.text,
        })
        // Without it Vonage sends the text in the GSM alphabet and every other character arrives as `?`.
        if (!isGsm7(message.text)) body.set('type', 'unicode')
        const callback = callbackOf(message.reference)
        if (callback !== undefined) {
          body.set('callback', callback)
          // A metadata.uuid fits; the SHA-256 hex reference of an older GoTrue does not, and its receipt is
          // matched by messageId instead.
          if (message.reference.length <= MAX_CLIENT_REF_LENGTH) body.set('client-ref', message.reference)
        }
        const answer = await callVendor(fetch, { vendor: VENDOR, url, headers, body: body.toString(), signal }, message)
        return resultOf(answer, message, clock.now())
      },
    }
  },
})

const resultOf = (answer: VendorAnswer, message: SmsMessage, now: number): SendResult => {
  const json = isRecord(answer.json) ? answer.json : {}
  const first = Array.isArray(json.messages) && isRecord(json.messages[0]) ? json.messages[0] : undefined
  const status = stringOf(first?.status)
  const messageId = stringOf(first?.['message-id'])
  if (answer.status >= 200 && answer.status < 300 && status === '0' && messageId !== undefined) return { messageId }
  const detail = stringOf(first?.['error-text'])
  // Status 0 without its id is a success Vonage did not finish telling: no code to read.
  const code = status === '0' ? undefined : status
  const reading = { vendorJson: first !== undefined, code, known: knownKind(code, detail) }
  throw providerError(VENDOR, answer, { ...kindOfAnswer(answer.status, reading), code: status, detail }, message, now)
}

const knownKind = (status: string | undefined, errorText: string | undefined): ProviderErrorKind | undefined => {
  if (status === undefined) return undefined
  if (status === '3')
    return errorText !== undefined && ABOUT_TO_NUMBER.test(errorText) ? 'recipient_invalid' : 'configuration'
  return KINDS[status]
}
