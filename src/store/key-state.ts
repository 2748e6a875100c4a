/**
 * The life of one idempotency key (src/store/types.ts), for the stores that keep their keys themselves: the
 * in-memory store and the Durable Object. Both hand the key's entry as they hold it and the time by their clock
 * to these functions and store what they are given back, so the two cannot drift apart. Redis runs the same
 * rules as Lua scripts, next to its data (src/store/redis.ts).
 *
 * Times are milliseconds in any base, as long as `now` and the entry's times share it: the Durable Object
 * keeps Unix time, the memory store counts from its own epoch so that its times stay small integers.
 */
import type { Outcome } from '../outcome.js'
import { SENDING_MARK_TTL_MS, type ClaimResult, type WaitResult } from './types.js'

/** A claim. Its shape is what Durable Object storage holds, so a field renamed here is a migration there. */
export interface InFlight {
  readonly state: 'in_flight'
  readonly token: string
  readonly leaseUntil: number
  /** Marked by `markSending`: once the lease lapses, the key is handed on as `abandoned`, never sent again. */
  readonly sending?: boolean
}

/** A completed key: the outcome replayed to repeats until `expiresAt`. */
export interface Done {
  readonly state: 'done'
  readonly outcome: Outcome
  readonly expiresAt: number
}

export type KeyEntry = InFlight | Done

/**
 * When the entry is forgotten: a claim at the end of its lease, or SENDING_MARK_TTL_MS past it when marked
 * sending (a late repeat must still be refused); an outcome at the end of its TTL.
 */
export const endOf = (entry: KeyEntry): number =>
  entry.state === 'done' ? entry.expiresAt : entry.leaseUntil + (entry.sending === true ? SENDING_MARK_TTL_MS : 0)

/** The entry unless it has ended; a store may forget an ended entry at any time. */
export const live = (entry: KeyEntry | undefined, now: number): KeyEntry | undefined =>
  entry !== undefined && endOf(entry) > now ? entry : undefined

/** What a claim answers, and the entry to store in place of the key's one when the key changes hands. */
export type ClaimStep =
  | { result: Exclude<ClaimResult, { token: string }>; entry?: undefined }
  | { result: Extract<ClaimResult, { token: string }>; entry: InFlight }

/** `newToken` is called only when the key is handed to this caller. */
export const claim = (entry: KeyEntry | undefined, now: number, leaseMs: number, newToken: () => string): ClaimStep => {
  const current = live(entry, now)
  if (current?.state === 'done') return { result: { status: 'done', outcome: current.outcome } }
  if (current !== undefined && current.leaseUntil > now) return { result: { status: 'in_flight' } }
  // A live claim past its lease is one marked sending whose owner died: it passes to this caller, still marked,
  // and without a resend.
  const sending = current !== undefined
  const token = newToken()
  return {
    result: { status: sending ? 'abandoned' : 'claimed', token },
    entry: { state: 'in_flight', token, leaseUntil: now + leaseMs, sending },
  }
}

/**
 * Whether `token` still holds the key, so may complete or release it. Its lease need not be current: a claim
 * marked sending lives on past it, so an owner that was only slow still records what it sent. An unmarked
 * claim ends with its lease, whether or not the store has forgotten it yet (Redis has, by its expiry), so the
 * answer never depends on when an ended entry happens to be swept.
 */
export const owns = (entry: KeyEntry | undefined, token: string, now: number): entry is InFlight => {
  const current = live(entry, now)
  return current?.state === 'in_flight' && current.token === token
}

/** The marked claim to store, or undefined when the mark is refused: the lease was lost, and the caller must not send. */
export const markSending = (entry: KeyEntry | undefined, token: string, now: number): InFlight | undefined =>
  owns(entry, token, now) && entry.leaseUntil > now ? { ...entry, sending: true } : undefined

/** What a waiter sees: settled (`done`, `free`), or the claim it waits on. */
export type Peek = WaitResult | { status: 'in_flight'; token: string; leaseUntil: number }

export const peek = (entry: KeyEntry | undefined, now: number): Peek => {
  const current = live(entry, now)
  if (current?.state === 'done') return { status: 'done', outcome: current.outcome }
  // A marked claim past its lease is remembered, but nobody holds it: the waiter may claim it (as abandoned).
  if (current === undefined || current.leaseUntil <= now) return { status: 'free' }
  return { status: 'in_flight', token: current.token, leaseUntil: current.leaseUntil }
}

/** Whether a claim holds the key now and is marked sending: its owner may have called the provider. */
export const markedSending = (entry: KeyEntry | undefined, now: number): boolean => {
  const current = live(entry, now)
  return current?.state === 'in_flight' && current.leaseUntil > now && current.sending === true
}

export interface WaitOptions {
  /** The key's entry as the store holds it now. */
  entry: () => KeyEntry | undefined
  /** The store's clock, in the base of the entry's times. */
  now: () => number
  /**
   * Calls `wake` whenever the key's entry changes (claimed, completed, released, forgotten) until the returned
   * function is called. A wake that changed nothing is harmless: the waiter looks again.
   */
  subscribe: (wake: () => void) => () => void
  signal?: AbortSignal
}

/**
 * Resolves once the claim that holds the key now is gone: `done` with the outcome, or `free` when it was
 * released, its lease lapsed, or the key passed to another owner. Rejects with the signal's reason on abort.
 *
 * The lease is judged by the store's clock, the timer only says when to look: a timer fires early by that clock
 * when it rounds to the millisecond, or when the clock is not the runtime's (a manual clock in tests, one that
 * lags). Such a timer is set again for the rest of the lease, rather than tell the waiter the key is free while
 * its owner still holds it.
 */
export const waitForKey = ({ entry, now, subscribe, signal }: WaitOptions): Promise<WaitResult> => {
  const start = now()
  const first = peek(entry(), start)
  if (first.status !== 'in_flight') return Promise.resolve(first)
  if (signal?.aborted) return Promise.reject(signal.reason)
  return new Promise<WaitResult>((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer)
      unsubscribe()
      signal?.removeEventListener('abort', onAbort)
    }
    const look = () => {
      clearTimeout(timer)
      const at = now()
      const seen = peek(entry(), at)
      if (seen.status === 'in_flight' && seen.token === first.token) {
        timer = setTimeout(look, Math.max(1, seen.leaseUntil - at))
        return
      }
      stop()
      resolve(seen.status === 'in_flight' ? { status: 'free' } : seen)
    }
    const onAbort = () => {
      stop()
      reject(signal!.reason)
    }
    // An owner that never comes back (crashed mid-send) must not hold waiters beyond its lease.
    let timer = setTimeout(look, Math.max(0, first.leaseUntil - start))
    const unsubscribe = subscribe(look)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
