import type { Clock } from '../clock.js'
import { checkWindow, type RateCounters } from './types.js'

export interface MemoryRateCountersOptions {
  clock: Clock
  /** Upper bound on counters kept. Past it the oldest window is forgotten, so a burst of new keys cannot grow memory. */
  maxKeys?: number
}

type Window = { start: number; end: number; count: number }

/** Ended windows forgotten per hit at most, so a burst of expiries never stalls one request. */
const SWEEP_PER_HIT = 64

/**
 * Fixed-window counters for a single Node process.
 *
 * Windows are aligned on multiples of their length (a minute window starts on the minute), as on every other
 * store, so that replicas agree on which window a hit falls in. A counter moves to the end of the Map when its
 * window restarts, so the Map's order is the order windows began: ended ones are swept from the front, and at the
 * cap the front one is forgotten. Forgetting a live counter lets its key through sooner, never later: under a
 * flood of distinct keys the guard errs on the side of sending.
 */
export class MemoryRateCounters implements RateCounters {
  readonly local = true
  readonly #windows = new Map<string, Window>()
  readonly #clock: Clock
  readonly #maxKeys: number

  constructor(options: MemoryRateCountersOptions) {
    const maxKeys = options.maxKeys ?? 100_000
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new Error('maxKeys must be a positive integer')
    this.#clock = options.clock
    this.#maxKeys = maxKeys
  }

  get size(): number {
    return this.#windows.size
  }

  async hit(key: string, windowMs: number): Promise<number> {
    checkWindow(windowMs)
    const now = this.#clock.now()
    const start = now - (now % windowMs)
    // The length is part of the name: a minute and an hour window of one key are two counters.
    const id = `${windowMs}:${key}`
    const window = this.#windows.get(id)
    if (window?.start === start) return ++window.count
    this.#windows.delete(id)
    this.#sweep(now)
    while (this.#windows.size >= this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!)
    this.#windows.set(id, { start, end: start + windowMs, count: 1 })
    return 1
  }

  #sweep(now: number) {
    let swept = 0
    for (const [id, window] of this.#windows) {
      if (window.end > now || swept++ === SWEEP_PER_HIT) break
      this.#windows.delete(id)
    }
  }
}
