import { describe, expect, it } from 'vitest'
import type { Env } from '../../src/config/env.js'
import { ProviderError, type ProviderErrorKind } from '../../src/errors.js'
import type { HookEvent } from '../../src/hook/events.js'
import { MESSAGES } from '../../src/outcome.js'
import type { Provider } from '../../src/providers/types.js'
import { RUN_ON_MS } from '../../src/hook/deliver.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { manualClock, type ManualClock } from '../support/clock.js'
import { failing, vendorEnv, working } from '../support/routing.js'
import { signedPost } from '../support/sign.js'

const hang = () => new Promise<never>(() => {})

/** An app routing every number to `first`, then `second`. */
const twoProviders = (first: Provider, second: Provider, options: { env?: Env; clock?: ManualClock } = {}) =>
  makeApp({
    env: { ...vendorEnv(), SMS_HOOK_ROUTES: `*=${first.name},${second.name}`, ...options.env },
    providers: { [first.name]: first, [second.name]: second },
    ...(options.clock ? { clock: options.clock } : {}),
  })

const errorOf = async (response: Response) =>
  ((await response.json()) as { error?: { http_code: number; message: string } }).error

const outcomeEvent = (events: HookEvent[]) => events.find((e) => e.type === 'delivered' || e.type === 'failed')

describe('failover to the next provider of the route', () => {
  for (const kind of ['retryable', 'configuration'] as const) {
    it(`tries the next provider after a ${kind} failure, at once, and answers success from it`, async () => {
      const tencent = failing('tencent', kind, { code: 'T-1' })
      const aliyun = working('aliyun')
      const { app, logs, events } = twoProviders(tencent, aliyun)
      const response = await app.request('/send-sms', signedPost(signupPayload().body))
      expect(response.status).toBe(200)
      expect(await response.text()).toBe('{}')
      // With a provider left, a retryable failure is not retried on the same one.
      expect([tencent.calls.length, aliyun.calls.length]).toEqual([1, 1])
      expect(outcomeEvent(events)).toMatchObject({
        type: 'delivered',
        provider: 'aliyun',
        attempts: 2,
        failedAttempts: [{ provider: 'tencent', kind, code: 'T-1' }],
        skipped: [],
      })
      expect(logs.find((l) => l.msg === 'hook')).toMatchObject({
        level: 'info',
        outcome: 'sent',
        provider: 'aliyun',
        attempts: 2,
        failed_over: [{ provider: 'tencent', kind, code: 'T-1' }],
      })
      expect(
        logs.find((l) => l.msg === 'provider failed' || l.msg === 'provider rejected our configuration'),
      ).toMatchObject({
        provider: 'tencent',
        attempt: 1,
      })
    })
  }

  // outcome_unknown: the SMS may have gone, so the answer is success (no error object).
  const answeredAsIs: [ProviderErrorKind, number | undefined][] = [
    ['recipient_invalid', 400],
    ['rate_limited', 429],
    ['outcome_unknown', undefined],
  ]
  for (const [kind, status] of answeredAsIs) {
    it(`does not fail over after ${kind}: answers ${status ?? 'success'} from the first provider`, async () => {
      const tencent = failing('tencent', kind)
      const aliyun = working('aliyun')
      const { app, logs } = twoProviders(tencent, aliyun)
      expect((await errorOf(await app.request('/send-sms', signedPost(signupPayload().body))))?.http_code).toBe(status)
      expect([tencent.calls.length, aliyun.calls.length]).toEqual([1, 0])
      const line = logs.find((l) => l.msg === 'hook')!
      expect(line).toMatchObject({ provider: 'tencent', attempts: 1 })
      expect(line).not.toHaveProperty('failed_over')
    })
  }

  it('fails over after outcome_unknown, or an untyped failure, with SMS_HOOK_FAILOVER_ON_TIMEOUT=true', async () => {
    const env = { SMS_HOOK_FAILOVER_ON_TIMEOUT: 'true' }
    for (const first of [
      failing('tencent', 'outcome_unknown'),
      new ScriptedProvider(async () => {
        throw new TypeError('provider bug')
      }, 'tencent'),
    ]) {
      const aliyun = working('aliyun')
      const { app, events } = twoProviders(first, aliyun, { env })
      expect(await (await app.request('/send-sms', signedPost(signupPayload().body))).text()).toBe('{}')
      expect([first.calls.length, aliyun.calls.length]).toEqual([1, 1])
      expect(outcomeEvent(events)).toMatchObject({ failedAttempts: [{ provider: 'tencent', kind: 'outcome_unknown' }] })
    }
  })

  it('does not fail over an untyped failure without the opt-in: the SMS may have left', async () => {
    const tencent = new ScriptedProvider(async () => {
      throw new TypeError('provider bug')
    }, 'tencent')
    const aliyun = working('aliyun')
    const { app } = twoProviders(tencent, aliyun)
    // The SMS may have left: answered as success, so GoTrue keeps the code.
    expect(await (await app.request('/send-sms', signedPost(signupPayload().body))).json()).toEqual({})
    expect(aliyun.calls).toHaveLength(0)
  })

  it("answers with the last provider tried: its answer, not the first one's", async () => {
    const tencent = failing('tencent', 'retryable')
    const aliyun = failing('aliyun', 'configuration', { code: 'isv.SMS_SIGNATURE_ILLEGAL' })
    const { app, logs } = twoProviders(tencent, aliyun)
    const response = await app.request('/send-sms', signedPost(signupPayload({ legacy: true }).body))
    expect(response.status).toBe(500)
    expect(await errorOf(response)).toEqual({ http_code: 500, message: MESSAGES.configuration })
    expect(logs.find((l) => l.msg === 'hook')).toMatchObject({
      level: 'error',
      outcome: 'configuration',
      provider: 'aliyun',
      attempts: 2,
      failed_over: [{ provider: 'tencent', kind: 'retryable', code: 'tencent-retryable' }],
    })
  })

  it('retries a retryable failure on the last provider of the route, as with one provider', async () => {
    const tencent = failing('tencent', 'retryable')
    const aliyun = failing('aliyun', 'retryable')
    const { app, events } = twoProviders(tencent, aliyun)
    expect((await errorOf(await app.request('/send-sms', signedPost(signupPayload().body))))?.http_code).toBe(503)
    expect([tencent.calls.length, aliyun.calls.length]).toEqual([1, 3])
    expect(outcomeEvent(events)).toMatchObject({
      type: 'failed',
      provider: 'aliyun',
      attempts: 4,
      failedAttempts: ['tencent', 'aliyun', 'aliyun', 'aliyun'].map((provider) => ({ provider, kind: 'retryable' })),
    })
    expect(
      events.filter((e) => e.type === 'attempt_failed').map((e) => e.type === 'attempt_failed' && e.attempt),
    ).toEqual([1, 2, 3, 4])
  })

  it('tries three providers in order, and answers from the third', async () => {
    const [twilio, vonage, messagebird] = [
      failing('twilio', 'retryable'),
      failing('vonage', 'configuration'),
      working('messagebird'),
    ]
    const { app, logs } = makeApp({
      env: { ...vendorEnv(), SMS_HOOK_ROUTES: '*=twilio,vonage,messagebird' },
      providers: { twilio, vonage, messagebird },
    })
    expect((await app.request('/send-sms', signedPost(signupPayload().body))).status).toBe(200)
    expect(logs.find((l) => l.msg === 'hook')).toMatchObject({
      provider: 'messagebird',
      attempts: 3,
      failed_over: [
        { provider: 'twilio', kind: 'retryable' },
        { provider: 'vonage', kind: 'configuration' },
      ],
    })
  })
})

