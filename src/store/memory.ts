import type { Clock } from '../clock.js'
import type { Outcome } from '../outcome.js'
import { StoreFullError, type ClaimResult, type IdempotencyStore, type WaitResult } from './types.js'

export interface MemoryStoreOptions {
  clock: Clock
  /** Upper bound on remembered keys. Past it the oldest completed keys are forgotten, never an in-flight one. */
  maxKeys?: number
}

type Entry =
  | { state: 'in_flight'; token: string; leaseUntil: number; waiters: Set<() => void> | undefined }
  | { state: 'done'; outcome: Outcome; expiresAt: number }

/**
 * The idempotency store for a single Node process. Not for Workers, where each request may land in another
 * isolate with its own memory.
 *
 * Map insertion order doubles as age order: a completed key is re-inserted, so the first `done` entry met while
 * iterating is the oldest one to forget.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #entries = new Map<string, Entry>()
  readonly #clock: Clock
  readonly #maxKeys: number
  #nextToken = 0

  constructor(options: MemoryStoreOptions) {
    const maxKeys = options.maxKeys ?? 100_000
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new Error('maxKeys must be a positive integer')
    this.#clock = options.clock
    this.#maxKeys = maxKeys
  }

  get size(): number {
    return this.#entries.size
  }

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const now = this.#clock.now()
    const entry = this.#live(key, now)
    if (entry?.state === 'done') return { status: 'done', outcome: entry.outcome }
    if (entry?.state === 'in_flight') return { status: 'in_flight' }
    this.#makeRoom(now)
    const token = `${now.toString(36)}-${(this.#nextToken++).toString(36)}`
    this.#entries.set(key, { state: 'in_flight', token, leaseUntil: now + leaseMs, waiters: undefined })
    return { status: 'claimed', token }
  }

  wait(key: string, signal: AbortSignal): Promise<WaitResult> {
    const entry = this.#live(key, this.#clock.now())
    if (entry?.state === 'done') return Promise.resolve({ status: 'done', outcome: entry.outcome })
    if (entry === undefined) return Promise.resolve({ status: 'free' })
    if (signal.aborted) return Promise.reject(signal.reason)
    return new Promise<WaitResult>((resolve, reject) => {
      const settle = () => {
        clearTimeout(leaseTimer)
        signal.removeEventListener('abort', onAbort)
        entry.waiters?.delete(settle)
        const now = this.#clock.now()
        const current = this.#live(key, now)
        if (current?.state === 'done') resolve({ status: 'done', outcome: current.outcome })
        else resolve({ status: 'free' })
      }
      const onAbort = () => {
        clearTimeout(leaseTimer)
        entry.waiters?.delete(settle)
        reject(signal.reason)
      }
      // An owner that never comes back (crashed mid-send) must not hold waiters beyond its lease.
      const leaseTimer = setTimeout(settle, Math.max(0, entry.leaseUntil - this.#clock.now()))
      ;(entry.waiters ??= new Set()).add(settle)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  async complete(key: string, token: string, outcome: Outcome, ttlMs: number): Promise<boolean> {
    const entry = this.#owned(key, token)
    if (!entry) return false
    this.#entries.delete(key)
    this.#entries.set(key, { state: 'done', outcome, expiresAt: this.#clock.now() + ttlMs })
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

  #owned(key: string, token: string) {
    const entry = this.#entries.get(key)
    return entry?.state === 'in_flight' && entry.token === token ? entry : undefined
  }

  /** The entry for `key` unless it has expired (a lapsed lease or an outcome past its TTL). */
  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    const expired = entry.state === 'done' ? entry.expiresAt <= now : entry.leaseUntil <= now
    if (!expired) return entry
    this.#entries.delete(key)
    if (entry.state === 'in_flight') wakeAll(entry)
    return undefined
  }

  #makeRoom(now: number) {
    if (this.#entries.size < this.#maxKeys) return
    for (const [key, entry] of this.#entries) {
      if (entry.state === 'done' || entry.leaseUntil <= now) {
        this.#entries.delete(key)
        if (entry.state === 'in_flight') wakeAll(entry)
        if (this.#entries.size < this.#maxKeys) return
      }
    }
    throw new StoreFullError(`idempotency store holds ${this.#maxKeys} keys in flight`)
  }
}

/** Waiters are made only by repeats that found the key in flight; most keys never have one. */
const wakeAll = (entry: { waiters: Set<() => void> | undefined }) => {
  if (entry.waiters) for (const wake of [...entry.waiters]) wake()
}
