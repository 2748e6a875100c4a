import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, onTestFinished } from 'vitest'
import { isStateUnavailableError, isStoreError } from '../../src/errors.js'
import { CounterObject, DurableObjectRateCounters } from '../../src/worker/counter-object.js'
import { describeCountersContract } from '../store/counters-contract.js'
import { manualClock } from '../support/clock.js'

/** A manual clock for the objects, which run in the tests' isolate and read `CounterObject.clock`; put back after the test. */
const objectClock = (start?: number) => {
  const clock = manualClock(start)
  const system = CounterObject.clock
  CounterObject.clock = clock
  onTestFinished(() => void (CounterObject.clock = system))
  return clock
}

describeCountersContract('DurableObjectRateCounters', () => {
  const clock = objectClock()
  return { counters: new DurableObjectRateCounters(env.COUNTERS), now: clock.now, advance: clock.advance }
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
    // A second into the next hour, by the objects' own clock: a minute later the minute's window has ended and the
    // hour's has not, whatever the time the suite runs at (on the wall clock, a run at :59 saw both end). Ahead of
    // the wall clock, so that the runtime does not fire the alarms before the test runs them.
    const hour = 60 * 60_000
    const clock = objectClock(Math.ceil(Date.now() / hour) * hour + 1000)
    const counters = new DurableObjectRateCounters(env.COUNTERS)
    const key = crypto.randomUUID()
    const stub = env.COUNTERS.getByName(key)
    const stored = () => runInDurableObject(stub, async (_, state) => (await state.storage.list()).size)
    await counters.hit(key, 60_000)
    await counters.hit(key, 60 * 60_000)
    expect(await stored()).toBe(2)
    clock.advance(60_000)
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await stored()).toBe(1)
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeGreaterThan(clock.now())
    clock.advance(60 * 60_000)
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await stored()).toBe(0)
  })
})

describe('the Durable Object counters when an object fails', () => {
  /** A namespace whose every object fails its call with `error`, as the runtime reports a reset or a queue too long. */
  const failing = (error: Error) =>
    ({ getByName: () => ({ hit: () => Promise.reject(error) }) }) as unknown as DurableObjectNamespace<CounterObject>

  it('reads an object reset or out of reach (retryable) as the state being down', async () => {
    const counters = new DurableObjectRateCounters(failing(Object.assign(new Error('reset'), { retryable: true })))
    const error = await counters.hit('key', 60_000).catch((e: unknown) => e)
    expect(isStateUnavailableError(error)).toBe(true)
  })

  it('reads an overloaded object as a store error that refuses, not as silence', async () => {
    const counters = new DurableObjectRateCounters(
      failing(Object.assign(new Error('queue full'), { overloaded: true })),
    )
    const error = await counters.hit('key', 60_000).catch((e: unknown) => e)
    expect(isStoreError(error) && error.reason).toBe('busy')
  })
})
