/** The SMS-pumping guard on Workers: its counters are Durable Objects, shared by every isolate. */
import { describe, expect, it } from 'vitest'
import { MESSAGES } from '../../src/outcome.js'
import { uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { signupPayload } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'
import { call, CONSOLE, inboxEntries, isolate } from './support.js'

describe('the guard on Workers', () => {
  it('holds a per-number limit across isolates, refusing before the provider, and replays the refusal', async () => {
    const phone = uniqueMainlandPhone()
    const isolates = [0, 1, 2].map(() => isolate({ ...CONSOLE, SMS_HOOK_LIMIT_PER_NUMBER: '2/1h' }))
    const payloads = [0, 1, 2].map(() => signupPayload({ phone }))
    const answers = []
    for (const [i, payload] of payloads.entries()) {
      answers.push(await (await call(isolates[i]!, '/send-sms', signedPost(payload.body))).json())
    }
    expect(answers).toEqual([{}, {}, { error: { http_code: 429, message: MESSAGES.tooManyRequests } }])
    expect(await inboxEntries(payloads[2]!.uuid)).toHaveLength(0)
    // GoTrue's retry of the refused call, through another isolate: the same refusal, from the stored outcome.
    const retry = await call(isolates[0]!, '/send-sms', signedPost(payloads[2]!.body))
    expect(await retry.json()).toEqual({ error: { http_code: 429, message: MESSAGES.tooManyRequests } })
  })

  it('refuses a country outside SMS_HOOK_ALLOWED_COUNTRIES', async () => {
    const payload = signupPayload({ phone: uniqueMainlandPhone() })
    const response = await call(
      isolate({ ...CONSOLE, SMS_HOOK_ALLOWED_COUNTRIES: '852,853' }),
      '/send-sms',
      signedPost(payload.body),
    )
    expect(await response.json()).toEqual({ error: { http_code: 400, message: MESSAGES.countryNotAllowed } })
    expect(await inboxEntries(payload.uuid)).toHaveLength(0)
  })
})
