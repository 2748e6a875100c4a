/**
 * One SMS per hook call on Workers, where GoTrue's repeats of one call may land in different isolates: the
 * Durable Object store is what they share. Each `isolate()` below builds its own app, memory and all.
 */
import { describe, expect, it } from 'vitest'
import { aliyunEnv, callsFor, script, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { signupPayload } from '../support/payloads.js'
import { SECRET, signedPost } from '../support/sign.js'
import { call, captureLogs, CONSOLE, inboxEntries, isolate } from './support.js'

const ALIYUN = { GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, SMS_HOOK_TIMEOUT_MS: '3000' }

describe('idempotency through the Durable Object', () => {
  it('sends one SMS for concurrent repeats of a call, each in another isolate', async () => {
    const isolates = [0, 1, 2].map(() => isolate({ ...ALIYUN, ...aliyunEnv() }))
    const payload = signupPayload({ phone: uniqueMainlandPhone() })
    // The gateway takes its time, so the repeats arrive while the first is in flight.
    await script(payload.phone.slice(2), { status: 503, code: 'ServiceUnavailable' })
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => call(isolates[i % 3]!, '/send-sms', signedPost(payload.body))),
    )
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(200))
    expect(await Promise.all(responses.map((r) => r.text()))).toEqual(Array(6).fill('{}'))
    const calls = await callsFor(payload.uuid)
    expect(calls.map((c) => c.answer)).toEqual([
      { status: 503, code: 'ServiceUnavailable' },
      { status: 200, code: 'OK' },
    ])
  })

  it('answers a repeat in a new isolate from the stored outcome, without sending', async () => {
    const logs = captureLogs()
    const payload = signupPayload({ phone: uniqueMainlandPhone(), legacy: true })
    for (let i = 0; i < 2; i++) {
      const response = await call(isolate({ ...ALIYUN, ...aliyunEnv() }), '/send-sms', signedPost(payload.body))
      expect(await response.text()).toBe('{}')
    }
    expect(await callsFor(payload.phone.slice(2))).toHaveLength(1)
    expect(logs.filter((l) => l.msg === 'hook').map((l) => l.outcome)).toEqual(['sent', 'replayed'])
  })

  it('lets a repeat send after a failure that sent nothing, once', async () => {
    const payload = signupPayload({ phone: uniqueMainlandPhone() })
    await script(payload.phone.slice(2), { code: 'isv.BUSINESS_LIMIT_CONTROL' })
    const first = await call(isolate({ ...ALIYUN, ...aliyunEnv() }), '/send-sms', signedPost(payload.body))
    expect(await first.json()).toMatchObject({ error: { http_code: 429 } })
    const repeats = await Promise.all(
      [0, 1, 2].map(() => call(isolate({ ...ALIYUN, ...aliyunEnv() }), '/send-sms', signedPost(payload.body))),
    )
    expect(await Promise.all(repeats.map((r) => r.text()))).toEqual(['{}', '{}', '{}'])
    expect((await callsFor(payload.uuid)).map((c) => c.answer)).toEqual([
      { status: 200, code: 'isv.BUSINESS_LIMIT_CONTROL' },
      { status: 200, code: 'OK' },
    ])
  })

  it('keeps one console message for concurrent repeats', async () => {
    const payload = signupPayload()
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => call(isolate(CONSOLE), '/send-sms', signedPost(payload.body))),
    )
    expect(responses.map((r) => r.status)).toEqual(Array(5).fill(200))
    const entries = await inboxEntries(payload.uuid)
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ to: payload.phone, otp: payload.otp, sms_type: 'sms' })
  })
})
