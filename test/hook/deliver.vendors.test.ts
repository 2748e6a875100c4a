/**
 * Failover end to end: real providers calling the local fake vendors over HTTP (test/fakes), as they would
 * call Tencent Cloud, Alibaba Cloud, Twilio and Vonage.
 */
import { describe, expect, it } from 'vitest'
import type { Env } from '../../src/config/env.js'
import { MESSAGES } from '../../src/outcome.js'
import { callsFor as aliyunCalls, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { callsFor as vendorCalls, script, type ScriptedAnswer } from '../providers/fake.js'
import { makeApp } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { vendorEnv } from '../support/routing.js'
import { signedPost } from '../support/sign.js'

describe('failover through the fake vendors', () => {
  it('sends a mainland code through Alibaba Cloud, once, when Tencent Cloud fails retryably', async () => {
    const { app, logs } = makeApp({ env: { ...vendorEnv(), SMS_HOOK_ROUTES: '86=tencent,aliyun;*=twilio' } })
    const phone = uniqueMainlandPhone()
    await script('tencent', phone, { error: 'InternalError' })
    const { body, uuid, otp } = signupPayload({ phone })

    const response = await app.request('/send-sms', signedPost(body))
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('{}')

    const tencent = await vendorCalls('tencent', phone)
    expect(tencent).toHaveLength(1)
    expect(tencent[0]).toMatchObject({
      accepted: true,
      params: { PhoneNumberSet: [`+${phone}`], TemplateParamSet: [otp] },
    })
    const aliyun = await aliyunCalls(uuid)
    expect(aliyun).toHaveLength(1)
    expect(aliyun[0]).toMatchObject({
      action: 'SendSms',
      signatureValid: true,
      answer: { status: 200, code: 'OK' },
      params: { PhoneNumbers: phone.slice(2), OutId: uuid },
    })
    expect(logs.find((l) => l.msg === 'hook')).toMatchObject({
      outcome: 'sent',
      provider: 'aliyun',
      attempts: 2,
      failed_over: [{ provider: 'tencent', kind: 'retryable', code: 'InternalError' }],
    })

    // GoTrue's retry of the same call is answered from the stored outcome: neither vendor hears of it again.
    expect(await (await app.request('/send-sms', signedPost(body))).text()).toBe('{}')
    expect(await vendorCalls('tencent', phone)).toHaveLength(1)
    expect(await aliyunCalls(uuid)).toHaveLength(1)
  })
})

/** A UK mobile no other test uses: the fakes key scripts and calls by its digits. */
const ukNumber = () => `4477${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`

const html = (title: string) => `<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`

/** `*=twilio,vonage` on the fakes, with the default breaker (5 failed hooks in a row open it). */
const twilioThenVonage = (env: Env = {}) => {
  const made = makeApp({ env: { ...vendorEnv(), SMS_HOOK_ROUTES: '*=twilio,vonage', ...env } })
  const hook = (phone: string) => made.app.request('/send-sms', signedPost(signupPayload({ phone }).body))
  const breakerEvents = () => made.events.filter((e) => e.type === 'breaker')
  return { ...made, hook, breakerEvents }
}

const errorOf = async (response: Response) =>
  ((await response.json()) as { error?: { http_code: number; message: string } }).error

describe("Twilio's refusals of a destination, through the fake Twilio", () => {
  for (const [what, code] of [
    ['a region not enabled in geo permissions', 21408],
    ['a number not reachable by SMS', 21612],
  ] as const) {
    it(`answers ${what} (${code}) with 400, never fails over to Vonage, and keeps Twilio's breaker closed after five`, async () => {
      const { hook, logs, breakerEvents } = twilioThenVonage()
      for (let i = 0; i < 5; i++) {
        const phone = ukNumber()
        await script('twilio', phone, { error: code })
        expect(await errorOf(await hook(phone))).toEqual({ http_code: 400, message: MESSAGES.recipientInvalid })
        expect(await vendorCalls('twilio', phone)).toHaveLength(1)
        expect(await vendorCalls('vonage', phone)).toHaveLength(0)
      }
      expect(breakerEvents()).toEqual([])
      expect(
        logs.filter((l) => l.msg === 'hook').every((l) => l.provider === 'twilio' && l.failed_over === undefined),
      ).toBe(true)

      // An honest user after them still goes to Twilio: nothing was held against it.
      const honest = ukNumber()
      expect(await (await hook(honest)).text()).toBe('{}')
      expect(await vendorCalls('twilio', honest)).toMatchObject([{ accepted: true, answer: { status: 201 } }])
      expect(await vendorCalls('vonage', honest)).toHaveLength(0)
    })
  }

  it('answers a code missing from the table with 400, no failover and no breaker count, and logs the code', async () => {
    const { hook, logs, breakerEvents } = twilioThenVonage({ SMS_HOOK_BREAKER_THRESHOLD: '1' })
    const phone = ukNumber()
    await script('twilio', phone, { error: 21617 })
    expect(await errorOf(await hook(phone))).toEqual({ http_code: 400, message: MESSAGES.recipientInvalid })
    expect(await vendorCalls('vonage', phone)).toHaveLength(0)
    // With a threshold of one, a single counted failure would have opened it.
    expect(breakerEvents()).toEqual([])
    expect(logs.find((l) => l.provider_code === '21617')).toMatchObject({
      level: 'error',
      msg: 'provider answered a code missing from its table',
      unrecognised: true,
      provider: 'twilio',
      kind: 'recipient_invalid',
      provider_message: expect.stringContaining('code 21617') as unknown,
    })
  })
})

describe('failover from Twilio to Vonage, through the fakes', () => {
  for (const [what, answer, code] of [
    ['refused credentials', { error: 20003 }, '20003'],
    ["Twilio's own 503", { error: 20503 }, '20503'],
  ] as const) {
    it(`sends through Vonage, once, after ${what} (${code})`, async () => {
      const { hook, logs } = twilioThenVonage()
      const phone = ukNumber()
      await script('twilio', phone, answer)
      expect(await (await hook(phone)).text()).toBe('{}')
      expect(await vendorCalls('twilio', phone)).toHaveLength(1)
      expect(await vendorCalls('vonage', phone)).toMatchObject([{ accepted: true }])
      expect(logs.find((l) => l.msg === 'hook')).toMatchObject({
        outcome: 'sent',
        provider: 'vonage',
        failed_over: [{ provider: 'twilio', code }],
      })
    })
  }
})

describe("a gateway's page instead of Twilio's answer, through the fake Twilio", () => {
  const pages: [string, ScriptedAnswer][] = [
    ["a proxy's HTML 502", { status: 502, raw: html('502 Bad Gateway') }],
    ["a gateway's HTML 504", { status: 504, raw: html('504 Gateway Time-out') }],
  ]
  for (const [what, answer] of pages) {
    it(`reads ${what} as an SMS that may have gone: answered success, sent once, no retry, no failover, not again on GoTrue's retry`, async () => {
      const { app, logs } = twilioThenVonage()
      const phone = ukNumber()
      await script('twilio', phone, answer, answer, answer)
      const { body } = signupPayload({ phone })
      expect(await (await app.request('/send-sms', signedPost(body))).text()).toBe('{}')
      expect(await vendorCalls('twilio', phone)).toHaveLength(1)
      expect(await vendorCalls('vonage', phone)).toHaveLength(0)
      expect(logs.find((l) => l.msg === 'hook')).toMatchObject({ provider: 'twilio', attempts: 1 })

      expect(await (await app.request('/send-sms', signedPost(body))).text()).toBe('{}')
      expect(await vendorCalls('twilio', phone)).toHaveLength(1)
    })

    it(`answers ${what} with 504 under SMS_HOOK_UNKNOWN_OUTCOME=error, sent once`, async () => {
      const { hook } = twilioThenVonage({ SMS_HOOK_UNKNOWN_OUTCOME: 'error' })
      const phone = ukNumber()
      await script('twilio', phone, answer, answer, answer)
      expect(await errorOf(await hook(phone))).toEqual({ http_code: 504, message: MESSAGES.outcomeUnknown })
      expect(await vendorCalls('twilio', phone)).toHaveLength(1)
      expect(await vendorCalls('vonage', phone)).toHaveLength(0)
    })
  }
})
