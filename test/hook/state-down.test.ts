/**
 * SMS_HOOK_STATE_DOWN over HTTP through the real app and the real Redis state: a Redis down from the start (a
 * closed port) and one killed mid-test (a redis-server of this file's own), with each policy. Node only: ioredis
 * needs Node's net.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { StateUnavailableError } from '../../src/errors.js'
import type { HookEvent } from '../../src/hook/events.js'
import { MESSAGES } from '../../src/outcome.js'
import type { SendResult } from '../../src/providers/types.js'
import { createRedisState, type RedisState } from '../../src/store/redis.js'
import { MemoryRateCounters } from '../../src/store/memory-counters.js'
import { MemoryIdempotencyStore } from '../../src/store/memory.js'
import type { IdempotencyStore, RateCounters } from '../../src/store/types.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { freePort, reconnected, startRedisServer, type RedisServer } from '../support/redis.js'
import { signedPost } from '../support/sign.js'

const redis = inject('redis')

const opened: RedisState[] = []
const servers: RedisServer[] = []
afterAll(async () => {
  await Promise.all(opened.map((state) => state.close()))
  await Promise.all(servers.map((server) => server.stop()))
})
const openState = (url: string) => {
  const state = createRedisState({ url, prefix: `sms-hook-test:${randomUUID()}:`, onError: () => {} })
  opened.push(state)
  return state
}

/**
 * The app as a replica runs it with REDIS_URL: store and guard counters on `state` (a memory store when it has
 * none), the per-number limit on.
 */
const replica = (
  state: { store?: IdempotencyStore; counters: RateCounters },
  env: Record<string, string> = {},
  provider = new ScriptedProvider(),
) => {
  const events: HookEvent[] = []
  const { app, logs } = makeApp({
    provider,
    store: state.store,
    counters: state.counters,
    env: { SMS_HOOK_LIMIT_PER_NUMBER: '10/1h', ...env },
    observers: [(event) => events.push(event)],
  })
  const post = async (body: string) => {
    const response = await app.request('/send-sms', signedPost(body))
    return { status: response.status, body: (await response.json()) as unknown }
  }
  const stateDown = () => events.flatMap((e) => (e.type === 'state_down' ? [`${e.step}:${e.policy}`] : []))
  return { post, provider, logs, events, stateDown }
}

const sent = { status: 200, body: {} }
const unavailable = { status: 200, body: { error: { http_code: 503, message: MESSAGES.unavailable } } }

describe('Redis unreachable from the start', () => {
  it('send (the default): sends without de-duplication or limits, quickly, warning each time', async () => {
    const { post, provider, logs, stateDown } = replica(openState(`redis://127.0.0.1:${await freePort()}`))
    const { body } = signupPayload()
    const started = performance.now()
    expect(await post(body)).toEqual(sent)
    expect(performance.now() - started).toBeLessThan(1000)
    // GoTrue's retry of the same call: nothing remembers the first, so it is sent again.
    expect(await post(body)).toEqual(sent)
    expect(provider.calls).toHaveLength(2)
    expect(stateDown()).toEqual(['idempotency:send', 'guard:send', 'idempotency:send', 'guard:send'])
    const warnings = logs.filter((l) => l.level === 'warn').map((l) => l.msg)
    expect(warnings).toContain('shared state unavailable: sending without de-duplication')
    expect(warnings).toContain('shared state unavailable: sending without the velocity limits')
    expect(logs.filter((l) => l.msg === 'hook').map((l) => l.outcome)).toEqual(['sent', 'sent'])
  })

  it('send: still refuses what needs no shared state (a country not allowed)', async () => {
    const { post, provider } = replica(openState(`redis://127.0.0.1:${await freePort()}`), {
      SMS_HOOK_ALLOWED_COUNTRIES: '852',
    })
    expect(await post(signupPayload().body)).toEqual({
      status: 200,
      body: { error: { http_code: 400, message: MESSAGES.countryNotAllowed } },
    })
    expect(provider.calls).toHaveLength(0)
  })

  it('refuse: answers 503 and sends nothing, as the status itself to GoTrue before v2.187', async () => {
    const { post, provider, logs, stateDown } = replica(openState(`redis://127.0.0.1:${await freePort()}`), {
      SMS_HOOK_STATE_DOWN: 'refuse',
    })
    expect(await post(signupPayload().body)).toEqual(unavailable)
    expect(await post(signupPayload({ legacy: true }).body)).toEqual({ ...unavailable, status: 503 })
    expect(provider.calls).toHaveLength(0)
    expect(stateDown()).toEqual(['idempotency:refuse', 'idempotency:refuse'])
    expect(logs.filter((l) => l.msg === 'hook').map((l) => l.outcome)).toEqual([
      'state_unavailable',
      'state_unavailable',
    ])
  })
})

