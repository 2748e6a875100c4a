import type { Env } from '../config/env.js'
import { anyText, get, integer, oneOf, type SettingDocs, type Settings } from '../config/settings.js'
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

export const STATE_SETTINGS = {
  // Its form is checked by the Node entry (node/config.ts), the only one that connects to it, so that its parser
  // stays out of the Worker bundle.
  REDIS_URL: { parse: anyText, secret: true },
  SMS_HOOK_REDIS_PREFIX: { parse: anyText, default: 'sms-hook:' },
  SMS_HOOK_REDIS_DURABLE: { parse: oneOf(['none', 'wait'] as const), default: 'none' },
  SMS_HOOK_STATE_DOWN: { parse: oneOf(['send', 'refuse'] as const), default: 'send' },
  SMS_HOOK_IDEMPOTENCY_MAX_KEYS: { parse: integer({ min: 100, max: 10_000_000 }), default: '100000' },
  SMS_HOOK_GUARD_MAX_KEYS: { parse: integer({ min: 100, max: 10_000_000 }), default: '100000' },
} as const satisfies Settings

export const STATE_SETTING_DOCS: SettingDocs<typeof STATE_SETTINGS> = {
  REDIS_URL:
    'Redis shared by every replica (Node only): redis://, rediss://, redis+cluster://host:port,... or redis+sentinel://host:port,.../<master>; memory without it.',
  SMS_HOOK_REDIS_PREFIX: 'Prefix of every key the hook writes in Redis, to share one database with other applications.',
  SMS_HOOK_REDIS_DURABLE:
    'none, or wait: each write must reach a replica (WAIT 1 250) before the SMS goes; needs REDIS_URL.',
  SMS_HOOK_STATE_DOWN:
    'When the shared state does not answer: send (the SMS goes without de-duplication or guard) or refuse (503, nothing sent).',
  SMS_HOOK_IDEMPOTENCY_MAX_KEYS: 'Most idempotency keys the in-memory store remembers.',
  SMS_HOOK_GUARD_MAX_KEYS:
    'Counters the in-memory guard keeps exactly; past it new keys go into a fixed-size sketch that never counts low.',
}

export const parseStateConfig = (env: Env): StateConfig => {
  const url = get(env, STATE_SETTINGS, 'REDIS_URL')
  const durable = get(env, STATE_SETTINGS, 'SMS_HOOK_REDIS_DURABLE')
  if (durable !== 'none' && url === undefined) {
    throw new ConfigError('SMS_HOOK_REDIS_DURABLE', 'asks for replica acknowledgements, which need REDIS_URL')
  }
  return {
    redis: url === undefined ? undefined : { url, prefix: get(env, STATE_SETTINGS, 'SMS_HOOK_REDIS_PREFIX'), durable },
    stateDown: get(env, STATE_SETTINGS, 'SMS_HOOK_STATE_DOWN'),
    idempotencyMaxKeys: get(env, STATE_SETTINGS, 'SMS_HOOK_IDEMPOTENCY_MAX_KEYS'),
    guardMaxKeys: get(env, STATE_SETTINGS, 'SMS_HOOK_GUARD_MAX_KEYS'),
  }
}
