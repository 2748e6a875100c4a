import { describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { StoreFullError } from '../../src/errors.js'
import type { Outcome } from '../../src/outcome.js'
import { MemoryIdempotencyStore } from '../../src/store/memory.js'
import { manualClock } from '../support/clock.js'
import { claimToken, describeStoreContract } from './contract.js'

describeStoreContract(
  'MemoryIdempotencyStore',
  () => new MemoryIdempotencyStore({ clock: systemClock }),
  () => {
    const clock = manualClock()
    return { store: new MemoryIdempotencyStore({ clock }), advance: clock.advance }
  },
  { withClock: (clock) => new MemoryIdempotencyStore({ clock }) },
)

const delivered: Outcome = { ok: true, provider: 'test', messageId: 'm-1' }

/** What only the in-memory store has: a cap on keys and a sweep of expired ones. */
describe('MemoryIdempotencyStore', () => {
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

  it('at the cap with every key in flight, forgets a claim whose owner died (lease lapsed) to make room', async () => {
    const clock = manualClock()
    const store = new MemoryIdempotencyStore({ clock, maxKeys: 2 })
    await claimToken(store, 'dead', 500)
    const alive = await claimToken(store, 'alive', 5000)
    clock.advance(501)
    expect((await store.claim('new', 1000)).status).toBe('claimed')
    expect(store.size).toBe(2)
    expect((await store.claim('alive', 1000)).status).toBe('in_flight')
    // Now both are alive: nothing may go.
    await expect(store.claim('another', 1000)).rejects.toBeInstanceOf(StoreFullError)
    expect(await store.complete('alive', alive, delivered, 60_000)).toBe(true)
  })
})
