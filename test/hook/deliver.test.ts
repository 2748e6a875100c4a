import { describe, expect, it } from 'vitest'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { fresh, signupPayload } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'

const hang = () => new Promise<never>(() => {})

describe('the hook always answers within SMS_HOOK_TIMEOUT_MS', () => {
  it('answers 504 (outcome unknown) when a provider ignores its deadline, and never sends again', async () => {
    const provider = new ScriptedProvider(hang)
    const { app, logs } = makeApp({ provider, env: { SMS_HOOK_TIMEOUT_MS: '200' } })
    const { body } = fresh()
    const started = Date.now()
    const response = await app.request('/send-sms', signedPost(body))
    const elapsed = Date.now() - started
    // Bound generous enough for a loaded machine: the point is that it answers at all, not how fast.
    expect(elapsed).toBeLessThan(2000)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ error: { http_code: 504, message: expect.any(String) } })
    expect(logs.find((l) => l.msg === 'hook')).toMatchObject({ outcome: 'outcome_unknown', status: 504 })

    expect(((await (await app.request('/send-sms', signedPost(body))).json()) as { error: { http_code: number } }).error.http_code).toBe(504)
    expect(provider.calls).toHaveLength(1)
  })

  it('aborts the provider\'s signal at the deadline and passes the deadline along', async () => {
    let aborted = false
    const provider = new ScriptedProvider((_m, options) => {
      options.signal.addEventListener('abort', () => (aborted = true))
      return hang()
    })
    const { app } = makeApp({ provider, env: { SMS_HOOK_TIMEOUT_MS: '150' } })
    const before = Date.now()
    const response = await app.request('/send-sms', signedPost(signupPayload({ legacy: true }).body))
    expect(response.status).toBe(504)
    expect(aborted).toBe(true)
    const { deadline } = provider.calls[0]!.options
    expect(deadline).toBeGreaterThanOrEqual(before + 150)
    expect(deadline).toBeLessThanOrEqual(Date.now())
  })
})
