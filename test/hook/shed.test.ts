/** Every answer inside GoTrue's 5 s under overload: the deadline counts from arrival, and load is shed, not served late. */
import { describe, expect, it } from 'vitest'
import { MESSAGES } from '../../src/outcome.js'
import type { SendResult } from '../../src/providers/types.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { fresh } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'

const deferred = <T>() => {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}
const busy = { error: { http_code: 503, message: MESSAGES.busy } }

describe('shedding load', () => {
  it('answers 503 busy at once past SMS_HOOK_MAX_IN_FLIGHT, calling no provider and holding no key', async () => {
    const gate = deferred<SendResult>()
    const provider = new ScriptedProvider(() => gate.promise)
    const { app, logs } = makeApp({ provider, env: { SMS_HOOK_MAX_IN_FLIGHT: '2' } })
    const [a, b, c] = [fresh(), fresh(), fresh()]
    const held = [app.request('/send-sms', signedPost(a.body)), app.request('/send-sms', signedPost(b.body))]
    while (provider.calls.length < 2) await new Promise((r) => setTimeout(r, 5))
    const shed = await app.request('/send-sms', signedPost(c.body))
    expect(await shed.json()).toEqual(busy)
    expect(provider.calls).toHaveLength(2)
    expect(logs.find((l) => l.msg === 'hook shed: too busy to answer in time')).toMatchObject({
      level: 'warn',
      status: 503,
    })

    gate.resolve({ messageId: 'm' })
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200])
    // Nothing was claimed for the shed call: GoTrue's retry sends it.
    expect(await (await app.request('/send-sms', signedPost(c.body))).text()).toBe('{}')
    expect(provider.calls).toHaveLength(3)
  })

  it('sheds a call that reaches its claim with less than 500 ms of its budget left, counted from arrival', async () => {
    const now = Date.now()
    for (const [waited, expected] of [
      [4001, 'busy'],
      [3999, 'sent'],
    ] as const) {
      const provider = new ScriptedProvider()
      const { app } = makeApp({ provider, clock: { now: () => now }, arrivedAt: () => now - waited })
      const response = await app.request('/send-sms', signedPost(fresh().body))
      if (expected === 'busy') {
        expect(await response.json()).toEqual(busy)
        expect(provider.calls).toHaveLength(0)
      } else {
        expect(await response.text()).toBe('{}')
      }
    }
  })

  it("gives the provider the deadline of the arrival, not of the handler's start", async () => {
    let arrived = 0
    const provider = new ScriptedProvider(() => new Promise<never>(() => {}))
    const { app } = makeApp({
      provider,
      env: { SMS_HOOK_TIMEOUT_MS: '1500' },
      arrivedAt: () => (arrived = Date.now() - 300),
    })
    const response = await app.request('/send-sms', signedPost(fresh().body))
    // Answered (as success: the provider may be sending) 1.5 s after the arrival, not after the handler's start.
    expect(await response.json()).toEqual({})
    expect(Date.now() - arrived).toBeLessThan(1500 + 250)
    expect(Date.now() - arrived).toBeGreaterThanOrEqual(1500 - 5)
  })
})
