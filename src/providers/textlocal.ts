/**
 * Textlocal: `POST /send`, a form with `apikey`, `sender`, `numbers` (E.164 digits without `+`) and `message`.
 * Textlocal answers HTTP 200 with `status` `success` or `failure` and a list of coded errors. Read from
 * GoTrue's own `GOTRUE_SMS_TEXTLOCAL_*` variables.
 *
 * Numbers: Textlocal reads `numbers` in international format, country code first (`918123456789`), which is
 * what the E.164 digits are; no national form is sent.
 */
import { endpoint, required, type Env } from '../config/env.js'
import type { ProviderErrorKind } from '../errors.js'
import { callVendor, isRecord, kindOfStatus, refusal, stringOf, type VendorAnswer } from './http.js'
import { defineProvider, type SendResult, type SmsMessage } from './types.js'

export interface TextlocalSettings {
  apiKey: string
  sender: string
  endpoint: string
}

/** Error codes of a `failure` (the vendor's API reference); any other code is our account's or settings' to fix. */
const KINDS: Record<number, ProviderErrorKind> = {
  51: 'recipient_invalid', // no valid numbers
  80: 'retryable',
  3: 'configuration', // login details
  4: 'configuration', // no recipients
  7: 'configuration', // not enough credits
}

const VENDOR = 'Textlocal'

export const textlocal = defineProvider<TextlocalSettings>({
  name: 'textlocal',
  parse: (env: Env): TextlocalSettings => ({
    apiKey: required(env, 'GOTRUE_SMS_TEXTLOCAL_API_KEY', 'is required (an API key from Settings, API Keys)'),
    sender: required(env, 'GOTRUE_SMS_TEXTLOCAL_SENDER', 'is required (an approved sender name)'),
    endpoint: endpoint(env, 'GOTRUE_SMS_TEXTLOCAL_ENDPOINT', 'https://api.textlocal.in'),
  }),
  create(settings, { fetch, clock }) {
    const url = `${settings.endpoint}/send`
    const headers = { 'content-type': 'application/x-www-form-urlencoded' }
    return {
      name: 'textlocal',
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
  const error = json.status === 'failure' && Array.isArray(json.errors) && isRecord(json.errors[0]) ? json.errors[0] : {}
  const code = typeof error.code === 'number' ? error.code : undefined
  // Without a coded failure (a proxy's page, a success without its id) only the HTTP status can be read.
  const kind = code === undefined ? kindOfStatus(answer.status) : (KINDS[code] ?? 'configuration')
  throw refusal(VENDOR, answer, { kind, code: stringOf(code), detail: stringOf(error.message) }, message, now)
}
