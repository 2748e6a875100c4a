import { integer, oneOf, text, type Env } from '../config/env.js'
import { parseRedisUrl } from './redis-url.js'

/**
 * What wins while the shared state does not answer: `send` (a sign-in must not fail because Redis blinked: the
 * SMS goes out without de-duplication and unguarded) or `refuse` (503, nothing sent).
 */
export type StateDownPolicy = 'send' | 'refuse'

/** Where the shared state lives: the idempotency keys and the guard's counters. */
export interface StateConfig {
  /** `REDIS_URL` and `SMS_HOOK_REDIS_PREFIX`: Redis for every replica; memory (Node) or Durable Objects without it. */
  redis: { url: string; prefix: string } | undefined
  stateDown: StateDownPolicy
  /** Upper bound on keys the in-memory store remembers. */
  idempotencyMaxKeys: number
}

export const parseStateConfig = (env: Env): StateConfig => {
  const url = text(env, 'REDIS_URL')
  if (url !== undefined) parseRedisUrl(url)
  return {
    redis: url === undefined ? undefined : { url, prefix: text(env, 'SMS_HOOK_REDIS_PREFIX') ?? 'sms-hook:' },
    stateDown: oneOf(env, 'SMS_HOOK_STATE_DOWN', ['send', 'refuse'] as const, 'send'),
    idempotencyMaxKeys: integer(env, 'SMS_HOOK_IDEMPOTENCY_MAX_KEYS', { fallback: 100_000, min: 100, max: 10_000_000 }),
  }
}
