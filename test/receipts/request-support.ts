/** Receipt requests built the way the receipt routes hand them to a vendor module, and configs to build vendors from. */
import { parseConfig, type Config, type Env } from '../../src/config/index.js'
import type { ReceiptRequest } from '../../src/receipts/types.js'
import { FAKE_TWILIO, FAKE_VONAGE, FAKE_MESSAGEBIRD } from '../fakes/vendor-accounts.js'
import { SECRET } from '../support/sign.js'

export const PUBLIC_URL = 'https://hook.example.com'
export const TOKEN = 'receipts-token-0123456789'

/** Every provider of these suites configured, with receipts set up. */
export const RECEIPTS_ENV: Env = {
  SMS_HOOK_ROUTES: '1=twilio;44=vonage;31=messagebird',
  GOTRUE_SMS_TWILIO_ACCOUNT_SID: FAKE_TWILIO.accountSid,
  GOTRUE_SMS_TWILIO_AUTH_TOKEN: FAKE_TWILIO.authToken,
  GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID: FAKE_TWILIO.from,
  GOTRUE_SMS_VONAGE_API_KEY: FAKE_VONAGE.apiKey,
  GOTRUE_SMS_VONAGE_API_SECRET: FAKE_VONAGE.apiSecret,
  GOTRUE_SMS_VONAGE_FROM: FAKE_VONAGE.from,
  GOTRUE_SMS_MESSAGEBIRD_ACCESS_KEY: FAKE_MESSAGEBIRD.accessKey,
  GOTRUE_SMS_MESSAGEBIRD_ORIGINATOR: FAKE_MESSAGEBIRD.originator,
  SMS_HOOK_PUBLIC_URL: PUBLIC_URL,
  SMS_HOOK_RECEIPTS_TOKEN: TOKEN,
}

export const configWith = (env: Env = {}): Config =>
  parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'test', ...RECEIPTS_ENV, ...env })

export interface RequestParts {
  method?: 'GET' | 'POST'
  url: string
  headers?: Record<string, string>
  body?: string
}

/** As the routes read a request: the query of the URL, the body as text, and the form when the body says it is one. */
export const receiptRequest = ({ method = 'POST', url, headers = {}, body = '' }: RequestParts): ReceiptRequest => {
  const all = new Headers(headers)
  const form = /^application\/x-www-form-urlencoded\b/i.test(all.get('content-type') ?? '')
    ? new URLSearchParams(body)
    : undefined
  return { method, url, query: new URL(url).searchParams, headers: all, body, ...(form ? { form } : {}) }
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