describe('one deadline for every attempt together', () => {
  it('gives the next provider its chance when enough time is left, with the same deadline', async () => {
    const clock = manualClock()
    const tencent = failing('tencent', 'retryable', { clock, tookMs: 3900 })
    const aliyun = working('aliyun')
    const { app } = twoProviders(tencent, aliyun, { clock, env: { SMS_HOOK_TIMEOUT_MS: '4500' } })
    const started = clock.now()
    expect((await app.request('/send-sms', signedPost(signupPayload().body))).status).toBe(200)
    expect(aliyun.calls).toHaveLength(1)
    // Each attempt's own bound, for a call that outlives the answer; the answer's deadline is the one budget.
    expect(tencent.calls[0]!.options.deadline).toBe(started + RUN_ON_MS)
    expect(aliyun.calls[0]!.options.deadline).toBe(started + 3900 + RUN_ON_MS)
  })

  it("starts no attempt with less than 500 ms left: the answer is the slow provider's", async () => {
    const clock = manualClock()
    const tencent = failing('tencent', 'retryable', { clock, tookMs: 4001 })
    const aliyun = working('aliyun')
    const { app, events } = twoProviders(tencent, aliyun, { clock, env: { SMS_HOOK_TIMEOUT_MS: '4500' } })
    const response = await app.request('/send-sms', signedPost(signupPayload().body))
    expect(await errorOf(response)).toEqual({ http_code: 503, message: MESSAGES.unavailable })
    expect(aliyun.calls).toHaveLength(0)
    expect(outcomeEvent(events)).toMatchObject({ type: 'failed', provider: 'tencent', attempts: 1 })
  })

  it('starts the next provider with exactly 500 ms left', async () => {
    const clock = manualClock()
    const tencent = failing('tencent', 'configuration', { clock, tookMs: 4000 })
    const aliyun = working('aliyun')
    const { app } = twoProviders(tencent, aliyun, { clock, env: { SMS_HOOK_TIMEOUT_MS: '4500' } })
    expect((await app.request('/send-sms', signedPost(signupPayload().body))).status).toBe(200)
    expect(aliyun.calls).toHaveLength(1)
  })

  it('ends the call when a provider is still busy at the deadline, even with SMS_HOOK_FAILOVER_ON_TIMEOUT', async () => {
    const tencent = new ScriptedProvider(hang, 'tencent')
    const aliyun = working('aliyun')
    const { app } = twoProviders(tencent, aliyun, {
      env: { SMS_HOOK_TIMEOUT_MS: '150', SMS_HOOK_FAILOVER_ON_TIMEOUT: 'true' },
    })
    // The SMS may have left: answered as success, so GoTrue keeps the code.
    expect(await (await app.request('/send-sms', signedPost(signupPayload().body))).json()).toEqual({})
    expect(aliyun.calls).toHaveLength(0)
  })

  it("answers at the hook's deadline while the next provider runs on, its signal not yet aborted", async () => {
    let aborted = false
    const clock = manualClock()
    // 500 ms left for the second provider, which never answers.
    const tencent = failing('tencent', 'retryable', { clock, tookMs: 4000 })
    const aliyun = new ScriptedProvider((_m, options) => {
      options.signal.addEventListener('abort', () => (aborted = true))
      return hang()
    }, 'aliyun')
    const { app } = twoProviders(tencent, aliyun, { clock, env: { SMS_HOOK_TIMEOUT_MS: '4500' } })
    const started = clock.now()
    const response = await app.request('/send-sms', signedPost(signupPayload({ time: started }).body))
    expect(await response.json()).toEqual({})
    expect(aborted).toBe(false)
    expect(aliyun.calls[0]!.options.deadline).toBe(started + 4000 + RUN_ON_MS)
  })
})

