import { describe, expect, it } from 'vitest'
import { ProviderError } from '../../src/errors.js'
import { RUN_ON_MS } from '../../src/hook/deliver.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { fresh, signupPayload } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'

const hang = () => new Promise<never>(() => {})

describe('the hook always answers within SMS_HOOK_TIMEOUT_MS', () => {
  it('answers success when a provider is still at work at the deadline (the SMS may be on its way), and never sends again', async () => {
    const provider = new ScriptedProvider(hang)
    const { app, logs } = makeApp({ provider, env: { SMS_HOOK_TIMEOUT_MS: '200' } })
    const { body } = fresh()
    // The provider never settles: an answer at all shows that the deadline settled the call.
    const response = await app.request('/send-sms', signedPost(body))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({})
    expect(logs.find((l) => l.msg === 'hook')).toMatchObject({
      level: 'warn',
      outcome: 'outcome_unknown',
      status: 200,
      key: expect.any(String),
    })

    // GoTrue's retry finds the first call still sending: answered alike, nothing sent again.
    const repeat = await app.request('/send-sms', signedPost(body))
    expect(await repeat.json()).toEqual({})
    expect(provider.calls).toHaveLength(1)
  })

  it('answers 504 instead with SMS_HOOK_UNKNOWN_OUTCOME=error', async () => {
    const provider = new ScriptedProvider(hang)
    const { app } = makeApp({ provider, env: { SMS_HOOK_TIMEOUT_MS: '200', SMS_HOOK_UNKNOWN_OUTCOME: 'error' } })
    const response = await app.request('/send-sms', signedPost(fresh().body))
    expect(await response.json()).toEqual({ error: { http_code: 504, message: expect.any(String) } })
    const legacy = await app.request('/send-sms', signedPost(signupPayload({ legacy: true }).body))
    expect(legacy.status).toBe(504)
  })

  it('does not abort the provider at the deadline: its call runs on, with a signal and deadline of its own', async () => {
    let aborted = false
    const provider = new ScriptedProvider((_m, options) => {
      options.signal.addEventListener('abort', () => (aborted = true))
      return hang()
    })
    const { app } = makeApp({ provider, env: { SMS_HOOK_TIMEOUT_MS: '150' } })
    const before = Date.now()
    const response = await app.request('/send-sms', signedPost(signupPayload({ legacy: true }).body))
    expect(response.status).toBe(200)
    expect(aborted).toBe(false)
    const { deadline } = provider.calls[0]!.options
    expect(deadline).toBeGreaterThanOrEqual(before + RUN_ON_MS)
  })
})

describe('retries inside the deadline (time by a manual clock that stands still, so only the budget decides)', () => {
  const stopped = Date.now()
  const stoppedClock = { now: () => stopped }
  const alwaysRetryable = (retryAfterMs?: number) =>
    new ScriptedProvider(async () => {
      throw new ProviderError('retryable', 'throttled', retryAfterMs === undefined ? {} : { retryAfterMs })
    })
  const calls = async (timeoutMs: number, provider: ScriptedProvider) => {
    const { app } = makeApp({ provider, clock: stoppedClock, env: { SMS_HOOK_TIMEOUT_MS: String(timeoutMs) } })
    const response = await app.request('/send-sms', signedPost(fresh().body))
    expect(await response.json()).toEqual({ error: { http_code: 503, message: expect.any(String) } })
    return provider.calls.length
  }

  it('starts a retry only when at least 500 ms stay after the pause (100 ms before the second attempt)', async () => {
    expect(await calls(599, alwaysRetryable())).toBe(1)
    expect(await calls(600, alwaysRetryable())).toBe(2)
  })

  it('doubles the pause: 200 ms before the third attempt, and never more than three attempts', async () => {
    expect(await calls(699, alwaysRetryable())).toBe(2)
    expect(await calls(700, alwaysRetryable())).toBe(3)
    expect(await calls(4800, alwaysRetryable())).toBe(3)
  })

  it("takes the provider's retry hint, but never waits more than a second", async () => {
    // A 5 s hint would leave no time at all; capped at 1 s, 2.6 s of budget allows two pauses and three attempts.
    expect(await calls(2600, alwaysRetryable(5000))).toBe(3)
    expect(await calls(1499, alwaysRetryable(5000))).toBe(1)
    expect(await calls(600, alwaysRetryable(50))).toBe(3)
  })
})
