import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { Clock } from '../../src/clock.js'
import { isStateUnavailableError, isStoreError } from '../../src/errors.js'
import type { Outcome } from '../../src/outcome.js'
import { DurableObjectIdempotencyStore, IdempotencyObject } from '../../src/worker/store-object.js'
import { claimToken, describeStoreContract } from '../store/contract.js'
import { manualClock } from '../support/clock.js'

/** The store, its objects on `clock` until the case ends (they run in the tests' isolate, so read the setting). */
const storeOn = (clock: Clock) => {
  const system = IdempotencyObject.clock
  IdempotencyObject.clock = clock
  onTestFinished(() => void (IdempotencyObject.clock = system))
  return new DurableObjectIdempotencyStore(env.IDEMPOTENCY)
}

describeStoreContract(
  'DurableObjectIdempotencyStore',
  () => new DurableObjectIdempotencyStore(env.IDEMPOTENCY),
  () => {
    const clock = manualClock()
    return { store: storeOn(clock), advance: clock.advance }
  },
  { withClock: storeOn },
)

const delivered: Outcome = { ok: true, provider: 'test', messageId: 'm-1' }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the Durable Object store across the life of its objects', () => {
  it('keeps a claim, then an outcome, when the object is recreated (evicted, or restarted by a deploy)', async () => {
    const store = new DurableObjectIdempotencyStore(env.IDEMPOTENCY)
    const key = crypto.randomUUID()
    const token = await claimToken(store, key)
    await abortAllDurableObjects()
    expect(await store.claim(key, 5000)).toEqual({ status: 'in_flight' })
    expect(await store.complete(key, token, delivered, 60_000)).toBe(true)
    await abortAllDurableObjects()
    expect(await store.claim(key, 5000)).toEqual({ status: 'done', outcome: delivered })
  })

  it('empties its storage by its own alarm once the TTL of an outcome has passed', async () => {
    const store = new DurableObjectIdempotencyStore(env.IDEMPOTENCY)
    const key = crypto.randomUUID()
    const stub = env.IDEMPOTENCY.getByName(key)
    const stored = () => runInDurableObject(stub, async (_, state) => (await state.storage.list()).size)
    await store.complete(key, await claimToken(store, key), delivered, 100)
    expect(await stored()).toBe(1)
    const until = Date.now() + 3000
    while ((await stored()) > 0 && Date.now() < until) await sleep(50)
    expect(await stored()).toBe(0)
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull()
    expect(await runDurableObjectAlarm(stub)).toBe(false)
  })

  it('keeps an entry whose alarm fires early, and sets the alarm again for its end', async () => {
    const store = new DurableObjectIdempotencyStore(env.IDEMPOTENCY)
    const key = crypto.randomUUID()
    const stub = env.IDEMPOTENCY.getByName(key)
    await store.complete(key, await claimToken(store, key), delivered, 60_000)
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await store.claim(key, 5000)).toEqual({ status: 'done', outcome: delivered })
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now())
  })

  it('leaves no storage behind a released key', async () => {
    const store = new DurableObjectIdempotencyStore(env.IDEMPOTENCY)
    const key = crypto.randomUUID()
    const stub = env.IDEMPOTENCY.getByName(key)
    await store.release(key, await claimToken(store, key))
    expect(await runInDurableObject(stub, async (_, state) => (await state.storage.list()).size)).toBe(0)
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull()
  })
})

describe('the Durable Object store when its object fails', () => {
  /** A namespace whose every object call fails with `error`, as the runtime's stubs reject. */
  const failingWith = (error: Error) => {
    const stub = new Proxy({}, { get: () => () => Promise.reject(error) })
    return new DurableObjectIdempotencyStore({
      getByName: () => stub,
    } as unknown as DurableObjectNamespace<IdempotencyObject>)
  }
  const everyOperation = (store: DurableObjectIdempotencyStore) => [
    store.claim('k', 5000),
    store.markSending('k', 't'),
    store.wait('k', new AbortController().signal),
    store.complete('k', 't', delivered, 60_000),
    store.release('k', 't'),
  ]

  it('reads a reset object (retryable) as the state unavailable, in every operation', async () => {
    const store = failingWith(
      Object.assign(new Error('Durable Object reset because its code was updated.'), { retryable: true }),
    )
    for (const failure of await Promise.allSettled(everyOperation(store))) {
      expect(failure.status).toBe('rejected')
      expect(isStateUnavailableError((failure as PromiseRejectedResult).reason)).toBe(true)
    }
  })

  it('reads an overloaded object as a busy store, in every operation', async () => {
    const store = failingWith(Object.assign(new Error('Durable Object is overloaded.'), { overloaded: true }))
    for (const failure of await Promise.allSettled(everyOperation(store))) {
      expect(failure.status).toBe('rejected')
      const reason: unknown = (failure as PromiseRejectedResult).reason
      expect(isStoreError(reason) && reason.reason).toBe('busy')
    }
  })
})
