/**
 * What every idempotency store must do (src/store/types.ts): `memory.test.ts` runs it for the in-memory store,
 * `redis.test.ts` for the Redis store, test/worker for the Durable Object store. Each case uses fresh keys, as a
 * shared store may outlive one test.
 *
 * Most cases run on real time with short leases, so that they hold for any store in any runtime. The cases of a
 * dead owner move time by hand instead (a manual clock the store was given, or fake timers), because they pass
 * leases of seconds and a marked claim's memory of minutes. The cases of a clock apart from the timers
 * (`StoreContractOptions.withClock`) run only for a store that can be given one.
 */
import { describe, expect, it } from 'vitest'
import type { Clock } from '../../src/clock.js'
import type { Outcome } from '../../src/outcome.js'
import { SENDING_MARK_TTL_MS, type IdempotencyStore } from '../../src/store/types.js'
import { manualClock } from '../support/clock.js'

const delivered: Outcome = { ok: true, provider: 'test', messageId: 'm-1' }
const unknown: Outcome = {
  ok: false,
  status: 504,
  code: 'outcome_unknown',
  message: 'may be delayed',
  mayHaveSent: true,
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const never = () => new AbortController().signal
const newKey = () => crypto.randomUUID()

/** Claims `key` and returns the lease token, failing the test when the key was not free. */
export const claimToken = async (store: IdempotencyStore, key: string, leaseMs = 5000) => {
  const claim = await store.claim(key, leaseMs)
  if (claim.status !== 'claimed') throw new Error(`expected to claim ${key}, got ${claim.status}`)
  return claim.token
}

/** A store whose time the test moves: by the manual clock it was given, or by fake timers for the runtime's own. */
export interface TimedStore {
  store: IdempotencyStore
  advance(ms: number): void | Promise<void>
}

export interface StoreContractOptions {
  /**
   * A store that judges leases by `clock` alone and times its waits with the runtime's timers, for the cases
   * where the two disagree: a lease timer that fires before the lease's end by the clock, a clock that stands
   * still while timers fire, a clock moved past the lease by hand. Off when left out. Leave it out for a store
   * that also ends keys by another clock, as Redis does by its server's (PEXPIRE): such a store frees a key
   * when that clock says so, which these cases would read as a lease lost early.
   */
  withClock?: (clock: Clock) => IdempotencyStore | Promise<IdempotencyStore>
}

/** A clock at half the timers' pace: every lease timer fires early by it. */
const slowClock = (): Clock => {
  const start = Date.now()
  return { now: () => start + Math.floor((Date.now() - start) / 2) }
}

/** A pending result a case can look at before it settles. */
const track = <T>(promise: Promise<T>) => {
  const tracked: { promise: Promise<T>; value?: T } = { promise }
  void promise.then((value) => (tracked.value = value))
  return tracked
}

export const describeStoreContract = (
  name: string,
  makeStore: () => IdempotencyStore,
  makeTimedStore: () => TimedStore | Promise<TimedStore>,
  options: StoreContractOptions = {},
) => {
  const { withClock } = options
  // Not registered at all for a store whose leases also run on its server's clock (Redis expiries).
  if (withClock !== undefined)
    describe(`${name}: leases by its clock, whatever its timers do`, () => {
      it('keeps a waiter waiting while the clock stands still, however often its lease timer fires', async () => {
        const clock = manualClock()
        const store = await withClock!(clock)
        const key = newKey()
        const token = await claimToken(store, key, 50)
        const waiting = track(store.wait(key, never()))
        // Several leases' worth of timers, and a change to the entry that wakes the waiter to look again.
        await sleep(120)
        expect(await store.markSending(key, token)).toBe(true)
        await sleep(120)
        expect(waiting.value).toBeUndefined()
        expect(await store.claim(key, 1000)).toEqual({ status: 'in_flight' })
        expect(await store.complete(key, token, delivered, 60_000)).toBe(true)
        expect(await waiting.promise).toEqual({ status: 'done', outcome: delivered })
      })

      it('lets the claim lapse, and tells its waiter free, once the clock is moved past the lease by hand', async () => {
        const clock = manualClock()
        const store = await withClock!(clock)
        const key = newKey()
        await claimToken(store, key, 50)
        const waiting = track(store.wait(key, never()))
        await sleep(120)
        expect(waiting.value).toBeUndefined()
        clock.advance(50)
        expect(await waiting.promise).toEqual({ status: 'free' })
        expect((await store.claim(key, 1000)).status).toBe('claimed')
      })

      it('does not tell a waiter free before the lease has ended by a clock slower than its timers', async () => {
        const clock = slowClock()
        const store = await withClock!(clock)
        const key = newKey()
        const claimedAt = clock.now()
        await claimToken(store, key, 100)
        expect(await store.wait(key, never())).toEqual({ status: 'free' })
        expect(clock.now()).toBeGreaterThanOrEqual(claimedAt + 100)
        expect((await store.claim(key, 1000)).status).toBe('claimed')
      })
    })

  describe(`${name}: the idempotency store contract`, () => {
    it('hands a key to one claimer; others see it in flight, then done with the outcome', async () => {
      const store = makeStore()
      const key = newKey()
      const token = await claimToken(store, key)
      expect(await store.claim(key, 5000)).toEqual({ status: 'in_flight' })
      expect(await store.complete(key, token, delivered, 60_000)).toBe(true)
      expect(await store.claim(key, 5000)).toEqual({ status: 'done', outcome: delivered })
    })

    it('says whether the claim holding a key is marked sending: not before the mark, nor once done or released', async () => {
      const store = makeStore()
      expect(store.markedSending).toBeTypeOf('function')
      const key = newKey()
      expect(await store.markedSending!(key)).toBe(false)
      const token = await claimToken(store, key)
      expect(await store.markedSending!(key)).toBe(false)
      expect(await store.markSending(key, token)).toBe(true)
      expect(await store.markedSending!(key)).toBe(true)
      expect(await store.complete(key, token, delivered, 60_000)).toBe(true)
      expect(await store.markedSending!(key)).toBe(false)
      const other = newKey()
      expect(await store.release(other, await claimToken(store, other))).toBe(true)
      expect(await store.markedSending!(other)).toBe(false)
    })

    it('keeps a failure outcome as it was stored', async () => {
      const store = makeStore()
      const key = newKey()
      await store.complete(key, await claimToken(store, key), unknown, 60_000)
      expect(await store.claim(key, 5000)).toEqual({ status: 'done', outcome: unknown })
    })

    it('gives a key to exactly one of many concurrent claimers', async () => {
      const store = makeStore()
      const key = newKey()
      const claims = await Promise.all(Array.from({ length: 10 }, () => store.claim(key, 5000)))
      expect(claims.filter((c) => c.status === 'claimed')).toHaveLength(1)
      expect(claims.filter((c) => c.status === 'in_flight')).toHaveLength(9)
    })

    it('keeps keys apart', async () => {
      const store = makeStore()
      const [a, b] = [newKey(), newKey()]
      await claimToken(store, a)
      expect((await store.claim(b, 5000)).status).toBe('claimed')
    })

    it('lets a key be claimed again after release, and refuses a second release', async () => {
      const store = makeStore()
      const key = newKey()
      const token = await claimToken(store, key)
      expect(await store.release(key, token)).toBe(true)
      expect(await store.release(key, token)).toBe(false)
      expect((await store.claim(key, 5000)).status).toBe('claimed')
    })

    it("refuses to complete or release with another claimer's token", async () => {
      const store = makeStore()
      const key = newKey()
      await claimToken(store, key)
      expect(await store.complete(key, 'not-the-token', delivered, 60_000)).toBe(false)
      expect(await store.release(key, 'not-the-token')).toBe(false)
      expect(await store.claim(key, 5000)).toEqual({ status: 'in_flight' })
    })

    it("lets a dead owner's claim lapse after its lease, and refuses the old owner's late completion", async () => {
      const store = makeStore()
      const key = newKey()
      const stale = await claimToken(store, key, 100)
      await sleep(150)
      const fresh = await claimToken(store, key)
      expect(await store.complete(key, stale, delivered, 60_000)).toBe(false)
      expect(await store.complete(key, fresh, delivered, 60_000)).toBe(true)
    })

    it('forgets a completed key after its TTL', async () => {
      const store = makeStore()
      const key = newKey()
      await store.complete(key, await claimToken(store, key), delivered, 150)
      expect((await store.claim(key, 5000)).status).toBe('done')
      await sleep(200)
      expect((await store.claim(key, 5000)).status).toBe('claimed')
    })

    it('wakes waiters with the outcome on complete, and with free on release', async () => {
      const store = makeStore()
      const [a, b] = [newKey(), newKey()]
      const tokenA = await claimToken(store, a)
      const tokenB = await claimToken(store, b)
      const waitA = store.wait(a, never())
      const waitB = store.wait(b, never())
      await sleep(20)
      await store.complete(a, tokenA, delivered, 60_000)
      await store.release(b, tokenB)
      expect(await waitA).toEqual({ status: 'done', outcome: delivered })
      expect(await waitB).toEqual({ status: 'free' })
    })

    it('wakes waiters with free when the owner never comes back', async () => {
      const store = makeStore()
      const key = newKey()
      await claimToken(store, key, 150)
      const started = Date.now()
      expect(await store.wait(key, never())).toEqual({ status: 'free' })
      expect(Date.now() - started).toBeGreaterThanOrEqual(100)
      expect((await store.claim(key, 5000)).status).toBe('claimed')
    })

    it('stops waiting when the signal aborts, with its reason', async () => {
      const store = makeStore()
      const key = newKey()
      await claimToken(store, key)
      const controller = new AbortController()
      const waiting = store.wait(key, controller.signal)
      await sleep(20)
      controller.abort(new Error('deadline'))
      await expect(waiting).rejects.toThrow('deadline')
      await expect(store.wait(key, controller.signal)).rejects.toThrow('deadline')
    })

    it('answers wait at once for an unknown key and for a completed one', async () => {
      const store = makeStore()
      const key = newKey()
      expect(await store.wait(key, never())).toEqual({ status: 'free' })
      await store.complete(key, await claimToken(store, key), delivered, 60_000)
      expect(await store.wait(key, never())).toEqual({ status: 'done', outcome: delivered })
    })

    it('hands the key of an owner that died after marking it sending to one repeat, as abandoned', async () => {
      const { store, advance } = await makeTimedStore()
      const key = newKey()
      const dead = await claimToken(store, key, 1000)
      expect(await store.markSending(key, dead)).toBe(true)
      expect(await store.claim(key, 1000)).toEqual({ status: 'in_flight' })
      await advance(1001)
      expect(await store.wait(key, never())).toEqual({ status: 'free' })
      const repeat = await store.claim(key, 1000)
      expect(repeat).toEqual({ status: 'abandoned', token: expect.any(String) })
      expect(await store.claim(key, 1000)).toEqual({ status: 'in_flight' })
      if (repeat.status !== 'abandoned') return
      expect(await store.complete(key, repeat.token, unknown, 60_000)).toBe(true)
      expect(await store.claim(key, 1000)).toEqual({ status: 'done', outcome: unknown })
      expect(await store.claim(key, 1000)).toEqual({ status: 'done', outcome: unknown })
      expect(await store.complete(key, dead, delivered, 60_000)).toBe(false)
    })

    it('lets a repeat claim, and send, the key of an owner that died before marking it sending', async () => {
      const { store, advance } = await makeTimedStore()
      const key = newKey()
      await claimToken(store, key, 1000)
      await advance(1001)
      const fresh = await claimToken(store, key, 1000)
      expect(await store.markSending(key, fresh)).toBe(true)
      expect(await store.complete(key, fresh, delivered, 60_000)).toBe(true)
      expect(await store.claim(key, 1000)).toEqual({ status: 'done', outcome: delivered })
    })

    it('keeps the mark when the abandoned claimant dies too, so the next repeat is abandoned again', async () => {
      const { store, advance } = await makeTimedStore()
      const key = newKey()
      expect(await store.markSending(key, await claimToken(store, key, 1000))).toBe(true)
      await advance(1001)
      expect((await store.claim(key, 1000)).status).toBe('abandoned')
      await advance(1001)
      const next = await store.claim(key, 1000)
      expect(next.status).toBe('abandoned')
      if (next.status !== 'abandoned') return
      expect(await store.complete(key, next.token, unknown, 60_000)).toBe(true)
      expect(await store.claim(key, 1000)).toEqual({ status: 'done', outcome: unknown })
    })

    it('refuses markSending with a wrong token, a lapsed lease, or a token whose key was claimed again', async () => {
      const { store, advance } = await makeTimedStore()
      const key = newKey()
      const token = await claimToken(store, key, 1000)
      expect(await store.markSending(key, 'not-the-token')).toBe(false)
      expect(await store.markSending(newKey(), token)).toBe(false)
      await advance(1001)
      expect(await store.markSending(key, token)).toBe(false)
      // The failed mark left the lapsed claim unmarked: a repeat may send.
      const fresh = await claimToken(store, key, 1000)
      expect(await store.markSending(key, token)).toBe(false)
      expect(await store.markSending(key, fresh)).toBe(true)
    })

    it('forgets the mark of a dead owner after SENDING_MARK_TTL_MS, like an outcome after its TTL', async () => {
      const { store, advance } = await makeTimedStore()
      const key = newKey()
      expect(await store.markSending(key, await claimToken(store, key, 1000))).toBe(true)
      await advance(1000 + SENDING_MARK_TTL_MS - 1)
      expect(await store.claim(key, 1000)).toEqual({ status: 'abandoned', token: expect.any(String) })
      await advance(1000 + SENDING_MARK_TTL_MS)
      expect((await store.claim(key, 1000)).status).toBe('claimed')
    })

    it('refuses completion and release to an owner whose unmarked claim lapsed, though nobody claimed it since', async () => {
      const { store, advance } = await makeTimedStore()
      const key = newKey()
      const token = await claimToken(store, key, 1000)
      await advance(1001)
      expect(await store.complete(key, token, delivered, 60_000)).toBe(false)
      expect(await store.release(key, token)).toBe(false)
      expect((await store.claim(key, 1000)).status).toBe('claimed')
    })

    it('lets an owner that was only slow, not dead, still record its outcome over its marked claim', async () => {
      const { store, advance } = await makeTimedStore()
      const key = newKey()
      const slow = await claimToken(store, key, 1000)
      expect(await store.markSending(key, slow)).toBe(true)
      await advance(1001)
      expect(await store.complete(key, slow, delivered, 60_000)).toBe(true)
      expect(await store.claim(key, 1000)).toEqual({ status: 'done', outcome: delivered })
    })
  })
}
