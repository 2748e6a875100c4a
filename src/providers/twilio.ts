/**
 * Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, a form with `To`
 * (`+` and E.164), `From` or `MessagingServiceSid`, and `Body`, authenticated with HTTP Basic (Account SID and
 * Auth Token). Read from GoTrue's own `GOTRUE_SMS_TWILIO_*` variables.
 *
 * Receipts: with SMS_HOOK_PUBLIC_URL set, each message carries `StatusCallback` (`ProviderDeps.receiptUrl`).
 *
 * Numbers: `To` is sent as `+` and the E.164 digits, which Twilio reads as written; without the `+` Twilio
 * could read the digits as a national number of the sender's country.
 */
import type { Env } from '../config/env.js'
import { anyText, endpoint, get, required, type SettingDocs, type Settings } from '../config/settings.js'
import { ConfigError, type ProviderErrorKind } from '../errors.js'
import { isRecord } from '../record.js'
import { callVendor, kindOfAnswer, providerError, stringOf, type VendorAnswer } from './http.js'
import { defineProvider, type SendResult, type SmsMessage } from './types.js'

export interface TwilioSettings {
  accountSid: string
  authToken: string
  /** A sender number or alphanumeric sender id (`From`), or a Messaging Service sid `MG...` (`MessagingServiceSid`). */
  sender: { From: string } | { MessagingServiceSid: string }
  endpoint: string
}

/**
 * Twilio's error codes (the vendor's API reference). A code not here is read as a destination refusal and logged
 * at error (`kindOfAnswer`); only the codes below that are about our account fail over.
 */
const KINDS: Record<number, ProviderErrorKind> = {
  21211: 'recipient_invalid', // invalid To
  21614: 'recipient_invalid', // To is not a mobile number
  21610: 'recipient_invalid', // the recipient replied STOP
  21612: 'recipient_invalid', // the To number is not currently reachable via SMS
  // Geo permissions: the operator chose not to send to this region through Twilio; failing over would bypass it.
  21408: 'recipient_invalid', // permission to send an SMS has not been enabled for the region of To
  20429: 'retryable', // too many concurrent requests on the account
  20003: 'configuration', // authentication
  20404: 'configuration', // the resource was not found: the Account SID in the path
  21606: 'configuration', // From cannot send to this number
  21659: 'configuration', // From is not a Twilio number
  21608: 'configuration', // trial accounts reach verified numbers only
}

const VENDOR = 'Twilio'

/** GoTrue's own Twilio variables (its Verify and Content settings are GoTrue's, and not read here). */
export const TWILIO_SETTINGS = {
  GOTRUE_SMS_TWILIO_ACCOUNT_SID: { parse: anyText },
  GOTRUE_SMS_TWILIO_AUTH_TOKEN: { parse: anyText, secret: true },
  GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID: { parse: anyText },
  GOTRUE_SMS_TWILIO_ENDPOINT: { parse: endpoint, default: 'https://api.twilio.com' },
} as const satisfies Settings

export const TWILIO_SETTING_DOCS: SettingDocs<typeof TWILIO_SETTINGS> = {
  GOTRUE_SMS_TWILIO_ACCOUNT_SID: 'Account SID, AC followed by 32 hex digits (required).',
  GOTRUE_SMS_TWILIO_AUTH_TOKEN: 'Auth Token (required).',
  GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID:
    'Sender: a number, an alphanumeric sender id, or a Messaging Service sid MG... (required).',
  GOTRUE_SMS_TWILIO_ENDPOINT: 'Base URL override (a proxy, a test server).',
}

export const twilio = defineProvider<TwilioSettings>({
  name: 'twilio',
  settings: TWILIO_SETTINGS,
  parse(env: Env): TwilioSettings {
    const accountSid = required(
      env,
      TWILIO_SETTINGS,
      'GOTRUE_SMS_TWILIO_ACCOUNT_SID',
      'is required (the Account SID on the Twilio console)',
    )
    // It goes in the URL path and the Basic credentials: a typo would only show up as a 404 on every send.
    if (accountSid !== '' && !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
      throw new ConfigError('GOTRUE_SMS_TWILIO_ACCOUNT_SID', 'must be an Account SID: AC followed by 32 hex digits')
    }
    const authToken = required(env, TWILIO_SETTINGS, 'GOTRUE_SMS_TWILIO_AUTH_TOKEN')
    const sender = required(
      env,
      TWILIO_SETTINGS,
      'GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID',
      'is required (a sender number or a MG... sid)',
    )
    return {
      accountSid,
      authToken,
      // GoTrue sends this value as `From`; a Messaging Service sid belongs in its own parameter.
      sender: /^MG[0-9a-fA-F]{32}$/.test(sender) ? { MessagingServiceSid: sender } : { From: sender },
      endpoint: get(env, TWILIO_SETTINGS, 'GOTRUE_SMS_TWILIO_ENDPOINT'),
    }
  },
  create(settings, { fetch, clock, receiptUrl }) {
    const url = `${settings.endpoint}/2010-04-01/Accounts/${settings.accountSid}/Messages.json`
    const headers = {
      authorization: `Basic ${btoa(`${settings.accountSid}:${settings.authToken}`)}`,
      'content-type': 'application/x-www-form-urlencoded',
    }
    return {
      name: 'twilio',
      async send(message, { signal }) {
        const body = new URLSearchParams({ To: `+${message.to.e164}`, ...settings.sender, Body: message.text })
        // Per message, so nothing is set in the Twilio console; the URL carries our reference (`?ref=`), which
        // Twilio signs with the rest of the URL (receipts/twilio.ts).
        const statusCallback = receiptUrl?.('twilio', message.reference)
        if (statusCallback !== undefined) body.set('StatusCallback', statusCallback)
        const answer = await callVendor(fetch, { vendor: VENDOR, url, headers, body: body.toString(), signal }, message)
        return resultOf(answer, message, clock.now())
      },
    }
  },
})

/** A 2xx with the message's `sid` is success; Twilio's error JSON (`code`, `message`) is read by its code. */
const resultOf = (answer: VendorAnswer, message: SmsMessage, now: number): SendResult => {
  const json = isRecord(answer.json) ? answer.json : {}
  const sid = stringOf(json.sid)
  if (answer.status >= 200 && answer.status < 300 && sid !== undefined) return { messageId: sid }
  const code = typeof json.code === 'number' ? json.code : undefined
  const reading = {
    vendorJson: code !== undefined,
    code: stringOf(code),
    known: code === undefined ? undefined : KINDS[code],
  }
  throw providerError(
    VENDOR,
    answer,
    {
      ...kindOfAnswer(answer.status, reading),
      code: reading.code,
      detail: stringOf(json.message),
      requestId: answer.headers.get('twilio-request-id') ?? undefined,
    },
    message,
    now,
  )
}
