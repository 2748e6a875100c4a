import { integer, type Env } from '../config/env.js'

/** Settings of the idempotency store. */
export interface StoreConfig {
  /** Upper bound on keys the in-memory store remembers. */
  idempotencyMaxKeys: number
}

export const parseStoreConfig = (env: Env): StoreConfig => ({
  idempotencyMaxKeys: integer(env, 'SMS_HOOK_IDEMPOTENCY_MAX_KEYS', { fallback: 100_000, min: 100, max: 10_000_000 }),
})
