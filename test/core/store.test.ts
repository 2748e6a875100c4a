import { describe, expect, it } from 'vitest'
import { MemoryIdempotencyStore } from '../../src/store/memory.js'
import { StoreFullError } from '../../src/store/types.js'
import type { Outcome } from '../../src/outcome.js'
import { claimToken } from '../store/contract.js'

const delivered: Outcome = { ok: true, provider: 'test', messageId: 'm-1' }

const manualClock = (start = 1_000_000) => {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}


describe('MemoryIdempotencyStore', () => {
  it('hands a key to one claimer; others see it in flight, then done with the outcome', async () => {
    const store = new MemoryIdempotencyStore({ clock: manualClock() })
    const token = await claimToken(store, 'k', 1000)
    expect(await store.claim('k', 1000)).toEqual({ status: 'in_flight' })
    expect(await store.complete('k', token, delivered, 60_000)).toBe(true)
    expect(await store.claim('k', 1000)).toEqual({ status: 'done', outcome: delivered })
  })

  it('lets a key be claimed again after release', async () => {
    const store = new MemoryIdempotencyStore({ clock: manualClock() })
    const token = await claimToken(store, 'k', 1000)
    expect(await store.release('k', token)).toBe(true)
    expect((await store.claim('k', 1000)).status).toBe('claimed')
  })

  it('lets a dead owner\'s claim lapse after its lease, and refuses the old owner\'s late completion', async () => {
    const clock = manualClock()
    const store = new MemoryIdempotencyStore({ clock })
    const stale = await claimToken(store, 'k', 500)
    clock.advance(501)
    const fresh = await claimToken(store, 'k', 500)
    expect(await store.complete('k', stale, delivered, 60_000)).toBe(false)
    expect(await store.complete('k', fresh, delivered, 60_000)).toBe(true)
  })

  it('forgets completed keys after their TTL', async () => {
    const clock = manualClock()
    const store = new MemoryIdempotencyStore({ clock })
    await store.complete('k', await claimToken(store, 'k', 1000), delivered, 10 * 60_000)
    clock.advance(10 * 60_000 - 1)
    expect((await store.claim('k', 1000)).status).toBe('done')
    clock.advance(1)
    expect((await store.claim('k', 1000)).status).toBe('claimed')
  })

  it('wakes waiters with the outcome on complete, and with free on release', async () => {
    const store = new MemoryIdempotencyStore({ clock: manualClock() })
    const a = await claimToken(store, 'a')
    const b = await claimToken(store, 'b')
    const signal = new AbortController().signal
    const waitA = store.wait('a', signal)
    const waitB = store.wait('b', signal)
    await store.complete('a', a, delivered, 60_000)
    await store.release('b', b)
    expect(await waitA).toEqual({ status: 'done', outcome: delivered })
    expect(await waitB).toEqual({ status: 'free' })
  })

  it('keeps a waiter waiting when its lease timer fires before the lease has ended by the clock', async () => {
    // Timers round to the millisecond, so one can fire just before the clock reaches the lease's end.
    const clock = manualClock()
    const store = new MemoryIdempotencyStore({ clock })
    await claimToken(store, 'k', 20)
    let settled: unknown
    const waiting = store.wait('k', new AbortController().signal).then((result) => (settled = result))
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(settled).toBeUndefined()
    expect((await store.claim('k', 1000)).status).toBe('in_flight')
    clock.advance(20)
    await waiting
    expect(settled).toEqual({ status: 'free' })
    expect((await store.claim('k', 1000)).status).toBe('claimed')
  })

  it('stops waiting when the signal aborts', async () => {
    const store = new MemoryIdempotencyStore({ clock: manualClock() })
    await claimToken(store, 'k', 1000)
    const controller = new AbortController()
    const waiting = store.wait('k', controller.signal)
    controller.abort(new Error('deadline'))
    await expect(waiting).rejects.toThrow('deadline')
  })

  it('answers wait at once for an unknown key', async () => {
    const store = new MemoryIdempotencyStore({ clock: manualClock() })
    expect(await store.wait('nope', new AbortController().signal)).toEqual({ status: 'free' })
  })

  it('past its cap forgets the oldest completed keys first, never one in flight', async () => {
    const store = new MemoryIdempotencyStore({ clock: manualClock(), maxKeys: 3 })
    const inFlight = await claimToken(store, 'in-flight')
    await store.complete('old', await claimToken(store, 'old'), delivered, 60_000)
    await store.complete('new', await claimToken(store, 'new'), delivered, 60_000)
    await claimToken(store, 'fourth')
    expect(store.size).toBe(3)
    expect((await store.claim('in-flight', 1000)).status).toBe('in_flight')
    expect((await store.claim('new', 1000)).status).toBe('done')
    expect(await store.complete('in-flight', inFlight, delivered, 60_000)).toBe(true)
  })

  it('at the cap keeps exactly the newest completed keys, however many came and went', async () => {
    const store = new MemoryIdempotencyStore({ clock: manualClock(), maxKeys: 10 })
    for (let i = 0; i < 5000; i++) await store.complete(`k${i}`, await claimToken(store, `k${i}`), delivered, 60_000)
    expect(store.size).toBe(10)
    for (let i = 4990; i < 5000; i++) expect((await store.claim(`k${i}`, 1000)).status).toBe('done')
    expect((await store.claim('k4989', 1000)).status).toBe('claimed')
  })

  it('forgets expired keys without being asked about them, so memory follows the TTL', async () => {
    const clock = manualClock()
    const store = new MemoryIdempotencyStore({ clock })
    for (let i = 0; i < 20; i++) await store.complete(`k${i}`, await claimToken(store, `k${i}`), delivered, 60_000)
    clock.advance(60_000)
    await claimToken(store, 'next')
    expect(store.size).toBe(1)
  })

  it('a key that expired and was completed again is not forgotten with its old entry', async () => {
    const clock = manualClock()
    const store = new MemoryIdempotencyStore({ clock, maxKeys: 2 })
    await store.complete('k', await claimToken(store, 'k'), delivered, 1000)
    clock.advance(1000)
    await store.complete('k', await claimToken(store, 'k'), delivered, 60_000)
    await store.complete('other', await claimToken(store, 'other'), delivered, 60_000)
    await claimToken(store, 'third')
    // The cap forgot the oldest live completion ('k'), not a stale queue entry standing for it.
    expect(store.size).toBe(2)
    expect((await store.claim('other', 1000)).status).toBe('done')
  })

  it('refuses a new claim rather than forget an in-flight key when all are in flight', async () => {
    const store = new MemoryIdempotencyStore({ clock: manualClock(), maxKeys: 2 })
    await claimToken(store, 'a')
    await claimToken(store, 'b')
    await expect(store.claim('c', 1000)).rejects.toBeInstanceOf(StoreFullError)
  })
})
