/**
 * A local stand-in for Twilio's Messages API. It checks each call as Twilio does - HTTP Basic credentials
 * against the Account SID in the path, a form body, `To` in `+` E.164, `Body`, and exactly one of `From` (a
 * number of the account) or `MessagingServiceSid`, and a `StatusCallback` when given (an absolute http(s) URL) -
 * and answers with Twilio's message resource or its error
 * JSON (`code`, `message`, `more_info`, `status`) and a `Twilio-Request-Id` header.
 */
import { FAKE_TWILIO } from './vendor-accounts.js'
import { hexId, isForm, parseForm, startFakeVendor, type Reply, type VendorRequest } from './vendor-fake.js'

const PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/

/** Twilio's HTTP status and text for the codes tests script; `{to}` and `{from}` are filled in as Twilio does. */
const ERRORS: Record<number, [number, string]> = {
  20003: [401, 'Authenticate'],
  20404: [404, 'The requested resource was not found'],
  20429: [429, 'Too Many Requests'],
  21211: [400, "The 'To' number {to} is not a valid phone number."],
  21408: [400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}."],
  21602: [400, 'Message body is required.'],
  21603: [400, "A 'From' phone number is required."],
  21604: [400, "A 'To' phone number is required."],
  21606: [
    400,
    'The From phone number {from} is not a valid, SMS-capable inbound phone number or short code for your account.',
  ],
  21608: [400, 'The number {to} is unverified. Trial accounts cannot send messages to unverified numbers.'],
  21610: [400, 'Attempt to send to unsubscribed recipient'],
  21612: [
    400,
    "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number: {from} via SMS.",
  ],
  21614: [400, "'To' number {to} is not a valid mobile number"],
  21659: [400, "'From' {from} is not a Twilio phone number or Short Code country mismatch"],
  21609: [400, "Invalid 'StatusCallback'"],
  21701: [400, 'The Messaging Service Sid {service} is invalid.'],
  20500: [500, 'An internal server error has occurred'],
  20503: [503, 'Service is unavailable. Please try again'],
}

const twilioError = (code: number, params: Record<string, unknown>): Reply => {
  const [status, text] = ERRORS[code] ?? [400, `Error ${code}`]
  const message = text
    .replace('{to}', String(params.To ?? ''))
    .replace('{from}', String(params.From ?? ''))
    .replace('{service}', String(params.MessagingServiceSid ?? ''))
  return {
    status,
    body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
    headers: { 'twilio-request-id': `RQ${hexId(16)}` },
  }
}

const refuse = (code: number, params: Record<string, unknown>, key?: string) => ({
  key,
  params,
  refusal: { code: String(code), reply: twilioError(code, params) },
})

const check = (request: VendorRequest) => {
  const form = parseForm(request)
  const key = form.To?.replace(/^\+/, '')
  const sid = PATH.exec(request.path)?.[1]
  if (request.method !== 'POST' || sid === undefined) return refuse(20404, form, key)
  const [scheme, encoded] = (request.headers.authorization ?? '').split(' ')
  const credentials = scheme === 'Basic' && encoded ? Buffer.from(encoded, 'base64').toString('utf8') : ''
  if (sid !== FAKE_TWILIO.accountSid || credentials !== `${FAKE_TWILIO.accountSid}:${FAKE_TWILIO.authToken}`) {
    return refuse(20003, form, key)
  }
  // Twilio reads only a form: any other body leaves it without a `To`.
  if (!isForm(request) || !form.To) return refuse(21604, form, key)
  if (!/^\+[1-9]\d{6,14}$/.test(form.To)) return refuse(21211, form, key)
  if (!form.Body) return refuse(21602, form, key)
  if ((form.From === undefined) === (form.MessagingServiceSid === undefined)) return refuse(21603, form, key)
  if (form.From !== undefined && form.From !== FAKE_TWILIO.from) return refuse(21659, form, key)
  if (form.MessagingServiceSid !== undefined && form.MessagingServiceSid !== FAKE_TWILIO.messagingServiceSid) {
    return refuse(21701, form, key)
  }
  if (form.StatusCallback !== undefined && !isAbsoluteHttpUrl(form.StatusCallback)) return refuse(21609, form, key)
  return { key, params: form }
}

/** Twilio takes a StatusCallback it can request: an absolute http or https URL. */
const isAbsoluteHttpUrl = (value: string): boolean => {
  try {
    const url = new URL(value)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== ''
  } catch {
    return false
  }
}

const success = (params: Record<string, unknown>): Reply => {
  const sid = `SM${hexId(16)}`
  const now = new Date().toUTCString()
  return {
    status: 201,
    headers: { 'twilio-request-id': `RQ${hexId(16)}` },
    body: {
      account_sid: FAKE_TWILIO.accountSid,
      api_version: '2010-04-01',
      body: params.Body,
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: params.From ?? null,
      messaging_service_sid: params.MessagingServiceSid ?? null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      sid,
      status: params.MessagingServiceSid ? 'accepted' : 'queued',
      to: params.To,
      uri: `/2010-04-01/Accounts/${FAKE_TWILIO.accountSid}/Messages/${sid}.json`,
    },
  }
}

export const startFakeTwilio = () =>
  startFakeVendor({ check, success, error: (answer, params) => twilioError(Number(answer.error), params) })
