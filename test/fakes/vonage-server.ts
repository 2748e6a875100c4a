/**
 * A local stand-in for Vonage's SMS API (`POST /sms/json`). It checks each call as Vonage does - `api_key` and
 * `api_secret` in the form, `from`, `to` as E.164 digits without `+`, `text`, and `type` when given - and
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
  return { key, params }
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
      },
    ],
  },
})

export const startFakeVonage = () =>
  startFakeVendor({ check, success, error: (answer) => vonageError(String(answer.error), answer.detail) })
