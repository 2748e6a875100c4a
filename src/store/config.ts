import { integer, oneOf, text, type Env } from '../config/env.js'
import { ConfigError } from '../errors.js'

/**
 * What wins while the shared state does not answer: `send` (a sign-in must not fail because Redis blinked: the
 * SMS goes out without de-duplication and unguarded) or `refuse` (503, nothing sent). A state that answers with
 * an error (full, read-only) is never "down": such a call is refused whatever this says.
 */
export type StateDownPolicy = 'send' | 'refuse'

/** Where the shared state lives: the idempotency keys and the guard's counters. */
export interface StateConfig {
  /**
   * `REDIS_URL`, `SMS_HOOK_REDIS_PREFIX` and `SMS_HOOK_REDIS_DURABLE`: Redis for every replica; memory (Node) or
   * Durable Objects without it.
   */
  redis: { url: string; prefix: string; durable: 'none' | 'wait' } | undefined
  stateDown: StateDownPolicy
  /** Upper bound on keys the in-memory store remembers. */
  idempotencyMaxKeys: number
  /** Counters the in-memory guard keeps exactly; past it, new keys are counted in a fixed-size sketch. */
  guardMaxKeys: number
}

export const parseStateConfig = (env: Env): StateConfig => {
  // Its form is checked by the Node entry (node/config.ts), the only one that connects to it.
  const url = text(env, 'REDIS_URL')
  const durable = oneOf(env, 'SMS_HOOK_REDIS_DURABLE', ['none', 'wait'] as const, 'none')
  if (durable !== 'none' && url === undefined) {
    throw new ConfigError('SMS_HOOK_REDIS_DURABLE', 'asks for replica acknowledgements, which need REDIS_URL')
  }
  return {
    redis: url === undefined ? undefined : { url, prefix: text(env, 'SMS_HOOK_REDIS_PREFIX') ?? 'sms-hook:', durable },
    stateDown: oneOf(env, 'SMS_HOOK_STATE_DOWN', ['send', 'refuse'] as const, 'send'),
    idempotencyMaxKeys: integer(env, 'SMS_HOOK_IDEMPOTENCY_MAX_KEYS', { fallback: 100_000, min: 100, max: 10_000_000 }),
    guardMaxKeys: integer(env, 'SMS_HOOK_GUARD_MAX_KEYS', { fallback: 100_000, min: 100, max: 10_000_000 }),
  }
}
