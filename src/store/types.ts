import type { Outcome } from '../outcome.js'

/**
 * Shared memory of which hook calls were already handled, so one OTP is never sent twice.
 *
 * A caller first `claim`s a key. The winner sends and then either `complete`s the key with the outcome (kept for
 * replays) or `release`s it (nothing was sent, a repeat may send). A claim is a lease: if its owner dies, the
 * claim lapses after `leaseMs` and the key can be claimed again. Everyone else `wait`s for the winner.
 *
 * Implementations: in-memory (one Node process), Redis, Durable Object. All keep the same semantics.
 */
export interface IdempotencyStore {
  claim(key: string, leaseMs: number): Promise<ClaimResult>
  /**
   * Resolves once the key is no longer in flight: `done` with the stored outcome, or `free` when the owner
   * released it or its lease lapsed. Rejects with the signal's reason when `signal` aborts first.
   */
  wait(key: string, signal: AbortSignal): Promise<WaitResult>
  /** Stores the outcome for `ttlMs`. Returns false when the lease was lost (someone else owns the key now). */
  complete(key: string, token: string, outcome: Outcome, ttlMs: number): Promise<boolean>
  /** Gives the key up without an outcome. Returns false when the lease was lost. */
  release(key: string, token: string): Promise<boolean>
}

export type ClaimResult =
  | { status: 'claimed'; token: string }
  | { status: 'in_flight' }
  | { status: 'done'; outcome: Outcome }

export type WaitResult = { status: 'done'; outcome: Outcome } | { status: 'free' }
