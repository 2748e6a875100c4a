import { DurableObject } from 'cloudflare:workers'
import { systemClock, type Clock } from '../clock.js'
import { checkWindow, type RateCounters } from '../store/types.js'
import { hasEnded, isCurrent, windowEnd, windowStart, type CountedWindow } from '../store/windows.js'
import { objectCall } from './object-errors.js'

/** Storage key of the window of each length (ms): one key's minute and hour windows are two counters. */
const windowKey = (windowMs: number) => `window:${windowMs}`

/**
 * The counters of ONE rate key on Workers (`getByName(key)`), one fixed window per window length, aligned on
 * multiples of the length as on every other store.
 *
 * Keys are sharded one per object, as the idempotency store's are: counters never interact, and one object for
 * all of them would put every hook call through one thread. Counts are written to storage before the caller
 * gets them, because an object is evicted after seconds of idleness and an hour's window must survive that. An
 * alarm at the earliest window end deletes ended windows, so storage holds nothing once every window is over.
 */
export class CounterObject extends DurableObject<unknown> {
  /**
   * The objects' time. The runtime builds an object from its state and env alone, and env holds only strings
   * and bindings, so a clock cannot be handed to one; it is read from here at each call instead. Tests run the
   * objects in their own isolate and set a manual clock here (and put this one back), as the Node stores take theirs.
   */
  static clock: Clock = systemClock

  readonly #windows = new Map<number, CountedWindow>()

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      for (const [name, window] of await ctx.storage.list<CountedWindow>({ prefix: 'window:' })) {
        this.#windows.set(Number(name.slice('window:'.length)), window)
      }
    })
  }

  async hit(windowMs: number): Promise<number> {
    checkWindow(windowMs)
    const start = windowStart(CounterObject.clock.now(), windowMs)
    const current = this.#windows.get(windowMs)
    // Counted in memory before the write is awaited, so concurrent hits never read the same count.
    const window = { start, count: isCurrent(current, start) ? current.count + 1 : 1 }
    this.#windows.set(windowMs, window)
    await this.ctx.storage.put(windowKey(windowMs), window)
    if (window.count === 1) await this.#schedule()
    return window.count
  }

  override async alarm(): Promise<void> {
    const now = CounterObject.clock.now()
    for (const [windowMs, window] of this.#windows) {
      if (!hasEnded(window.start, windowMs, now)) continue
      this.#windows.delete(windowMs)
      await this.ctx.storage.delete(windowKey(windowMs))
    }
    if (this.#windows.size === 0) await this.ctx.storage.deleteAll()
    else await this.#schedule()
  }

  async #schedule() {
    let end = Infinity
    for (const [windowMs, window] of this.#windows) end = Math.min(end, windowEnd(window.start, windowMs))
    await this.ctx.storage.setAlarm(end)
  }
}

/**
 * The rate counters of the Worker: each key's hits go to that key's `CounterObject`, whichever isolate makes
 * them.
 *
 * @example
 * const counters = new DurableObjectRateCounters(env.COUNTERS)
 */
export class DurableObjectRateCounters implements RateCounters {
  constructor(readonly namespace: DurableObjectNamespace<CounterObject>) {}

  async hit(key: string, windowMs: number): Promise<number> {
    checkWindow(windowMs)
    return objectCall(() => this.namespace.getByName(key).hit(windowMs))
  }
}
