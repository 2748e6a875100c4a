import type { Clock } from '../clock.js'
import type { Outcome } from '../outcome.js'
import { StoreFullError } from '../errors.js'
import * as KeyState from './key-state.js'
import { Queue } from './queue.js'
import type { ClaimResult, IdempotencyStore, WaitResult } from './types.js'

export interface MemoryStoreOptions {
  clock: Clock
  /** Upper bound on remembered keys. Past it the oldest completed keys are forgotten, never an in-flight one. */
  maxKeys?: number
}

/**
 * A completed key, as small as it can be, since 100,000 of them are kept: a delivery keeps its provider and
 * message id rather than an outcome object (made again only for a replay), and the expiry is counted from the
 * store's own epoch, a small integer that V8 keeps inside the object instead of a boxed number beside it.
 */
class Done implements KeyState.Done {
  constructor(
    readonly key: string,
    /** Milliseconds after the store's epoch, as all the store's times are. */
    readonly expiresAt: number,
    /** The provider that delivered; undefined for a refusal. */
    readonly provider: string | undefined,
    /** The message id of a delivery, or the refusal itself. */
    readonly detail: string | Outcome,
  ) {}

  get state(): 'done' {
    return 'done'
  }

  get outcome(): Outcome {
    return this.provider === undefined
      ? (this.detail as Outcome)
      : { ok: true, provider: this.provider, messageId: this.detail as string }
  }
}

type Entry = KeyState.InFlight | Done

/** Expired keys forgotten per claim at most, so a burst of expiries never stalls one request. */
const SWEEP_PER_CLAIM = 64

/**
 * The idempotency store for a single Node process. Not for Workers, where each request may land in another
 * isolate with its own memory.
 *
 * Completed keys also go into a queue in completion order, which is what "oldest first" means for the cap and,
 * with one TTL, for expiry too. Evicting from the head of that queue costs the same at any size; scanning the
 * Map for the oldest completed key instead would walk past every key deleted since V8 last compacted the Map,
 * which made each claim at the cap cost tens of microseconds.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly local = true
  readonly #entries = new Map<string, Entry>()
  /** Completed entries, oldest first; an entry no longer in `#entries` is skipped. */
  readonly #done = new Queue<Done>()
  /** Wakes of the `wait`s open on a key. Apart from the entries, since most keys never have a waiter. */
  readonly #waiters = new Map<string, Set<() => void>>()
  readonly #clock: Clock
  /** The store's times count from this, so that they stay small integers. */
  readonly #epoch: number
  readonly #maxKeys: number
  #nextToken = 0

  constructor(options: MemoryStoreOptions) {
    const maxKeys = options.maxKeys ?? 100_000
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new Error('maxKeys must be a positive integer')
    this.#clock = options.clock
    this.#epoch = options.clock.now()
    this.#maxKeys = maxKeys
  }

  get size(): number {
    return this.#entries.size
  }

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const now = this.#now()
    const { result, entry } = KeyState.claim(this.#live(key, now), now, leaseMs, () => this.#token(now))
    if (entry === undefined) return result
    // A new key; an abandoned one takes the place of its lapsed claim.
    if (result.status === 'claimed') {
      this.#sweep(now)
      this.#makeRoom(now)
    }
    this.#entries.set(key, entry)
    this.#wake(key)
    return result
  }

  async markSending(key: string, token: string): Promise<boolean> {
    const marked = KeyState.markSending(this.#entries.get(key), token, this.#now())
    if (marked === undefined) return false
    this.#entries.set(key, marked)
    return true
  }

  wait(key: string, signal: AbortSignal): Promise<WaitResult> {
    return KeyState.waitForKey({
      entry: () => this.#entries.get(key),
      now: () => this.#now(),
      subscribe: (wake) => this.#subscribe(key, wake),
      signal,
    })
  }

  async markedSending(key: string): Promise<boolean> {
    return KeyState.markedSending(this.#entries.get(key), this.#now())
  }

  async complete(key: string, token: string, outcome: Outcome, ttlMs: number): Promise<boolean> {
    const now = this.#now()
    if (!KeyState.owns(this.#entries.get(key), token, now)) return false
    const expiresAt = now + ttlMs
    const done = outcome.ok
      ? new Done(key, expiresAt, outcome.provider, outcome.messageId)
      : new Done(key, expiresAt, undefined, outcome)
    this.#entries.set(key, done)
    this.#done.push(done)
    this.#wake(key)
    return true
  }

  async release(key: string, token: string): Promise<boolean> {
    if (!KeyState.owns(this.#entries.get(key), token, this.#now())) return false
    this.#entries.delete(key)
    this.#wake(key)
    return true
  }

  #now() {
    return this.#clock.now() - this.#epoch
  }

  #token(now: number) {
    return `${now.toString(36)}-${(this.#nextToken++).toString(36)}`
  }

  /** The entry for `key` unless it has ended (KeyState.endOf), which is forgotten here. */
  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined || KeyState.live(entry, now) !== undefined) return entry
    this.#entries.delete(key)
    this.#wake(key)
    return undefined
  }

  /** Forgets expired completed keys from the head of the queue, so memory follows the TTL, not the cap. */
  #sweep(now: number) {
    for (let i = 0; i < SWEEP_PER_CLAIM; i++) {
      const oldest = this.#done.peek()
      if (oldest === undefined || oldest.expiresAt > now) break
      this.#shift()
    }
  }

  #makeRoom(now: number) {
    while (this.#entries.size >= this.#maxKeys && this.#done.length > 0) this.#shift()
    if (this.#entries.size < this.#maxKeys) return
    // Every key is in flight: only a claim whose owner died (lease lapsed) may go, a marked one too: like the
    // oldest outcomes above, it is forgotten rather than refuse every new call. Rare, so a scan is fine.
    for (const [key, entry] of this.#entries) {
      if (entry.state === 'in_flight' && entry.leaseUntil <= now) {
        this.#entries.delete(key)
        this.#wake(key)
        if (this.#entries.size < this.#maxKeys) return
      }
    }
    throw new StoreFullError(`idempotency store holds ${this.#maxKeys} keys in flight`)
  }

  /** Drops the queue's oldest entry, and its key unless the key has moved on (expired and claimed again). */
  #shift() {
    const oldest = this.#done.shift()!
    if (this.#entries.get(oldest.key) === oldest) this.#entries.delete(oldest.key)
  }

  #subscribe(key: string, wake: () => void) {
    let wakes = this.#waiters.get(key)
    if (wakes === undefined) this.#waiters.set(key, (wakes = new Set()))
    wakes.add(wake)
    return () => {
      wakes.delete(wake)
      if (wakes.size === 0 && this.#waiters.get(key) === wakes) this.#waiters.delete(key)
    }
  }

  /** Makes every waiter on `key` look again: the key's entry changed. */
  #wake(key: string) {
    const wakes = this.#waiters.get(key)
    if (wakes !== undefined) for (const wake of [...wakes]) wake()
  }
}
