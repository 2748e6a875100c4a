import type { Clock } from '../clock.js'
import { Queue } from './queue.js'
import { checkWindow, type RateCounters } from './types.js'

export interface MemoryRateCountersOptions {
  clock: Clock
  /** Upper bound on counters kept. Past it the oldest window is forgotten, so a burst of new keys cannot grow memory. */
  maxKeys?: number
}

type Window = { id: string; start: number; end: number; count: number }

/** Ended windows forgotten per hit at most, so a burst of expiries never stalls one request. */
const SWEEP_PER_HIT = 64

/**
 * Fixed-window counters for a single Node process.
 *
 * Windows are aligned on multiples of their length (a minute window starts on the minute), as on every other
 * store, so that replicas agree on which window a hit falls in. Windows also go into a queue in the order they
 * began: ended ones are swept from its head, and at the cap the head one is forgotten. Forgetting a live counter
 * lets its key through sooner, never later: under a flood of distinct keys the guard errs on the side of sending.
 *
 * The queue, not the Map's own order, because walking a Map from its front passes every entry deleted since V8
 * last compacted it: with a flood of distinct numbers at the cap, each hit cost hundreds of microseconds.
 */
export class MemoryRateCounters implements RateCounters {
  readonly local = true
  readonly #windows = new Map<string, Window>()
  /** Windows in the order they began; one no longer in `#windows` is skipped. */
  readonly #queue = new Queue<Window>()
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
    this.#sweep(now)
    if (window !== undefined) this.#windows.delete(id)
    while (this.#windows.size >= this.#maxKeys && this.#queue.length > 0) this.#shift()
    const begun: Window = { id, start, end: start + windowMs, count: 1 }
    this.#windows.set(id, begun)
    this.#queue.push(begun)
    return 1
  }

  #sweep(now: number) {
    for (let i = 0; i < SWEEP_PER_HIT; i++) {
      const oldest = this.#queue.peek()
      if (oldest === undefined || oldest.end > now) break
      this.#shift()
    }
  }

  /** Drops the queue's oldest window, and its counter unless the key has a newer window since. */
  #shift() {
    const oldest = this.#queue.shift()!
    if (this.#windows.get(oldest.id) === oldest) this.#windows.delete(oldest.id)
  }
}
