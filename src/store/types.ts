import type { Outcome } from '../outcome.js'

/**
 * Shared memory of which hook calls were already handled, so one OTP is never sent twice.
 *
 * A caller first `claim`s a key. The winner marks its claim as sending (`markSending`) right before it calls the
 * provider, and afterwards either `complete`s the key with the outcome (kept for replays) or `release`s it
 * (nothing was sent, a repeat may send). A claim is a lease: if its owner dies, the claim lapses after `leaseMs`.
 * A lapsed claim that was never marked is claimed again as if new; one that was marked may have sent the SMS, so
 * it is handed on as `abandoned`: the new owner must not send, and records "outcome unknown" instead. Everyone
 * else `wait`s for the owner.
 *
 * Implementations: in-memory (one Node process), Redis, Durable Object. All keep the same semantics.
 */
export interface IdempotencyStore {
  /**
   * True for a store in this process's memory, whose operations settle at once and cannot fail for want of an
   * answer: the hook then spends no timer bounding them by its deadline.
   */
  readonly local?: boolean
  claim(key: string, leaseMs: number): Promise<ClaimResult>
  /**
   * Records that the owner is about to call the provider. Returns false when the lease was lost (lapsed, or
   * someone else owns the key now): the caller must not send.
   */
  markSending(key: string, token: string): Promise<boolean>
  /**
   * Resolves once the key is no longer in flight: `done` with the stored outcome, or `free` when the owner
   * released it or its lease lapsed. Rejects with the signal's reason when `signal` aborts first.
   */
  wait(key: string, signal: AbortSignal): Promise<WaitResult>
  /**
   * Whether the claim that holds the key now is marked sending. Asked by a repeat whose deadline passed while it
   * waited: unmarked, the owner has not called the provider (and, on the same deadline, no longer will), so the
   * repeat answers that nothing was sent rather than that the SMS may be on its way. A store without it is
   * taken as marked.
   */
  markedSending?(key: string): Promise<boolean>
  /** Stores the outcome for `ttlMs`. Returns false when the lease was lost (someone else owns the key now). */
  complete(key: string, token: string, outcome: Outcome, ttlMs: number): Promise<boolean>
  /** Gives the key up without an outcome. Returns false when the lease was lost. */
  release(key: string, token: string): Promise<boolean>
}

export type ClaimResult =
  | { status: 'claimed'; token: string }
  /**
   * The previous owner's claim lapsed after it was marked sending: the caller now owns the key (the mark is kept,
   * so the next one also gets `abandoned` should this caller die too), must not send, and completes the key with
   * an outcome-unknown refusal.
   */
  | { status: 'abandoned'; token: string }
  | { status: 'in_flight' }
  | { status: 'done'; outcome: Outcome }

export type WaitResult = { status: 'done'; outcome: Outcome } | { status: 'free' }

/**
 * How long a lapsed claim that was marked sending is remembered, so that a late repeat is still refused rather
 * than sent: as long as a completed key is kept (IDEMPOTENCY_TTL_MS), far beyond GoTrue's 5 s of retries.
 */
export const SENDING_MARK_TTL_MS = 10 * 60 * 1000

/** Fixed-window counters shared by every replica. */
export interface RateCounters {
  /** As `IdempotencyStore.local`. */
  readonly local?: boolean
  /** Adds one hit to `key` in the window of `windowMs` containing now; resolves with the count in that window including this hit. */
  hit(key: string, windowMs: number): Promise<number>
  /**
   * Forgets every count: what `DELETE /dev/inbox` does in development, so that trying the guard's limits never
   * needs a restart. Only the in-memory counters have it; shared ones are never cleared from a request.
   */
  clear?(): Promise<void>
}

/** A window is a whole number of milliseconds, as Redis expiries and Durable Object alarms are. */
export const checkWindow = (windowMs: number) => {
  if (!Number.isInteger(windowMs) || windowMs < 1) throw new Error('windowMs must be a positive integer')
}
