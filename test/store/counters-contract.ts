/**
 * What every rate counter store must do (`RateCounters` in src/store/types.ts): `memory-counters.test.ts` runs
 * it for the in-memory counters, `redis.test.ts` for Redis, test/worker for Durable Objects. Time moves by hand
 * (a manual clock the counters were given, or fake timers), so windows of a minute cost no waiting. Each case
 * uses fresh keys, as shared counters may outlive one test.
 */
import { describe, expect, it } from 'vitest'
import type { RateCounters } from '../../src/store/types.js'

export interface TimedCounters {
  counters: RateCounters
  /** The counters' time now, in epoch ms. */
  now(): number
  advance(ms: number): void | Promise<void>
}

const MINUTE = 60_000
const newKey = () => crypto.randomUUID()

export const describeCountersContract = (name: string, make: () => TimedCounters | Promise<TimedCounters>) => {
  describe(`${name}: the rate counters contract`, () => {
    /** Moves time to the start of the next window of `windowMs`, as windows are aligned on its multiples. */
    const toWindowStart = async (timed: TimedCounters, windowMs: number) => {
      await timed.advance(windowMs - (timed.now() % windowMs))
    }

    it('counts the hits to a key in one window, this hit included', async () => {
      const { counters } = await make()
      const key = newKey()
      expect(await counters.hit(key, MINUTE)).toBe(1)
      expect(await counters.hit(key, MINUTE)).toBe(2)
      expect(await counters.hit(key, MINUTE)).toBe(3)
    })

    it('counts up to the last millisecond of a window, and starts again at one in the next', async () => {
      const timed = await make()
      const key = newKey()
      await toWindowStart(timed, MINUTE)
      expect(await timed.counters.hit(key, MINUTE)).toBe(1)
      await timed.advance(MINUTE - 1)
      expect(await timed.counters.hit(key, MINUTE)).toBe(2)
      await timed.advance(1)
      expect(await timed.counters.hit(key, MINUTE)).toBe(1)
      expect(await timed.counters.hit(key, MINUTE)).toBe(2)
    })

    it('starts again at one after a pause longer than a window', async () => {
      const timed = await make()
      const key = newKey()
      await timed.counters.hit(key, MINUTE)
      await timed.counters.hit(key, MINUTE)
      await timed.advance(5 * MINUTE)
      expect(await timed.counters.hit(key, MINUTE)).toBe(1)
    })

    it('keeps keys apart', async () => {
      const { counters } = await make()
      const [a, b] = [newKey(), newKey()]
      await counters.hit(a, MINUTE)
      await counters.hit(a, MINUTE)
      expect(await counters.hit(b, MINUTE)).toBe(1)
      expect(await counters.hit(a, MINUTE)).toBe(3)
    })

    it('keeps windows of different lengths of one key apart', async () => {
      const timed = await make()
      const key = newKey()
      await toWindowStart(timed, 60 * MINUTE)
      await timed.counters.hit(key, MINUTE)
      await timed.counters.hit(key, 60 * MINUTE)
      await timed.advance(MINUTE)
      expect(await timed.counters.hit(key, MINUTE)).toBe(1)
      expect(await timed.counters.hit(key, 60 * MINUTE)).toBe(2)
    })

    it('counts 100 concurrent hits as 100, each seeing its own count', async () => {
      const timed = await make()
      const key = newKey()
      await toWindowStart(timed, MINUTE)
      const counts = await Promise.all(Array.from({ length: 100 }, () => timed.counters.hit(key, MINUTE)))
      expect(counts.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    })

    it('goes on counting a key, one by one, while many other keys are counted in its window', async () => {
      const timed = await make()
      const key = newKey()
      await toWindowStart(timed, MINUTE)
      for (let round = 1; round <= 4; round++) {
        expect(await timed.counters.hit(key, MINUTE)).toBe(round)
        await Promise.all(Array.from({ length: 10 }, () => timed.counters.hit(newKey(), MINUTE)))
      }
    })

    it('refuses a window that is not a whole positive number of milliseconds', async () => {
      const { counters } = await make()
      await expect(counters.hit(newKey(), 0)).rejects.toThrow('windowMs')
      await expect(counters.hit(newKey(), 1.5)).rejects.toThrow('windowMs')
    })
  })
}
