import type { Clock } from '../clock.js'
import type { Logger } from '../log.js'
import type { StateConfig } from '../store/config.js'
import { MemoryRateCounters } from '../store/memory-counters.js'
import { MemoryIdempotencyStore } from '../store/memory.js'
import { createRedisState } from '../store/redis.js'
import type { IdempotencyStore, RateCounters } from '../store/types.js'

/** The shared state of a Node server: the idempotency store and the guard's counters. */
export interface NodeState {
  store: IdempotencyStore
  counters: RateCounters
  /** Resolves when the state answers (`/readyz`): Redis within a second; memory always. */
  ready(): Promise<void>
  close(): Promise<void>
}

/** One log line per this much time at most while Redis stays unreachable: the client retries every 2 s. */
const ERROR_LOG_INTERVAL_MS = 60_000

/**
 * Redis when REDIS_URL is set, shared by every replica; memory otherwise, which one process alone sees and a
 * restart forgets. Never waits for Redis: an unreachable one shows in `/readyz` and in what each call does
 * (`SMS_HOOK_STATE_DOWN`), not in whether the server starts.
 */
export const createNodeState = (config: StateConfig, deps: { clock: Clock; logger: Logger }): NodeState => {
  const { clock, logger } = deps
  if (config.redis === undefined) {
    return {
      store: new MemoryIdempotencyStore({ clock, maxKeys: config.idempotencyMaxKeys }),
      counters: new MemoryRateCounters({ clock }),
      ready: async () => {},
      close: async () => {},
    }
  }
  let loggedAt = -Infinity
  const redis = createRedisState({
    url: config.redis.url,
    prefix: config.redis.prefix,
    clock,
    onError: (error) => {
      const now = clock.now()
      if (now - loggedAt < ERROR_LOG_INTERVAL_MS) return
      loggedAt = now
      logger.warn('shared state (Redis) connection error; reconnecting', { error: error.message })
    },
  })
  return { store: redis.store, counters: redis.counters, ready: () => redis.ping(), close: () => redis.close() }
}
