/**
 * A local stand-in for Vonage's SMS API (`POST /sms/json`). It checks each call as Vonage does - `api_key` and
 * `api_secret` in the form, `from`, `to` as E.164 digits without `+`, `text`, and `type`, `callback` (an http(s)
 * URL of at most 100 characters, else status 23) and `client-ref` (at most 40 characters) when given - and
 * answers HTTP 200 with Vonage's `messages[0].status` and `error-text`, whatever happened.
 */
import { FAKE_VONAGE } from './vendor-accounts.js'
import { hexId, isForm, parseForm, startFakeVendor, type Reply, type VendorRequest } from './vendor-fake.js'

/** Vonage's `error-text` for the statuses tests script. */
const ERROR_TEXTS: Record<string, string> = {
  '1': 'Throughput Rate Exceeded - please wait [ 30 ] and retry',
  '2': 'Missing api_key',
  '3': 'Invalid to param',
  '4': 'Bad Credentials',
  '5': 'Internal Error',
  '6': 'Unroutable message - rejected',
  '7': 'Number barred.',
  '9': 'Quota Exceeded - rejected',
  '15': 'Illegal Sender Address - rejected',
  '23': 'Invalid Callback Url',
  '29': 'Non White-listed Destination - rejected',
}

const TYPES = ['text', 'unicode', 'binary', 'wappush', 'vcal', 'vcard']

const vonageError = (status: string, errorText = ERROR_TEXTS[status] ?? 'Error'): Reply => ({
  status: 200,
  body: { 'message-count': '1', messages: [{ status, 'error-text': errorText }] },
})

const check = (request: VendorRequest) => {
  const params = parseForm(request)
  const key = params.to
  const refuse = (status: string, errorText: string) => ({
    key,
    params,
    refusal: { code: status, reply: vonageError(status, errorText) },
  })
  if (request.method !== 'POST' || request.path !== '/sms/json') {
    return { key, params, refusal: { code: '404', reply: { status: 404, body: 'Not Found' } } }
  }
  if (!isForm(request)) return refuse('2', 'Missing api_key')
  if (!params.api_key) return refuse('2', 'Missing api_key')
  if (!params.api_secret) return refuse('2', 'Missing api_secret')
  if (params.api_key !== FAKE_VONAGE.apiKey || params.api_secret !== FAKE_VONAGE.apiSecret)
    return refuse('4', 'Bad Credentials')
  if (!params.from) return refuse('2', 'Missing from param')
  if (!params.to) return refuse('2', 'Missing to param')
  if (!/^[1-9]\d{6,14}$/.test(params.to)) return refuse('3', 'Invalid to param')
  if (!params.text) return refuse('2', 'Missing text param')
  if (params.type !== undefined && !TYPES.includes(params.type)) return refuse('3', 'Invalid Message type')
  if (params.callback !== undefined && !isCallback(params.callback)) return refuse('23', 'Invalid Callback Url')
  // The API reference's limit; refused here, so that a provider sending a longer one cannot pass.
  if (params['client-ref'] !== undefined && params['client-ref'].length > 40) {
    return refuse('3', 'Invalid client-ref param')
  }
  return { key, params }
}

/** "The callback URL supplied was either too long or contained illegal characters" (status 23): 100 at most. */
const isCallback = (value: string): boolean => {
  if (value.length > 100) return false
  try {
    const url = new URL(value)
    return url.protocol === 'https:' || url.protocol === 'http:'
  } catch {
    return false
  }
}

const success = (params: Record<string, unknown>): Reply => ({
  status: 200,
  body: {
    'message-count': '1',
    messages: [
      {
        to: params.to,
        'message-id': hexId(9).toUpperCase(),
        status: '0',
        'remaining-balance': '3.14159265',
        'message-price': '0.03330000',
        network: '23410',
        ...(params['client-ref'] === undefined ? {} : { 'client-ref': params['client-ref'] }),
      },
    ],
  },
})

export const startFakeVonage = () =>
  startFakeVendor({ check, success, error: (answer) => vonageError(String(answer.error), answer.detail) })
