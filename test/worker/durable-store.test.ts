import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import type { Outcome } from '../../src/outcome.js'
import { DurableObjectIdempotencyStore } from '../../src/worker/store-object.js'
import { claimToken, describeStoreContract } from '../store/contract.js'

describeStoreContract(
  'DurableObjectIdempotencyStore',
  () => new DurableObjectIdempotencyStore(env.IDEMPOTENCY),
  () => {
    // The objects run in the tests' isolate, so a faked Date is their clock too.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() })
    onTestFinished(() => void vi.useRealTimers())
    return { store: new DurableObjectIdempotencyStore(env.IDEMPOTENCY), advance: (ms) => void vi.advanceTimersByTime(ms) }
  },
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
