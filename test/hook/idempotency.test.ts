import { describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { ProviderError } from '../../src/errors.js'
import { MemoryIdempotencyStore } from '../../src/store/memory.js'
import type { SendResult } from '../../src/providers/types.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { fixtures, fresh } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'

const deferred = <T>() => {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

describe('one OTP, one SMS', () => {
  it('answers GoTrue\'s retry (same body, new webhook-id) with success and sends nothing more', async () => {
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

  it('never resends when the outcome is unknown: the repeat gets the same 504', async () => {
    const provider = new ScriptedProvider(async () => {
      throw new ProviderError('outcome_unknown', 'connection reset after sending')
    })
    const { app } = makeApp({ provider })
    const { body } = fresh()
    const first = (await (await app.request('/send-sms', signedPost(body))).json()) as { error: { http_code: number } }
    const repeat = (await (await app.request('/send-sms', signedPost(body))).json()) as { error: { http_code: number } }
    expect([first.error.http_code, repeat.error.http_code]).toEqual([504, 504])
    expect(provider.calls).toHaveLength(1)
  })

  it('answers a waiting repeat with an error when its own deadline passes first, and sends once', async () => {
    const gate = deferred<SendResult>()
    const provider = new ScriptedProvider(() => gate.promise)
    const { app } = makeApp({ provider, env: { SMS_HOOK_TIMEOUT_MS: '300' } })
    const { body } = fresh()
    const first = app.request('/send-sms', signedPost(body))
    await new Promise((r) => setTimeout(r, 100))
    const repeat = await app.request('/send-sms', signedPost(body))
    expect(((await repeat.json()) as { error: { http_code: number } }).error.http_code).toBe(504)
    gate.resolve({ messageId: 'late' })
    await first
    expect(provider.calls).toHaveLength(1)
  })
})

describe('when the idempotency store fails', () => {
  const brokenStore = (failOn: 'claim' | 'complete') => {
    const inner = new MemoryIdempotencyStore({ clock: systemClock })
    return {
      claim: (key: string, leaseMs: number) =>
        failOn === 'claim' ? Promise.reject(new Error('store down')) : inner.claim(key, leaseMs),
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
    expect(logs.some((l) => l.level === 'error' && l.msg === 'idempotency store failed to record an outcome')).toBe(true)
  })
})
