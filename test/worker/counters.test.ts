import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { DurableObjectRateCounters } from '../../src/worker/counter-object.js'
import { describeCountersContract } from '../store/counters-contract.js'

describeCountersContract('DurableObjectRateCounters', () => {
  // The objects run in the tests' isolate, so a faked Date is their clock too.
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() })
  onTestFinished(() => void vi.useRealTimers())
  return {
    counters: new DurableObjectRateCounters(env.COUNTERS),
    now: () => Date.now(),
    advance: (ms) => void vi.advanceTimersByTime(ms),
  }
})

describe('the Durable Object counters across the life of their objects', () => {
  it('keeps a count when the object is recreated (evicted, or restarted by a deploy)', async () => {
    const counters = new DurableObjectRateCounters(env.COUNTERS)
    const key = crypto.randomUUID()
    const window = 60 * 60_000
    await counters.hit(key, window)
    await counters.hit(key, window)
    await abortAllDurableObjects()
    expect(await counters.hit(key, window)).toBe(3)
  })

  it('empties its storage by its own alarm once every window has ended', async () => {
    const counters = new DurableObjectRateCounters(env.COUNTERS)
    const key = crypto.randomUUID()
    const stub = env.COUNTERS.getByName(key)
    const stored = () => runInDurableObject(stub, async (_, state) => (await state.storage.list()).size)
    await counters.hit(key, 60_000)
    await counters.hit(key, 60 * 60_000)
    expect(await stored()).toBe(2)
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() })
    onTestFinished(() => void vi.useRealTimers())
    vi.advanceTimersByTime(60_000)
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await stored()).toBe(1)
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now())
    vi.advanceTimersByTime(60 * 60_000)
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await stored()).toBe(0)
  })
})
