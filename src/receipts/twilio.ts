/**
 * Twilio's status callbacks: `POST /receipts/twilio?ref=<reference>`, the URL each message named as its
 * `StatusCallback` (providers/twilio.ts), a form with `MessageSid`, `MessageStatus`, `ErrorCode` and more that
 * Twilio may add without notice. Signed by Twilio with the account's auth token (`X-Twilio-Signature`), so the
 * route needs no path token: a request without a valid signature is refused.
 */
import type { Config } from '../config/index.js'
import { base64, constantTimeEqual, hmac } from '../digest.js'
import type { DeliveryStatus, DeliveryUpdate } from '../delivery/types.js'
import type { TwilioSettings } from '../providers/twilio.js'
import { compactUtc } from './times.js'
import type { ParsedReceipts, ReceiptRequest, ReceiptVendor } from './types.js'

/** `MessageStatus` values (Twilio's message resource) and the status each one is here. */
const STATUSES = new Map<string, DeliveryStatus>([
  ['queued', 'accepted'],
  ['accepted', 'accepted'],
  ['scheduled', 'accepted'],
  ['sending', 'sent'],
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['read', 'delivered'],
  ['undelivered', 'failed'],
  ['failed', 'failed'],
  ['canceled', 'failed'],
])

/** A status callback is a few hundred bytes; this leaves room for the parameters Twilio may add. */
const MAX_BODY_BYTES = 16 * 1024

/**
 * The signature Twilio computes: base64 HMAC-SHA1, keyed by the auth token, of the URL followed by every POST
 * parameter sorted by name, each as name + value (a repeated name: its distinct values sorted, each as
 * name + value, as Twilio's own validator reads them).
 */
export const twilioSignature = async (authToken: string, url: string, form: URLSearchParams): Promise<string> => {
  let data = url
  for (const name of [...new Set(form.keys())].sort()) {
    for (const value of [...new Set(form.getAll(name))].sort()) data += name + value
  }
  return base64(await hmac('SHA-1', authToken, data))
}

/** `scheme://`, userinfo, host and port, and the rest, without normalising any of it (which would change what was signed). */
const AUTHORITY = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i

/**
 * The URL as given, and with the scheme's default port added or removed: a proxy in front of the hook, or
 * Twilio itself, may have signed either form, and Twilio's validator accepts both.
 */
export const portVariants = (url: string): string[] => {
  const match = AUTHORITY.exec(url)
  if (!match) return [url]
  const [prefix, scheme, authority] = match as unknown as [string, string, string]
  const userInfoEnd = authority.lastIndexOf('@')
  const userInfo = authority.slice(0, userInfoEnd + 1)
  const hostAndPort = authority.slice(userInfoEnd + 1)
  // A colon starts the port only after the closing bracket of an IPv6 literal.
  const portStart = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1)
  const host = portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart)
  const rest = url.slice(prefix.length)
  const withoutPort = scheme + userInfo + host + rest
  const withPort =
    portStart === -1 ? scheme + userInfo + host + (scheme.toLowerCase() === 'https://' ? ':443' : ':80') + rest : url
  return [...new Set([withoutPort, withPort])]
}

/** Whether `signature` is Twilio's for this URL and form under `authToken`, in time independent of where it differs. */
export const verifyTwilioSignature = async (
  authToken: string,
  signature: string | null,
  url: string,
  form: URLSearchParams,
): Promise<boolean> => {
  if (signature === null || signature === '') return false
  let valid = false
  // Every variant is computed, so the time taken does not tell which one matched.
  for (const candidate of portVariants(url)) {
    valid = constantTimeEqual(signature, await twilioSignature(authToken, candidate, form)) || valid
  }
  return valid
}

const parse = (request: ReceiptRequest, now: number): ParsedReceipts | undefined => {
  const form = request.form
  if (form === undefined) return undefined
  const messageSid = form.get('MessageSid')
  const word = form.get('MessageStatus') ?? ''
  const status = STATUSES.get(word)
  if (!messageSid || status === undefined) return { updates: [], malformed: 1 }
  const reference = request.query.get('ref') || undefined
  const errorCode = form.get('ErrorCode') || undefined
  const update: DeliveryUpdate = {
    provider: 'twilio',
    ...(reference === undefined ? {} : { reference }),
    vendorMessageId: messageSid,
    status,
    // Twilio's error code says why a message failed; without one, its own word for the status (`undelivered`).
    vendorCode: errorCode ?? word,
    // `RawDlrDoneDate`: when the carrier reported it, on delivered and undelivered.
    at: compactUtc(form.get('RawDlrDoneDate')) ?? now,
  }
  return { updates: [update], malformed: 0 }
}

/**
 * Twilio's receipts, when the twilio provider is configured (its auth token is the key) and SMS_HOOK_PUBLIC_URL
 * is set (without it no message asks for them).
 */
export const twilioReceipts = (config: Config): ReceiptVendor | undefined => {
  const settings = config.routing.providers.find((provider) => provider.name === 'twilio')?.settings as
    TwilioSettings | undefined
  if (settings === undefined || !config.delivery.enabled || config.delivery.publicUrl === undefined) return undefined
  const { authToken } = settings
  return {
    provider: 'twilio',
    auth: 'signature',
    methods: ['POST'],
    maxBodyBytes: MAX_BODY_BYTES,
    verify: (request) =>
      // Twilio signs a form POST: anything else is not one of its callbacks.
      request.method === 'POST' && request.form !== undefined
        ? verifyTwilioSignature(authToken, request.headers.get('x-twilio-signature'), request.url, request.form)
        : Promise.resolve(false),
    parse,
    // Any 2xx acknowledges; an empty one costs Twilio nothing to read.
    answer: () => new Response(null, { status: 204 }),
  }
}