describe('one OTP, one SMS, across failover', () => {
  it("answers GoTrue's retry after a failover from the stored outcome, sending nothing more", async () => {
    const tencent = failing('tencent', 'retryable')
    const aliyun = working('aliyun')
    const { app, logs } = twoProviders(tencent, aliyun)
    const { body } = signupPayload()
    expect((await app.request('/send-sms', signedPost(body))).status).toBe(200)
    expect(await (await app.request('/send-sms', signedPost(body))).text()).toBe('{}')
    expect([tencent.calls.length, aliyun.calls.length]).toEqual([1, 1])
    expect(logs.filter((l) => l.msg === 'hook').map((l) => [l.outcome, l.provider])).toEqual([
      ['sent', 'aliyun'],
      ['replayed', 'aliyun'],
    ])
  })

  it('never sends again once a provider may have sent, whatever the next one answered', async () => {
    const tencent = failing('tencent', 'outcome_unknown')
    const aliyun = failing('aliyun', 'retryable')
    const { app } = twoProviders(tencent, aliyun, { env: { SMS_HOOK_FAILOVER_ON_TIMEOUT: 'true' } })
    const { body } = signupPayload()
    // The first provider may have sent it: answered as success so GoTrue keeps the code, and a retry replays it.
    expect(await (await app.request('/send-sms', signedPost(body))).json()).toEqual({})
    expect(await (await app.request('/send-sms', signedPost(body))).json()).toEqual({})
    expect([tencent.calls.length, aliyun.calls.length]).toEqual([1, 3])
  })

  it("lets GoTrue's retry send when no provider could have sent", async () => {
    const tencent = failing('tencent', 'configuration')
    const aliyun = new ScriptedProvider(async (m, _o, call) => {
      if (call === 1) throw new ProviderError('configuration', 'bad template')
      return { messageId: m.reference }
    }, 'aliyun')
    const { app } = twoProviders(tencent, aliyun)
    const { body } = signupPayload()
    expect((await errorOf(await app.request('/send-sms', signedPost(body))))?.http_code).toBe(500)
    expect((await app.request('/send-sms', signedPost(body))).status).toBe(200)
    expect([tencent.calls.length, aliyun.calls.length]).toEqual([2, 2])
  })
})

describe('providers that cannot reach a number are passed over (Provider.reaches)', () => {
  // Alibaba Cloud without GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE reaches mainland China mobiles only: it would read
  // the E.164 digits of another country's number as a mainland one.
  const abroad = () => signupPayload({ phone: `4477009${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}` })

  it("sends a number abroad through the route's next provider, without trying Alibaba Cloud or counting it", async () => {
    const twilio = working('twilio')
    const { app, events } = makeApp({
      env: { ...vendorEnv(), SMS_HOOK_ROUTES: '*=aliyun,twilio' },
      providers: { twilio },
    })
    const response = await app.request('/send-sms', signedPost(abroad().body))
    expect(await response.text()).toBe('{}')
    expect(twilio.calls).toHaveLength(1)
    expect(outcomeEvent(events)).toMatchObject({
      type: 'delivered',
      provider: 'twilio',
      attempts: 1,
      failedAttempts: [],
      skipped: [],
    })
    expect(events.some((e) => e.type === 'breaker')).toBe(false)
  })

  it('answers no_route (400 "cannot receive SMS here") when no provider of the route reaches it', async () => {
    const { app, events } = makeApp({ env: { ...vendorEnv(), SMS_HOOK_ROUTES: '*=aliyun' } })
    const response = await app.request('/send-sms', signedPost(abroad().body))
    expect(await errorOf(response)).toEqual({ http_code: 400, message: MESSAGES.noRoute })
    expect(outcomeEvent(events)).toMatchObject({ type: 'failed', attempts: 0 })
  })
})
