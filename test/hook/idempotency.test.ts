import { describe, expect, it, vi } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { ProviderError } from '../../src/errors.js'
import { once } from '../../src/hook/idempotency.js'
import { MESSAGES, refused, type Outcome } from '../../src/outcome.js'
import { MemoryIdempotencyStore } from '../../src/store/memory.js'
import type { IdempotencyStore } from '../../src/store/types.js'
import type { SendResult } from '../../src/providers/types.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { manualClock } from '../support/clock.js'
import { fixtures, fresh } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'
import { claimToken } from '../store/contract.js'

const deferred = <T>() => {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

describe('one OTP, one SMS', () => {
  it("answers GoTrue's retry (same body, new webhook-id) with success and sends nothing more", async () => {
    const provider = new ScriptedProvider()
    const { app, logs } = makeApp({ provider })
    const { body } = fresh()
    const first = await app.request('/send-sms', signedPost(body))
    const retry = await app.request('/send-sms', signedPost(body))
    expect([first.status, retry.status]).toEqual([200, 200])
    expect(await retry.text()).toBe('{}')
    expect(provider.calls).toHaveLength(1)
    expect(logs.filter((l) => l.msg === 'hook').map((l) => l.outcome)).toEqual(['sent', 'replayed'])
  })

  it('keys legacy payloads by the body hash', async () => {
    const provider = new ScriptedProvider()
    const { app } = makeApp({ provider })
    await app.request('/send-sms', signedPost(fixtures.legacy))
    await app.request('/send-sms', signedPost(fixtures.legacy))
    expect(provider.calls).toHaveLength(1)
    const otherOtp = fixtures.legacy.replace('118204', '118205')
    await app.request('/send-sms', signedPost(otherOtp))
    expect(provider.calls).toHaveLength(2)
  })

  it('makes a repeat that arrives in flight wait for the first and answer from its outcome', async () => {
    const gate = deferred<SendResult>()
    const provider = new ScriptedProvider(() => gate.promise)
    const { app } = makeApp({ provider })
    const { body } = fresh()
    const first = app.request('/send-sms', signedPost(body))
    await new Promise((r) => setTimeout(r, 20))
    const repeat = app.request('/send-sms', signedPost(body))
    await new Promise((r) => setTimeout(r, 20))
    gate.resolve({ messageId: 'm-1' })
    const [a, b] = await Promise.all([first, repeat])
    expect([a.status, b.status]).toEqual([200, 200])
    expect(provider.calls).toHaveLength(1)
  })

  it('lets a repeat send when the first failed with nothing sent', async () => {
    const provider = new ScriptedProvider(async (m, _o, call) => {
      if (call === 1) throw new ProviderError('rate_limited', 'flow control')
      return { messageId: m.reference }
    })
    const { app } = makeApp({ provider })
    const { body } = fresh()
    const first = await app.request('/send-sms', signedPost(body))
    expect(await first.json()).toEqual({ error: expect.objectContaining({ http_code: 429 }) })
    const repeat = await app.request('/send-sms', signedPost(body))
    expect(await repeat.text()).toBe('{}')
    expect(provider.calls).toHaveLength(2)
  })

  it('never resends when the outcome is unknown: the repeat gets the same answer, success', async () => {
    const provider = new ScriptedProvider(async () => {
      throw new ProviderError('outcome_unknown', 'connection reset after sending')
    })
    const { app } = makeApp({ provider })
    const { body } = fresh()
    const first = await (await app.request('/send-sms', signedPost(body))).json()
    const repeat = await (await app.request('/send-sms', signedPost(body))).json()
    expect([first, repeat]).toEqual([{}, {}])
    expect(provider.calls).toHaveLength(1)
  })

  it('answers a waiting repeat as success (in progress) when its own deadline passes first, while the first still delivers', async () => {
    // Two replicas sharing one store: the first holds the call longer than the repeat may wait.
    const gate = deferred<SendResult>()
    const provider = new ScriptedProvider(() => gate.promise)
    const store = new MemoryIdempotencyStore({ clock: systemClock })
    const patient = makeApp({ provider, store, env: { SMS_HOOK_TIMEOUT_MS: '4000' } })
    const hasty = makeApp({ provider, store, env: { SMS_HOOK_TIMEOUT_MS: '200' } })
    const { body } = fresh()
    const first = patient.app.request('/send-sms', signedPost(body))
    while (provider.calls.length === 0) await new Promise((r) => setTimeout(r, 5))
    const repeat = await hasty.app.request('/send-sms', signedPost(body))
    // The first call is sending: the SMS may arrive, so GoTrue must keep the code.
    expect(await repeat.json()).toEqual({})
    expect(hasty.logs.find((l) => l.msg === 'hook')).toMatchObject({
      level: 'warn',
      outcome: 'in_progress',
      status: 200,
    })
    gate.resolve({ messageId: 'late' })
    const answered = await first
    expect(answered.status).toBe(200)
    expect(await answered.text()).toBe('{}')
    expect(provider.calls).toHaveLength(1)
  })
})

describe('when the idempotency store fails', () => {
  const brokenStore = (failOn: 'claim' | 'complete') => {
    const inner = new MemoryIdempotencyStore({ clock: systemClock })
    return {
      claim: (key: string, leaseMs: number) =>
        failOn === 'claim' ? Promise.reject(new Error('store down')) : inner.claim(key, leaseMs),
      markSending: inner.markSending.bind(inner),
      wait: inner.wait.bind(inner),
      complete: () => Promise.reject(new Error('store down')),
      release: inner.release.bind(inner),
    }
  }

  it('sends nothing and answers 503 when it cannot claim the key', async () => {
    const provider = new ScriptedProvider()
    const { app, logs } = makeApp({ provider, store: brokenStore('claim') })
    const response = await app.request('/send-sms', signedPost(fresh().body))
    expect(((await response.json()) as { error: { http_code: number } }).error.http_code).toBe(503)
    expect(provider.calls).toHaveLength(0)
    expect(logs.some((l) => l.level === 'error' && l.msg === 'idempotency store failed')).toBe(true)
  })

  it('still answers success when the SMS went out but recording it failed', async () => {
    const provider = new ScriptedProvider()
    const { app, logs } = makeApp({ provider, store: brokenStore('complete') })
    const response = await app.request('/send-sms', signedPost(fresh().body))
    expect(await response.text()).toBe('{}')
    expect(provider.calls).toHaveLength(1)
    expect(logs.some((l) => l.level === 'error' && l.msg === 'idempotency store failed to record an outcome')).toBe(
      true,
    )
  })
})

describe('once() when an owner died mid-send', () => {
  const delivered: Outcome = { ok: true, provider: 'test', messageId: 'm-1' }
  const outcomeUnknown = refused(504, 'outcome_unknown', MESSAGES.outcomeUnknown, true)
  const options = { leaseMs: 1000, waitSignal: () => AbortSignal.timeout(2000) }

  const setup = () => {
    const clock = manualClock()
    const store = new MemoryIdempotencyStore({ clock })
    const send = vi.fn(async () => ({ outcome: delivered }))
    return { clock, store, send }
  }

  it('answers 504 outcome_unknown without sending when the dead owner had marked the key sending, and replays it', async () => {
    const { clock, store, send } = setup()
    expect(await store.markSending('k', await claimToken(store, 'k', 1000))).toBe(true)
    clock.advance(1001)
    expect(await once(store, 'k', options, send)).toEqual({ ...outcomeUnknown, replayed: false })
    expect(await once(store, 'k', options, send)).toEqual({ ...outcomeUnknown, replayed: true })
    expect(send).not.toHaveBeenCalled()
  })

  it('sends when the dead owner died before marking the key sending', async () => {
    const { clock, store, send } = setup()
    await claimToken(store, 'k', 1000)
    clock.advance(1001)
    expect(await once(store, 'k', options, send)).toEqual({ ...delivered, replayed: false })
    expect(send).toHaveBeenCalledTimes(1)
  })

  it('marks the key sending before it calls the provider', async () => {
    const { clock, store } = setup()
    const send = vi.fn(async () => {
      // Were this owner to die now, the key would be handed on without a resend.
      clock.advance(1001)
      expect((await store.claim('k', 1000)).status).toBe('abandoned')
      return { outcome: delivered }
    })
    await once(store, 'k', options, send)
    expect(send).toHaveBeenCalledTimes(1)
  })

  it('does not send once its lease is lost before the mark, and answers from the owner that took the key over', async () => {
    const { clock, store, send } = setup()
    const slowStore: IdempotencyStore = {
      claim: async (key, leaseMs) => {
        const claim = await store.claim(key, leaseMs)
        // Stalled past its lease: another caller claims the key and delivers.
        clock.advance(leaseMs + 1)
        const other = await claimToken(store, key, leaseMs)
        await store.markSending(key, other)
        await store.complete(key, other, delivered, 60_000)
        return claim
      },
      markSending: (key, token) => store.markSending(key, token),
      wait: (key, signal) => store.wait(key, signal),
      complete: (key, token, outcome, ttlMs) => store.complete(key, token, outcome, ttlMs),
      release: (key, token) => store.release(key, token),
    }
    expect(await once(slowStore, 'k', options, send)).toEqual({ ...delivered, replayed: true })
    expect(send).not.toHaveBeenCalled()
  })

  it('still answers 504 when recording it fails; the mark stays, so the next repeat is refused too', async () => {
    const { clock, store, send } = setup()
    expect(await store.markSending('k', await claimToken(store, 'k', 1000))).toBe(true)
    clock.advance(1001)
    const failing: IdempotencyStore = {
      claim: (key, leaseMs) => store.claim(key, leaseMs),
      markSending: (key, token) => store.markSending(key, token),
      wait: (key, signal) => store.wait(key, signal),
      complete: () => Promise.reject(new Error('store down')),
      release: (key, token) => store.release(key, token),
    }
    const onRecordError = vi.fn()
    expect(await once(failing, 'k', { ...options, onRecordError }, send)).toEqual({
      ...outcomeUnknown,
      replayed: false,
    })
    expect(onRecordError).toHaveBeenCalledTimes(1)
    clock.advance(1001)
    expect(await once(store, 'k', options, send)).toEqual({ ...outcomeUnknown, replayed: false })
    expect(send).not.toHaveBeenCalled()
  })
})

describe('once() with a check inside the claim (the guard)', () => {
  const delivered: Outcome = { ok: true, provider: 'test', messageId: 'm-1' }
  const final = { ...refused(429, 'too_many_requests', MESSAGES.tooManyRequests), final: true }
  const options = { leaseMs: 1000, waitSignal: () => AbortSignal.timeout(2000) }

  const setup = () => {
    const clock = manualClock()
    return { clock, store: new MemoryIdempotencyStore({ clock }), send: vi.fn(async () => ({ outcome: delivered })) }
  }

  it('stores a final refusal without sending, and replays it without checking again', async () => {
    const { store, send } = setup()
    const check = vi.fn(async () => final)
    expect(await once(store, 'k', { ...options, check }, send)).toEqual({ ...final, replayed: false })
    expect(await once(store, 'k', { ...options, check }, send)).toEqual({ ...final, replayed: true })
    expect(check).toHaveBeenCalledTimes(1)
    expect(send).not.toHaveBeenCalled()
  })

  it('releases the key after a refusal that is not final, so a repeat checks again and may send', async () => {
    const { store, send } = setup()
    const unavailable = refused(503, 'state_unavailable', MESSAGES.unavailable)
    const check = vi
      .fn<() => Promise<typeof unavailable | undefined>>()
      .mockResolvedValueOnce(unavailable)
      .mockResolvedValue(undefined)
    expect(await once(store, 'k', { ...options, check }, send)).toEqual({ ...unavailable, replayed: false })
    expect(await once(store, 'k', { ...options, check }, send)).toEqual({ ...delivered, replayed: false })
    expect(check).toHaveBeenCalledTimes(2)
    expect(send).toHaveBeenCalledTimes(1)
  })

  it('checks after claiming and before marking: an owner that dies in the check leaves a key that may be sent', async () => {
    const { clock, store, send } = setup()
    const check = vi.fn(async () => {
      expect((await store.claim('k', 1000)).status).toBe('in_flight')
      clock.advance(1001)
      // Not marked sending yet: once the lease lapses, the next caller may send rather than answer 504.
      const next = await store.claim('k', 1000)
      expect(next.status).toBe('claimed')
      await store.complete('k', (next as { token: string }).token, delivered, 60_000)
      return undefined
    })
    // This owner lost its lease in the check: it never marks nor sends, and answers from the next one.
    expect(await once(store, 'k', { ...options, check }, send)).toEqual({ ...delivered, replayed: true })
    expect(send).not.toHaveBeenCalled()
  })

  it('releases the key and rethrows when the check fails', async () => {
    const { store, send } = setup()
    const check = vi.fn(async () => {
      throw new Error('counters down')
    })
    await expect(once(store, 'k', { ...options, check }, send)).rejects.toThrow('counters down')
    expect((await store.claim('k', 1000)).status).toBe('claimed')
    expect(send).not.toHaveBeenCalled()
  })

  it('answers by answerBy while a slow record goes on, and reports its late failure', async () => {
    const { store, send } = setup()
    let failRecord!: (error: Error) => void
    const slow: IdempotencyStore = {
      claim: (key, leaseMs) => store.claim(key, leaseMs),
      markSending: (key, token) => store.markSending(key, token),
      wait: (key, signal) => store.wait(key, signal),
      complete: () => new Promise((_, reject) => (failRecord = reject)),
      release: (key, token) => store.release(key, token),
    }
    const onRecordError = vi.fn()
    const answerBy = Promise.resolve()
    expect(await once(slow, 'k', { ...options, onRecordError, answerBy }, send)).toEqual({
      ...delivered,
      replayed: false,
    })
    expect(onRecordError).not.toHaveBeenCalled()
    failRecord(new Error('redis: timeout'))
    await vi.waitFor(() => expect(onRecordError).toHaveBeenCalledWith(new Error('redis: timeout')))
  })
})
