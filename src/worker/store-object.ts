import { DurableObject } from 'cloudflare:workers'
import { systemClock, type Clock } from '../clock.js'
import { untilAborted } from '../deadline.js'
import type { Outcome } from '../outcome.js'
import * as KeyState from '../store/key-state.js'
import type { ClaimResult, IdempotencyStore, WaitResult } from '../store/types.js'
import { objectCall } from './object-errors.js'

const ENTRY = 'entry'

/** The objects' time, read at each call: `IdempotencyObject.clock`. */
const now = () => IdempotencyObject.clock.now()

/**
 * The state of ONE idempotency key on Workers, by the same rules as `MemoryIdempotencyStore` (store/key-state.ts).
 *
 * Keys are sharded one per object (`getByName(key)`) rather than kept in a single object: the keys never
 * interact (no cross-key cap is needed when each object holds one), a single object would serialise every hook
 * call of every isolate worldwide through one thread in one place, and an object is created next to the first
 * isolate that names it, which is where GoTrue's retries of that call arrive too.
 *
 * The entry lives in Durable Object storage, mirrored in memory: the runtime may evict an idle object or restart
 * it on a deploy, and a claim or an outcome must outlive the instance that recorded it. The constructor reloads
 * it before any call is served, and every change is written before the caller gets its answer. An alarm at
 * the entry's end (KeyState.endOf) deletes it, so storage holds nothing once a key is forgotten.
 *
 * Waiters live in memory only: an object is not evicted while a `wait` call is open. If it is reset anyway (a
 * deploy), the waiting call fails and the hook answers 503 store_unavailable; the stored claim or outcome is
 * kept, so GoTrue's next attempt is still answered from it.
 */
export class IdempotencyObject extends DurableObject<unknown> {
  /**
   * The objects' time, as `CounterObject.clock`: the runtime builds an object from its state and env alone, and
   * env holds only strings and bindings, so a clock cannot be handed to one; it is read from here at each call
   * instead, which also reaches objects already built. Tests run the objects in their own isolate
   * (vitest-pool-workers) and set a manual clock here, then put this one back.
   */
  static clock: Clock = systemClock

  #entry: KeyState.KeyEntry | undefined
  readonly #waiters = new Set<() => void>()

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      this.#entry = await ctx.storage.get<KeyState.KeyEntry>(ENTRY)
    })
  }

  async claim(leaseMs: number): Promise<ClaimResult> {
    const { result, entry } = KeyState.claim(this.#entry, now(), leaseMs, () => crypto.randomUUID())
    if (entry !== undefined) await this.#save(entry)
    return result
  }

  async markSending(token: string): Promise<boolean> {
    const marked = KeyState.markSending(this.#entry, token, now())
    if (marked === undefined) return false
    await this.#save(marked)
    return true
  }

  /** Settles when the key is no longer in flight; the caller's own deadline is applied on its side. */
  wait(): Promise<WaitResult> {
    return KeyState.waitForKey({
      entry: () => this.#entry,
      now,
      subscribe: (wake) => {
        this.#waiters.add(wake)
        return () => void this.#waiters.delete(wake)
      },
    })
  }

  markedSending(): boolean {
    return KeyState.markedSending(this.#entry, now())
  }

  async complete(token: string, outcome: Outcome, ttlMs: number): Promise<boolean> {
    const at = now()
    if (!KeyState.owns(this.#entry, token, at)) return false
    await this.#save({ state: 'done', outcome, expiresAt: at + ttlMs })
    return true
  }

  async release(token: string): Promise<boolean> {
    if (!KeyState.owns(this.#entry, token, now())) return false
    await this.#forget()
    return true
  }

  override async alarm(): Promise<void> {
    const entry = this.#entry
    if (entry === undefined) return
    if (KeyState.live(entry, now()) === undefined) await this.#forget()
    else await this.#setAlarm(entry)
  }

  async #save(entry: KeyState.KeyEntry) {
    this.#entry = entry
    await this.ctx.storage.put(ENTRY, entry)
    await this.#setAlarm(entry)
    this.#wake()
  }

  async #forget() {
    this.#entry = undefined
    await this.ctx.storage.deleteAlarm()
    await this.ctx.storage.deleteAll()
    this.#wake()
  }

  /**
   * An alarm at the entry's end by the clock. Alarms run on the runtime's time, so the alarm is set the rest of
   * the entry's life from the runtime's now: the same moment under the system clock, and one that still comes
   * under a clock that stands still or lags (the alarm then finds the entry live and sets itself again).
   */
  #setAlarm(entry: KeyState.KeyEntry) {
    return this.ctx.storage.setAlarm(Date.now() + Math.max(0, KeyState.endOf(entry) - now()))
  }

  /** Makes every waiter look again: the entry changed. */
  #wake() {
    for (const wake of [...this.#waiters]) wake()
  }
}

/**
 * The idempotency store of the Worker: each key's calls go to that key's `IdempotencyObject`, whichever isolate
 * makes them. Stubs are made per call, because a stub belongs to the request that made it and the app outlives
 * requests.
 *
 * @example
 * const store = new DurableObjectIdempotencyStore(env.IDEMPOTENCY)
 */
export class DurableObjectIdempotencyStore implements IdempotencyStore {
  constructor(readonly namespace: DurableObjectNamespace<IdempotencyObject>) {}

  claim(key: string, leaseMs: number): Promise<ClaimResult> {
    return objectCall<ClaimResult>(() => this.#object(key).claim(leaseMs))
  }

  wait(key: string, signal: AbortSignal): Promise<WaitResult> {
    // A signal cannot cross into the object, so the deadline is kept here; the object's own wait ends with the
    // owner's lease at the latest.
    return untilAborted(
      objectCall<WaitResult>(() => this.#object(key).wait()),
      signal,
    )
  }

  markSending(key: string, token: string): Promise<boolean> {
    return objectCall(() => this.#object(key).markSending(token))
  }

  markedSending(key: string): Promise<boolean> {
    return objectCall(async () => (await this.#object(key).markedSending()) === true)
  }

  complete(key: string, token: string, outcome: Outcome, ttlMs: number): Promise<boolean> {
    return objectCall(() => this.#object(key).complete(token, outcome, ttlMs))
  }

  release(key: string, token: string): Promise<boolean> {
    return objectCall(() => this.#object(key).release(token))
  }

  #object(key: string) {
    return this.namespace.getByName(key)
  }
}
