import type { Clock } from '../clock.js'
import { MemoryDeliveryStore } from '../delivery/memory.js'
import type { DeliveryStore } from '../delivery/types.js'
import { isStateUnavailableError, isStoreError } from '../errors.js'
import type { Logger } from '../log.js'
import type { StateConfig } from '../store/config.js'
import { MemoryRateCounters } from '../store/memory-counters.js'
import { MemoryIdempotencyStore } from '../store/memory.js'
import type { RedisState } from '../store/redis.js'
import { parseRedisUrl } from '../store/redis-url.js'
import { loadBundled } from './bundled.js'
import type { IdempotencyStore, RateCounters } from '../store/types.js'

/** The shared state of a Node server: the idempotency store, the guard's counters and the delivery records. */
export interface NodeState {
  store: IdempotencyStore
  counters: RateCounters
  /** Kept whether or not SMS_HOOK_RECEIPTS is on: the app is given it only when it is. */
  deliveries: DeliveryStore
  /**
   * Resolves when the state takes a write (`/readyz`): Redis within a second; memory always. Rejects with
   * StateUnavailableError (no answer) or StoreError (refused), whose details are logged here.
   */
  ready(): Promise<void>
  close(): Promise<void>
  /** The in-memory guard's windows, for the metrics; undefined with Redis, which keeps every window. */
  guardKeys?: () => { exact: number; max: number; sketched: number }
}

/** One log line per cause per this much time at most while Redis stays unwell: probes come every few seconds. */
const ERROR_LOG_INTERVAL_MS = 60_000

/**
 * Redis when REDIS_URL is set, shared by every replica; memory otherwise, which one process alone sees and a
 * restart forgets. Never waits for Redis: an unreachable one shows in `/readyz` and in what each call does
 * (`SMS_HOOK_STATE_DOWN`), not in whether the server starts.
 */
export const createNodeState = (config: StateConfig, deps: { clock: Clock; logger: Logger }): NodeState => {
  const { clock, logger } = deps
  if (config.redis === undefined) {
    const counters = new MemoryRateCounters({ clock, maxKeys: config.guardMaxKeys })
    return {
      store: new MemoryIdempotencyStore({ clock, maxKeys: config.idempotencyMaxKeys }),
      counters,
      // One record per send, as the idempotency store keeps one key per call: the same bound fits both.
      deliveries: new MemoryDeliveryStore({ clock, maxRecords: config.idempotencyMaxKeys }),
      ready: async () => {},
      close: async () => {},
      guardKeys: () => ({ ...counters.stats(), max: config.guardMaxKeys }),
    }
  }
  const loggedAt = new Map<string, number>()
  /** True the first time `cause` is seen in a minute: a probe every few seconds must not flood the log. */
  const due = (cause: string) => {
    const now = clock.now()
    if (now - (loggedAt.get(cause) ?? -Infinity) < ERROR_LOG_INTERVAL_MS) return false
    loggedAt.set(cause, now)
    return true
  }
  // A malformed REDIS_URL stops start-up here, as it would if the client were made now.
  parseRedisUrl(config.redis.url)
  const { url, prefix, durable } = config.redis
  // ioredis and the store's schemas are a third of the start-up time: loaded only when REDIS_URL is set, and
  // without holding up the listening socket. Every operation waits for them (a few ms, once).
  const loading = redisModule().then(({ createRedisState, fromRedisError }) =>
    createRedisState({
      url,
      prefix,
      durable,
      clock,
      onError: (error) => {
        // Read as a failed command would be: a refusal's server word, or silence's system code.
        const cause = causeOf(fromRedisError(error, error))
        if (!due(`connection:${cause}`)) return
        if (CREDENTIALS.has(cause)) {
          // Nothing will work until the setting is fixed: said as an error, naming it.
          logger.error('shared state (Redis) refuses the credentials of REDIS_URL; every call is refused meanwhile', {
            cause,
            error: error.message,
          })
        } else {
          logger.warn('shared state (Redis) connection error; reconnecting', { cause, error: error.message })
        }
      },
    }),
  )
  return {
    ...deferred(loading),
    ready: async () => {
      try {
        await (await loading).ready()
      } catch (error) {
        const cause = causeOf(error)
        if (due(`ready:${cause}`)) {
          logger.warn(
            isStoreError(error) ? 'shared state (Redis) refuses writes' : 'shared state (Redis) not answering',
            {
              cause,
              error: error instanceof Error ? error.message : String(error),
            },
          )
        }
        throw error
      }
    },
    close: async () => (await loading).close(),
  }
}

/** The build's bundle of the Redis state with its code cache (./bundled.ts), else the module itself. */
const redisModule = async () =>
  loadBundled<typeof import('../store/redis.js')>(new URL('../store/redis.cjs', import.meta.url)) ??
  (await import('../store/redis.js'))

/** The Redis stores and counters before their module is loaded: each call waits for it, then is theirs. */
const deferred = (loading: Promise<RedisState>): Pick<NodeState, 'store' | 'counters' | 'deliveries'> => {
  const store = loading.then((redis) => redis.store)
  const counters = loading.then((redis) => redis.counters)
  const deliveries = loading.then((redis) => redis.deliveries)
  return {
    store: {
      claim: async (key, leaseMs) => (await store).claim(key, leaseMs),
      markSending: async (key, token) => (await store).markSending(key, token),
      wait: async (key, signal) => (await store).wait(key, signal),
      markedSending: async (key) => {
        const loaded = await store
        // Every store says whether a key is marked; one that could not would be asked nothing.
        return loaded.markedSending ? loaded.markedSending(key) : true
      },
      complete: async (key, token, outcome, ttlMs) => (await store).complete(key, token, outcome, ttlMs),
      release: async (key, token) => (await store).release(key, token),
    },
    counters: { hit: async (key, windowMs) => (await counters).hit(key, windowMs) },
    deliveries: {
      record: async (record, ttlMs) => (await deliveries).record(record, ttlMs),
      apply: async (update, ttlMs) => (await deliveries).apply(update, ttlMs),
      get: async (reference) => (await deliveries).get(reference),
      forNumber: async (number, limit) => (await deliveries).forNumber(number, limit),
      due: async (now, limit) => (await deliveries).due(now, limit),
      reschedule: async (reference, reconcileAt) => (await deliveries).reschedule(reference, reconcileAt),
    },
  }
}

/** The server's answers to a user or password it does not take. */
const CREDENTIALS = new Set(['WRONGPASS', 'NOAUTH', 'NOPERM'])

/**
 * The cause of a failure in one word, which the log is rate-limited by: the server's error code for a refusal
 * (`OOM`, `READONLY`), the system's for silence (`ECONNREFUSED`, `ENOTFOUND`), else `timeout` or `closed`.
 */
const causeOf = (error: unknown): string => {
  if (isStoreError(error)) return error.code ?? error.reason
  if (isStateUnavailableError(error)) return error.code ?? 'unknown'
  return 'unknown'
}
