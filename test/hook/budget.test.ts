/**
 * GoTrue's one 5 s budget for all its attempts at one call, counted from `metadata.time`, and the line between
 * "nothing was sent" (an error) and "the SMS may have gone" (success, so GoTrue keeps the code).
 */
import { describe, expect, it } from 'vitest'
import { ProviderError } from '../../src/errors.js'
import { MESSAGES } from '../../src/outcome.js'
import type { SendResult } from '../../src/providers/types.js'
import { MemoryIdempotencyStore } from '../../src/store/memory.js'
import type { IdempotencyStore } from '../../src/store/types.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'

const busy = { error: { http_code: 503, message: MESSAGES.busy } }
const deferred = <T>() => {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

/** A memory store whose `markSending` is replaced: slow, or failing as a shared state that stopped answering. */
const storeWithMark = (
  markSending: (memory: MemoryIdempotencyStore, key: string, token: string) => Promise<boolean>,
  local: boolean,
) => {
  const memory = new MemoryIdempotencyStore({ clock: { now: () => Date.now() } })
  const store: IdempotencyStore = {
    ...(local ? { local: true } : {}),
    claim: (key, leaseMs) => memory.claim(key, leaseMs),
    markSending: (key, token) => markSending(memory, key, token),
    wait: (key, signal) => memory.wait(key, signal),
    markedSending: (key) => memory.markedSending(key),
    complete: (key, token, outcome, ttlMs) => memory.complete(key, token, outcome, ttlMs),
    release: (key, token) => memory.release(key, token),
  }
  return store
}

describe('one budget per GoTrue call, from metadata.time', () => {
  const now = Date.now()
  const stopped = { now: () => now }

  it("answers busy at once, nothing claimed, when less than 500 ms of GoTrue's 5 s (less 400 ms for the way back) is left", async () => {
    for (const [sinceCall, expected] of [
      [4101, 'busy'],
      [4099, 'sent'],
    ] as const) {
      const provider = new ScriptedProvider()
      const { app } = makeApp({ provider, clock: stopped })
      const { body } = signupPayload({ time: now - sinceCall })
      const response = await app.request('/send-sms', signedPost(body))
      if (expected === 'busy') {
        expect(await response.json()).toEqual(busy)
        expect(provider.calls).toHaveLength(0)
      } else {
        expect(await response.json()).toEqual({})
        expect(provider.calls).toHaveLength(1)
      }
    }
  })

  it('does not trust a metadata.time more than 1 s ahead or more than 5 minutes old, and says so once a minute', async () => {
    const provider = new ScriptedProvider()
    const { app, logs } = makeApp({ provider, clock: stopped })
    for (const time of [now + 1001, now - 5 * 60_000 - 1]) {
      expect(await (await app.request('/send-sms', signedPost(signupPayload({ time }).body))).json()).toEqual({})
    }
    expect(provider.calls).toHaveLength(2)
    const warnings = logs.filter((l) => l.msg === 'metadata.time is far from this clock: check NTP')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ level: 'warn', age_ms: -1001 })
  })

  it("answers GoTrue's retry 2 s into the call about 2.6 s later, not after a fresh SMS_HOOK_TIMEOUT_MS", async () => {
    const provider = new ScriptedProvider(() => new Promise<never>(() => {}))
    const { app } = makeApp({ provider })
    // The retry arrives 4 s into GoTrue's budget: 600 ms are left of it, where a fresh 4.5 s would outlive GoTrue.
    const { body } = signupPayload({ time: Date.now() - 4000 })
    const started = Date.now()
    const response = await app.request('/send-sms', signedPost(body))
    expect(await response.json()).toEqual({})
    expect(Date.now() - started).toBeLessThan(4000)
  })
})

describe('nothing sent is never "may have sent"', () => {
  it('answers busy, and holds nothing against the breaker, when the deadline passes before any provider was called', async () => {
    const provider = new ScriptedProvider()
    // Marking the claim sending takes longer than the whole budget: the provider is never reached.
    let slow = true
    const store = storeWithMark(async (memory, key, token) => {
      if (slow) await new Promise((r) => setTimeout(r, 300))
      return memory.markSending(key, token)
    }, true)
    const { app, events } = makeApp({
      provider,
      store,
      env: { SMS_HOOK_TIMEOUT_MS: '200', SMS_HOOK_BREAKER_THRESHOLD: '1' },
    })
    const response = await app.request('/send-sms', signedPost(signupPayload().body))
    expect(await response.json()).toEqual(busy)
    expect(provider.calls).toHaveLength(0)
    expect(events.some((e) => e.type === 'breaker')).toBe(false)
    // With a threshold of one failure, a counted failure would have opened the breaker: the next call is sent.
    slow = false
    expect(await (await app.request('/send-sms', signedPost(signupPayload().body))).json()).toEqual({})
    expect(provider.calls).toHaveLength(1)
  })
})

