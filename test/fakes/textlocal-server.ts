/**
 * A local stand-in for Textlocal's send command (`POST /send`). It checks each call as Textlocal does - the
 * `apikey`, `sender`, `numbers` as digits without `+` (comma-separated) and `message` in a form - and answers
 * HTTP 200 with `"status":"success"` and the message ids, or `"status":"failure"` and coded errors.
 */
import { FAKE_TEXTLOCAL } from './vendor-accounts.js'
import { isForm, parseForm, startFakeVendor, type Reply, type VendorRequest } from './vendor-fake.js'

/** Textlocal's text for the codes tests script. */
const ERRORS: Record<number, string> = {
  3: 'Invalid login details',
  4: 'No recipients specified',
  5: 'No message content',
  7: 'Insufficient credits',
  43: 'Invalid sender name',
  51: 'No valid numbers specified',
  80: 'Error 80',
}

const textlocalError = (code: number, text = ERRORS[code] ?? `Error ${code}`): Reply => ({
  status: 200,
  body: { errors: [{ code, message: text }], status: 'failure' },
})

let nextId = 1151346216

const check = (request: VendorRequest) => {
  const params = parseForm(request)
  const key = params.numbers?.split(',')[0]
  const refuse = (code: number) => ({ key, params, refusal: { code: String(code), reply: textlocalError(code) } })
  if (request.method !== 'POST' || request.path !== '/send') {
    return { key, params, refusal: { code: '404', reply: { status: 404, body: 'Not Found' } } }
  }
  // Textlocal reads only a form: any other body leaves it without credentials.
  if (!isForm(request) || params.apikey !== FAKE_TEXTLOCAL.apiKey) return refuse(3)
  if (!params.numbers) return refuse(4)
  if (!params.message) return refuse(5)
  if (params.sender !== FAKE_TEXTLOCAL.sender) return refuse(43)
  if (!params.numbers.split(',').every((n) => /^[1-9]\d{9,14}$/.test(n))) return refuse(51)
  return { key, params }
}

const success = (params: Record<string, unknown>): Reply => {
  const numbers = String(params.numbers).split(',')
  return {
    status: 200,
    body: {
      balance: 1162,
      batch_id: 123456789,
      cost: numbers.length,
      num_messages: numbers.length,
      message: { num_parts: 1, sender: params.sender, content: params.message },
      receipt_url: '',
      custom: '',
      messages: numbers.map((n) => ({ id: String(nextId++), recipient: Number(n) })),
      status: 'success',
    },
  }
}

export const startFakeTextlocal = () =>
  startFakeVendor({ check, success, error: (answer) => textlocalError(Number(answer.error), answer.detail) })
