/**
 * Textlocal: `POST /send`, a form with `apikey`, `sender`, `numbers` (E.164 digits without `+`) and `message`.
 * Textlocal answers HTTP 200 with `status` `success` or `failure` and a list of coded errors. Read from
 * GoTrue's own `GOTRUE_SMS_TEXTLOCAL_*` variables.
 *
 * Numbers: Textlocal reads `numbers` in international format, country code first (`918123456789`), which is
 * what the E.164 digits are; no national form is sent.
 */
import type { Env } from '../config/env.js'
import { anyText, endpoint, get, required, type SettingDocs, type Settings } from '../config/settings.js'
import type { ProviderErrorKind } from '../errors.js'
import { isRecord } from '../record.js'
import { callVendor, kindOfAnswer, providerError, stringOf, type VendorAnswer } from './http.js'
import { defineProvider, type SendResult, type SmsMessage } from './types.js'

export interface TextlocalSettings {
  apiKey: string
  sender: string
  endpoint: string
}

/**
 * Error codes of a `failure` (the vendor's API reference). Any other code is read as a destination refusal and
 * logged at error (`kindOfAnswer`).
 */
const KINDS: Record<number, ProviderErrorKind> = {
  51: 'recipient_invalid', // no valid numbers
  80: 'retryable',
  3: 'configuration', // login details
  4: 'configuration', // no recipients
  7: 'configuration', // not enough credits
  43: 'configuration', // invalid sender name
}

const VENDOR = 'Textlocal'

/** GoTrue's own Textlocal variables. */
export const TEXTLOCAL_SETTINGS = {
  GOTRUE_SMS_TEXTLOCAL_API_KEY: { parse: anyText, secret: true },
  GOTRUE_SMS_TEXTLOCAL_SENDER: { parse: anyText },
  GOTRUE_SMS_TEXTLOCAL_ENDPOINT: { parse: endpoint, default: 'https://api.textlocal.in' },
} as const satisfies Settings

export const TEXTLOCAL_SETTING_DOCS: SettingDocs<typeof TEXTLOCAL_SETTINGS> = {
  GOTRUE_SMS_TEXTLOCAL_API_KEY: 'An API key of Settings, API Keys (required).',
  GOTRUE_SMS_TEXTLOCAL_SENDER: 'An approved sender name (required).',
  GOTRUE_SMS_TEXTLOCAL_ENDPOINT: 'Base URL override (a proxy, a test server).',
}

export const textlocal = defineProvider<TextlocalSettings>({
  name: 'textlocal',
  settings: TEXTLOCAL_SETTINGS,
  parse: (env: Env): TextlocalSettings => ({
    apiKey: required(
      env,
      TEXTLOCAL_SETTINGS,
      'GOTRUE_SMS_TEXTLOCAL_API_KEY',
      'is required (an API key from Settings, API Keys)',
    ),
    sender: required(env, TEXTLOCAL_SETTINGS, 'GOTRUE_SMS_TEXTLOCAL_SENDER', 'is required (an approved sender name)'),
    endpoint: get(env, TEXTLOCAL_SETTINGS, 'GOTRUE_SMS_TEXTLOCAL_ENDPOINT'),
  }),
  create(settings, { fetch, clock }) {
    const url = `${settings.endpoint}/send`
    const headers = { 'content-type': 'application/x-www-form-urlencoded' }
    return {
      name: 'textlocal',
      settings: TEXTLOCAL_SETTINGS,
      async send(message, { signal }) {
        const body = new URLSearchParams({
          apikey: settings.apiKey,
          sender: settings.sender,
          numbers: message.to.e164,
          message: message.text,
        })
        const answer = await callVendor(fetch, { vendor: VENDOR, url, headers, body: body.toString(), signal }, message)
        return resultOf(answer, message, clock.now())
      },
    }
  },
})

const resultOf = (answer: VendorAnswer, message: SmsMessage, now: number): SendResult => {
  const json = isRecord(answer.json) ? answer.json : {}
  const first = Array.isArray(json.messages) && isRecord(json.messages[0]) ? json.messages[0] : {}
  const id = stringOf(first.id)
  if (answer.status >= 200 && answer.status < 300 && json.status === 'success' && id !== undefined) {
    return { messageId: id }
  }
  const error =
    json.status === 'failure' && Array.isArray(json.errors) && isRecord(json.errors[0]) ? json.errors[0] : {}
  const code = typeof error.code === 'number' ? error.code : undefined
  // Textlocal's JSON always says `success` or `failure`; a proxy's page or another JSON does not.
  const vendorJson = json.status === 'success' || json.status === 'failure'
  const reading = { vendorJson, code: stringOf(code), known: code === undefined ? undefined : KINDS[code] }
  throw providerError(
    VENDOR,
    answer,
    { ...kindOfAnswer(answer.status, reading), code: reading.code, detail: stringOf(error.message) },
    message,
    now,
  )
}
