import type { Clock } from '../clock.js'
import type { Outcome } from '../outcome.js'
import { StoreFullError } from '../errors.js'
import { Queue } from './queue.js'
import { SENDING_MARK_TTL_MS, type ClaimResult, type IdempotencyStore, type WaitResult } from './types.js'

export interface MemoryStoreOptions {
  clock: Clock
  /** Upper bound on remembered keys. Past it the oldest completed keys are forgotten, never an in-flight one. */
  maxKeys?: number
}

type InFlight = {
  state: 'in_flight'
  token: string
  leaseUntil: number
  /** Marked by `markSending`: once the lease lapses, the key is handed on as `abandoned`, never sent again. */
  sending: boolean
  waiters: Set<() => void> | undefined
}
/**
 * A completed key, as small as it can be, since 100,000 of them are kept: a delivery keeps its provider and
 * message id rather than an outcome object (made again only for a replay), and the expiry is counted from the
 * store's own epoch, a small integer that V8 keeps inside the object instead of a boxed number beside it.
 */
class Done {
  constructor(
    readonly key: string,
    /** Milliseconds after the store's epoch. */
    readonly until: number,
    /** The provider that delivered; undefined for a refusal. */
    readonly provider: string | undefined,
    /** The message id of a delivery, or the refusal itself. */
    readonly detail: string | Outcome,
  ) {}

  get state(): 'done' {
    return 'done'
  }

  get outcome(): Outcome {
    return this.provider === undefined ? (this.detail as Outcome) : { ok: true, provider: this.provider, messageId: this.detail as string }
  }
}

type Entry = InFlight | Done

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
  readonly #clock: Clock
  /** Expiries are kept relative to this, so that they stay small integers. */
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
    const now = this.#clock.now()
    const entry = this.#live(key, now)
    if (entry?.state === 'done') return { status: 'done', outcome: entry.outcome }
    if (entry?.state === 'in_flight') {
      if (entry.leaseUntil > now) return { status: 'in_flight' }
      // Its owner died after it may have sent: the key passes to this caller, still marked, without a resend.
      const token = this.#token(now)
      this.#entries.set(key, { state: 'in_flight', token, leaseUntil: now + leaseMs, sending: true, waiters: undefined })
      wakeAll(entry)
      return { status: 'abandoned', token }
    }
    this.#sweep(now)
    this.#makeRoom(now)
    const token = this.#token(now)
    this.#entries.set(key, { state: 'in_flight', token, leaseUntil: now + leaseMs, sending: false, waiters: undefined })
    return { status: 'claimed', token }
  }

  async markSending(key: string, token: string): Promise<boolean> {
    const entry = this.#owned(key, token)
    if (!entry || entry.leaseUntil <= this.#clock.now()) return false
    entry.sending = true
    return true
  }

  wait(key: string, signal: AbortSignal): Promise<WaitResult> {
    const now = this.#clock.now()
    const entry = this.#live(key, now)
    if (entry?.state === 'done') return Promise.resolve({ status: 'done', outcome: entry.outcome })
    if (entry === undefined || entry.leaseUntil <= now) return Promise.resolve({ status: 'free' })
    if (signal.aborted) return Promise.reject(signal.reason)
    return new Promise<WaitResult>((resolve, reject) => {
      const settle = () => {
        clearTimeout(leaseTimer)
        const now = this.#clock.now()
        const current = this.#live(key, now)
        if (current === entry && entry.leaseUntil > now) {
          // The lease timer fired a little before the lease's end by the clock (timers round to the
          // millisecond): the owner still holds the key, so keep waiting rather than report it free.
          leaseTimer = setTimeout(settle, Math.max(1, entry.leaseUntil - now))
          return
        }
        signal.removeEventListener('abort', onAbort)
        entry.waiters?.delete(settle)
        if (current?.state === 'done') resolve({ status: 'done', outcome: current.outcome })
        else resolve({ status: 'free' })
      }
      const onAbort = () => {
        clearTimeout(leaseTimer)
        entry.waiters?.delete(settle)
        reject(signal.reason)
      }
      // An owner that never comes back (crashed mid-send) must not hold waiters beyond its lease.
      let leaseTimer = setTimeout(settle, Math.max(0, entry.leaseUntil - this.#clock.now()))
      ;(entry.waiters ??= new Set()).add(settle)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  async complete(key: string, token: string, outcome: Outcome, ttlMs: number): Promise<boolean> {
    const entry = this.#owned(key, token)
    if (!entry) return false
    const until = this.#clock.now() + ttlMs - this.#epoch
    const done = outcome.ok ? new Done(key, until, outcome.provider, outcome.messageId) : new Done(key, until, undefined, outcome)
    this.#entries.set(key, done)
    this.#done.push(done)
    wakeAll(entry)
    return true
  }

  async release(key: string, token: string): Promise<boolean> {
    const entry = this.#owned(key, token)
    if (!entry) return false
    this.#entries.delete(key)
    wakeAll(entry)
    return true
  }

  #token(now: number) {
    return `${now.toString(36)}-${(this.#nextToken++).toString(36)}`
  }

  #owned(key: string, token: string) {
    const entry = this.#entries.get(key)
    return entry?.state === 'in_flight' && entry.token === token ? entry : undefined
  }

  /**
   * The entry for `key` unless it has expired: an outcome past its TTL, or a lapsed lease that was not marked
   * sending. A lapsed claim that was marked stays (for SENDING_MARK_TTL_MS) to be handed on as `abandoned`.
   */
  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    const expired =
      entry.state === 'done'
        ? entry.until + this.#epoch <= now
        : entry.leaseUntil + (entry.sending ? SENDING_MARK_TTL_MS : 0) <= now
    if (!expired) return entry
    this.#entries.delete(key)
    if (entry.state === 'in_flight') wakeAll(entry)
    return undefined
  }

  /** Forgets expired completed keys from the head of the queue, so memory follows the TTL, not the cap. */
  #sweep(now: number) {
    for (let i = 0; i < SWEEP_PER_CLAIM; i++) {
      const oldest = this.#done.peek()
      if (oldest === undefined || oldest.until + this.#epoch > now) break
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
        wakeAll(entry)
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
}

/** Waiters are made only by repeats that found the key in flight; most keys never have one. */
const wakeAll = (entry: { waiters: Set<() => void> | undefined }) => {
  if (entry.waiters) for (const wake of [...entry.waiters]) wake()
}
