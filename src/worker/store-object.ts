import { DurableObject } from 'cloudflare:workers'
import { untilAborted } from '../deadline.js'
import type { Outcome } from '../outcome.js'
import { SENDING_MARK_TTL_MS, type ClaimResult, type IdempotencyStore, type WaitResult } from '../store/types.js'

type Entry =
  /** `sending`: marked before the provider call; such a claim outlives its lease to be handed on as `abandoned`. */
  | { state: 'in_flight'; token: string; leaseUntil: number; sending?: boolean }
  | { state: 'done'; outcome: Outcome; expiresAt: number }

const ENTRY = 'entry'

const endOf = (entry: Entry) =>
  entry.state === 'done' ? entry.expiresAt : entry.leaseUntil + (entry.sending ? SENDING_MARK_TTL_MS : 0)

/**
 * The state of ONE idempotency key on Workers, with the semantics of `MemoryIdempotencyStore`.
 *
 * Keys are sharded one per object (`getByName(key)`) rather than kept in a single object: the keys never
 * interact (no cross-key cap is needed when each object holds one), a single object would serialise every hook
 * call of every isolate worldwide through one thread in one place, and an object is created next to the first
 * isolate that names it, which is where GoTrue's retries of that call arrive too.
 *
 * The entry lives in Durable Object storage, mirrored in memory: the runtime may evict an idle object or restart
 * it on a deploy, and a claim or an outcome must outlive the instance that recorded it. The constructor reloads
 * it before any call is served, and every change is written before the caller gets its answer. An alarm at
 * the entry's end (its lease, or SENDING_MARK_TTL_MS past it for a claim marked sending, or its TTL) deletes
 * it, so storage holds nothing once a key is forgotten.
 *
 * Waiters live in memory only: an object is not evicted while a `wait` call is open. If it is reset anyway (a
 * deploy), the waiting call fails and the hook answers 503 store_unavailable; the stored claim or outcome is
 * kept, so GoTrue's next attempt is still answered from it.
 */
export class IdempotencyObject extends DurableObject<unknown> {
  #entry: Entry | undefined
  readonly #waiters = new Set<() => void>()

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      this.#entry = await ctx.storage.get<Entry>(ENTRY)
    })
  }

  async claim(leaseMs: number): Promise<ClaimResult> {
    const entry = this.#live()
    if (entry?.state === 'done') return { status: 'done', outcome: entry.outcome }
    const now = Date.now()
    if (entry?.state === 'in_flight' && entry.leaseUntil > now) return { status: 'in_flight' }
    const token = crypto.randomUUID()
    // A live entry in flight past its lease is one marked sending whose owner died: hand it on, still marked.
    const sending = entry !== undefined
    await this.#save({ state: 'in_flight', token, leaseUntil: now + leaseMs, sending })
    return sending ? { status: 'abandoned', token } : { status: 'claimed', token }
  }

  async markSending(token: string): Promise<boolean> {
    const entry = this.#entry
    if (entry?.state !== 'in_flight' || entry.token !== token || entry.leaseUntil <= Date.now()) return false
    await this.#save({ ...entry, sending: true })
    return true
  }

  /** Settles when the key is no longer in flight; the caller's own deadline is applied on its side. */
  wait(): Promise<WaitResult> {
    const entry = this.#live()
    if (entry?.state === 'done') return Promise.resolve({ status: 'done', outcome: entry.outcome })
    if (entry === undefined || entry.leaseUntil <= Date.now()) return Promise.resolve({ status: 'free' })
    return new Promise<WaitResult>((resolve) => {
      const settle = () => {
        clearTimeout(leaseTimer)
        this.#waiters.delete(settle)
        const current = this.#live()
        resolve(current?.state === 'done' ? { status: 'done', outcome: current.outcome } : { status: 'free' })
      }
      // An owner that never comes back must not hold waiters beyond its lease.
      const leaseTimer = setTimeout(settle, Math.max(0, entry.leaseUntil - Date.now()))
      this.#waiters.add(settle)
    })
  }

  async complete(token: string, outcome: Outcome, ttlMs: number): Promise<boolean> {
    if (!this.#owns(token)) return false
    await this.#save({ state: 'done', outcome, expiresAt: Date.now() + ttlMs })
    this.#wake()
    return true
  }

  async release(token: string): Promise<boolean> {
    if (!this.#owns(token)) return false
    await this.#forget()
    this.#wake()
    return true
  }

  override async alarm(): Promise<void> {
    const entry = this.#entry
    if (entry === undefined) return
    if (this.#live() === undefined) {
      await this.#forget()
      this.#wake()
    } else {
      await this.ctx.storage.setAlarm(endOf(entry))
    }
  }

  #owns(token: string): boolean {
    return this.#entry?.state === 'in_flight' && this.#entry.token === token
  }

  /** The entry unless its lease or TTL has ended; an ended one is deleted by the alarm or overwritten. */
  #live(): Entry | undefined {
    const entry = this.#entry
    return entry !== undefined && endOf(entry) > Date.now() ? entry : undefined
  }

  async #save(entry: Entry) {
    this.#entry = entry
    await this.ctx.storage.put(ENTRY, entry)
    await this.ctx.storage.setAlarm(endOf(entry))
  }

  async #forget() {
    this.#entry = undefined
    await this.ctx.storage.deleteAlarm()
    await this.ctx.storage.deleteAll()
  }

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
    return this.#object(key).claim(leaseMs)
  }

  wait(key: string, signal: AbortSignal): Promise<WaitResult> {
    // A signal cannot cross into the object, so the deadline is kept here; the object's own wait ends with the
    // owner's lease at the latest.
    return untilAborted<WaitResult>(this.#object(key).wait() as Promise<WaitResult>, signal)
  }

  markSending(key: string, token: string): Promise<boolean> {
    return this.#object(key).markSending(token)
  }

  complete(key: string, token: string, outcome: Outcome, ttlMs: number): Promise<boolean> {
    return this.#object(key).complete(token, outcome, ttlMs)
  }

  release(key: string, token: string): Promise<boolean> {
    return this.#object(key).release(token)
  }

  #object(key: string) {
    return this.namespace.getByName(key)
  }
}