describe('a repeat that runs out of time while the first attempt holds the key', () => {
  const twoCalls = async (markMs: number) => {
    const provider = new ScriptedProvider(async (message) => {
      await new Promise((r) => setTimeout(r, 400))
      return { messageId: `msg-${message.reference}` }
    })
    const store = storeWithMark(async (memory, key, token) => {
      await new Promise((r) => setTimeout(r, markMs))
      return memory.markSending(key, token)
    }, true)
    const { app } = makeApp({ provider, store, env: { SMS_HOOK_TIMEOUT_MS: '200' } })
    const { body } = signupPayload()
    const first = app.request('/send-sms', signedPost(body))
    await new Promise((r) => setTimeout(r, 20))
    // GoTrue's retry of the same call, reaching the hook while the first attempt still holds the key.
    const repeat = await (await app.request('/send-sms', signedPost(body))).json()
    await first
    return { repeat, provider }
  }

  it('answers busy (nothing sent) when the first attempt had not yet marked the key sending', async () => {
    // The first attempt is stuck before its mark past the deadline, so it never calls the provider.
    const { repeat, provider } = await twoCalls(1000)
    expect(repeat).toEqual(busy)
    expect(provider.calls).toHaveLength(0)
  })

  it('answers as sent when the first attempt had marked it and was calling the provider', async () => {
    const { repeat, provider } = await twoCalls(0)
    expect(repeat).toEqual({})
    expect(provider.calls).toHaveLength(1)
  })
})

describe('a provider call that outlives the answer', () => {
  it('runs on, and its delivery is recorded for the key, logged and replayed', async () => {
    const gate = deferred<SendResult>()
    const provider = new ScriptedProvider(() => gate.promise)
    const { app, events, logs } = makeApp({ provider, env: { SMS_HOOK_TIMEOUT_MS: '150' } })
    const { body } = signupPayload()
    expect(await (await app.request('/send-sms', signedPost(body))).json()).toEqual({})
    gate.resolve({ messageId: 'late-id' })
    await expect
      .poll(() => events.find((e) => e.type === 'late_outcome'))
      .toMatchObject({
        outcome: { ok: true, provider: 'scripted', messageId: 'late-id' },
      })
    expect(logs.find((l) => l.msg.startsWith('provider answered after the hook had answered'))).toMatchObject({
      outcome: 'sent',
    })
    // GoTrue's retry now finds the real outcome.
    await expect.poll(async () => (await app.request('/send-sms', signedPost(body))).status).toBe(200)
    expect(events.filter((e) => e.type === 'replayed').at(-1)).toMatchObject({
      outcome: { ok: true, messageId: 'late-id' },
    })
    expect(provider.calls).toHaveLength(1)
  })

  it('logs a late failure with nothing sent at warn, with the key', async () => {
    const gate = deferred<SendResult>()
    const provider = new ScriptedProvider(() => gate.promise)
    const { app, logs } = makeApp({ provider, env: { SMS_HOOK_TIMEOUT_MS: '150' } })
    expect(await (await app.request('/send-sms', signedPost(signupPayload().body))).json()).toEqual({})
    gate.reject(new ProviderError('recipient_invalid', 'not a mobile number'))
    await expect
      .poll(() => logs.find((l) => l.msg === 'provider answered after the hook had answered: not sent'))
      .toMatchObject({
        level: 'warn',
        outcome: 'recipient_invalid',
        key: expect.any(String),
      })
  })
})

describe('SMS_HOOK_STATE_DOWN=send after the guard already ran', () => {
  it('counts the call against the limits once when marking its claim sending fails', async () => {
    const { StateUnavailableError } = await import('../../src/errors.js')
    const { MemoryRateCounters } = await import('../../src/store/memory-counters.js')
    const hitsFor = async (markFails: boolean) => {
      const inner = new MemoryRateCounters({ clock: { now: () => Date.now() } })
      let hits = 0
      const counters = { hit: (key: string, windowMs: number) => (hits++, inner.hit(key, windowMs)) }
      const store = storeWithMark(async (memory, key, token) => {
        if (markFails) throw new StateUnavailableError('redis: connection lost')
        return memory.markSending(key, token)
      }, false)
      const provider = new ScriptedProvider()
      const { app } = makeApp({ provider, store, counters, env: { SMS_HOOK_LIMIT_PER_NUMBER: '5/1h' } })
      expect(await (await app.request('/send-sms', signedPost(signupPayload().body))).json()).toEqual({})
      expect(provider.calls).toHaveLength(1)
      return hits
    }
    const healthy = await hitsFor(false)
    expect(healthy).toBeGreaterThan(0)
    expect(await hitsFor(true)).toBe(healthy)
  })
})