describe.skipIf(!redis.dedicated)(
  redis.dedicated ? 'Redis killed mid-test' : 'Redis killed mid-test (SKIPPED: no redis-server on the PATH)',
  () => {
    it('de-duplicates while Redis is up, follows the policy while it is down, and de-duplicates again once it is back', async () => {
      const server = await startRedisServer()
      servers.push(server)
      const state = openState(server.url)
      await reconnected(state)
      const send = replica(state)
      const refuse = replica(state, { SMS_HOOK_STATE_DOWN: 'refuse' })

      const before = signupPayload()
      expect([await send.post(before.body), await send.post(before.body)]).toEqual([sent, sent])
      expect(send.provider.calls).toHaveLength(1)

      await server.kill()
      const during = signupPayload()
      expect([await send.post(during.body), await send.post(during.body)]).toEqual([sent, sent])
      expect(send.provider.calls).toHaveLength(3)
      expect(await refuse.post(signupPayload().body)).toEqual(unavailable)
      expect(refuse.provider.calls).toHaveLength(0)

      await server.start()
      await reconnected(state)
      const after = signupPayload()
      expect([await send.post(after.body), await refuse.post(after.body)]).toEqual([sent, sent])
      expect(send.provider.calls).toHaveLength(4)
      expect(refuse.provider.calls).toHaveLength(0)
    })

    it('answers what happened to the SMS of a call in flight when Redis dies', async () => {
      const server = await startRedisServer()
      servers.push(server)
      const state = openState(server.url)
      await reconnected(state)
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      let markStarted!: () => void
      const started = new Promise<void>((resolve) => (markStarted = resolve))
      const provider = new ScriptedProvider(async (message): Promise<SendResult> => {
        markStarted()
        await released
        return { messageId: message.reference }
      })
      const { post, logs } = replica(state, { SMS_HOOK_STATE_DOWN: 'refuse' }, provider)
      const inFlight = post(signupPayload().body)
      await started
      await server.kill()
      release()
      expect(await inFlight).toEqual(sent)
      expect(logs).toContainEqual(
        expect.objectContaining({ level: 'error', msg: 'idempotency store failed to record an outcome' }),
      )
    })
  },
)

describe('guard counters down while the store answers', () => {
  const down: RateCounters = { hit: () => Promise.reject(new StateUnavailableError('redis: connection closed')) }

  it('send: lets the call through unguarded, warning', async () => {
    const { post, provider, stateDown } = replica({ counters: down })
    expect(await post(signupPayload().body)).toEqual(sent)
    expect(provider.calls).toHaveLength(1)
    expect(stateDown()).toEqual(['guard:send'])
  })

  it('refuse: answers 503 and releases the key, so the retry is counted and sent once the counters answer', async () => {
    let fail = true
    const counters: RateCounters = { hit: (key, windowMs) => (fail ? down.hit(key, windowMs) : Promise.resolve(1)) }
    const { post, provider, stateDown } = replica({ counters }, { SMS_HOOK_STATE_DOWN: 'refuse' })
    const { body } = signupPayload()
    expect(await post(body)).toEqual(unavailable)
    fail = false
    expect(await post(body)).toEqual(sent)
    expect(provider.calls).toHaveLength(1)
    expect(stateDown()).toEqual(['guard:refuse'])
  })

  it('refuse: gives up on counters that never answer at the hook deadline', async () => {
    const hanging: RateCounters = { hit: () => new Promise(() => {}) }
    const { post, provider } = replica(
      { counters: hanging },
      { SMS_HOOK_STATE_DOWN: 'refuse', SMS_HOOK_TIMEOUT_MS: '300' },
    )
    const started = performance.now()
    expect(await post(signupPayload().body)).toEqual(unavailable)
    expect(performance.now() - started).toBeLessThan(300 + 500)
    expect(provider.calls).toHaveLength(0)
  })
})

describe('a store that never answers', () => {
  const memory = () => new MemoryIdempotencyStore({ clock: { now: () => Date.now() } })
  const never = () => new Promise<never>(() => {})

  it('refuse: gives up on a claim at the hook deadline, answering 503', async () => {
    const store: IdempotencyStore = { ...bind(memory()), claim: never }
    const { post, provider, stateDown } = replica(
      { store, counters: new MemoryRateCounters({ clock: { now: () => Date.now() } }) },
      {
        SMS_HOOK_STATE_DOWN: 'refuse',
        SMS_HOOK_TIMEOUT_MS: '300',
      },
    )
    const started = performance.now()
    expect(await post(signupPayload().body)).toEqual(unavailable)
    expect(performance.now() - started).toBeLessThan(300 + 500)
    expect(provider.calls).toHaveLength(0)
    expect(stateDown()).toEqual(['idempotency:refuse'])
  })

  it('answers a delivered call by the deadline when recording it never ends', async () => {
    const store: IdempotencyStore = { ...bind(memory()), complete: never }
    const { post, provider } = replica(
      { store, counters: new MemoryRateCounters({ clock: { now: () => Date.now() } }) },
      { SMS_HOOK_TIMEOUT_MS: '300' },
    )
    const started = performance.now()
    expect(await post(signupPayload().body)).toEqual(sent)
    expect(performance.now() - started).toBeLessThan(300 + 500)
    expect(provider.calls).toHaveLength(1)
  })
})

/** A store's methods bound to it, to build a store that differs in one of them. */
const bind = (store: IdempotencyStore): IdempotencyStore => ({
  claim: (key, leaseMs) => store.claim(key, leaseMs),
  markSending: (key, token) => store.markSending(key, token),
  wait: (key, signal) => store.wait(key, signal),
  complete: (key, token, outcome, ttlMs) => store.complete(key, token, outcome, ttlMs),
  release: (key, token) => store.release(key, token),
})
