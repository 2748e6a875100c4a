/**
 * Shared state on Redis (or Valkey): the idempotency store and the rate counters of every replica.
 *
 * Key layout (`prefix` is `sms-hook:` by default; every key carries a TTL, so Redis never keeps one forever):
 * - `<prefix>idem:<key>`: a hash per idempotency key. `s` is `c` (claimed) or `d` (done); a claim has `t` (the
 *   owner's token), `u` (its lease end) and `m` = `1` once marked sending; a done key has `o` (the outcome as
 *   JSON). `x` is when the key is forgotten: the lease end, the lease end plus SENDING_MARK_TTL_MS for a marked
 *   claim, or the end of the outcome's TTL. The key's own expiry (PEXPIRE) is set to the same moment, so an
 *   owner that dies leaves nothing behind.
 * - `<prefix>rate:<key>:<windowMs>:<windowStart>`: a counter per fixed window, expiring when its window ends.
 *
 * Every operation is one Lua script that reads and writes exactly one key, named in KEYS: a claim cannot
 * interleave with another (no read-then-write across round trips), and each script runs on the node that owns
 * its key's slot, so the layout needs no change on Redis Cluster or Valkey. The client connects to one endpoint:
 * a standalone server or primary, or a managed service's single endpoint.
 *
 * Times come from the injected clock (the replica's own, kept by NTP) and are passed to the scripts: leases last
 * seconds, so the milliseconds that replicas' clocks differ by do not matter, and tests can move time by hand.
 */
import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { Redis, type RedisOptions } from 'ioredis'
import { systemClock, type Clock } from '../clock.js'
import { sleep, untilAborted, withTimeout } from '../deadline.js'
import { StateUnavailableError } from '../errors.js'
import type { Outcome } from '../outcome.js'
import { parseRedisUrl } from './redis-url.js'
import {
  checkWindow,
  SENDING_MARK_TTL_MS,
  type ClaimResult,
  type IdempotencyStore,
  type RateCounters,
  type WaitResult,
} from './types.js'

export interface RedisStateOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS (REDIS_URL). */
  url: string
  /** Put before every key, so that one Redis can serve several deployments. Default `sms-hook:`. */
  prefix?: string
  clock?: Clock
  /** How long one connection attempt may take before it is dropped and tried again. Default 2000. */
  connectTimeoutMs?: number
  /** How long one command may take before it fails with StateUnavailableError. Default 500. */
  commandTimeoutMs?: number
  /** How often `wait` looks at a key in flight. Default 50. */
  pollIntervalMs?: number
  /** Connection errors, reported as they happen while the client reconnects in the background (for logs). */
  onError?: (error: Error) => void
}

export interface RedisState {
  store: IdempotencyStore
  counters: RateCounters
  /** Resolves when Redis answers within a second; rejects with StateUnavailableError otherwise (`/readyz`). */
  ping(): Promise<void>
  /** Closes the connection; every later operation fails. */
  close(): Promise<void>
}

const PING_TIMEOUT_MS = 1000

/**
 * Connects to Redis in the background and returns the stores that use it. Never blocks and never throws for an
 * unreachable Redis (only for a malformed URL): until the connection is up, and whenever it is lost, every
 * operation fails at once with StateUnavailableError instead of being queued, and the client keeps reconnecting.
 *
 * @example
 * const state = createRedisState({ url: 'redis://redis:6379', onError: (e) => logger.warn(e.message) })
 * const app = createApp(config, { store: state.store, ... })
 */
export const createRedisState = (options: RedisStateOptions): RedisState => {
  const prefix = options.prefix ?? 'sms-hook:'
  const clock = options.clock ?? systemClock
  const pollIntervalMs = positive(options.pollIntervalMs ?? 50, 'pollIntervalMs')
  const client = new Redis({
    ...redisOptionsFromUrl(options.url),
    connectTimeout: positive(options.connectTimeoutMs ?? 2000, 'connectTimeoutMs'),
    commandTimeout: positive(options.commandTimeoutMs ?? 500, 'commandTimeoutMs'),
    // A command is never held back for a connection that may not come: it fails now, and the hook decides.
    enableOfflineQueue: false,
    // Nor is one sent again after a connection drops under it: the first send may have run (a claim made),
    // and a second would find the caller's own claim in flight.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(100 * 2 ** (attempt - 1), 2000),
    scripts: SCRIPTS,
  }) as Redis & Scripts
  // Without a listener, ioredis reports each failed reconnection on the console.
  client.on('error', (error: Error) => options.onError?.(error))

  return {
    store: new RedisIdempotencyStore(client, prefix, clock, pollIntervalMs),
    counters: new RedisRateCounters(client, prefix, clock),
    async ping() {
      await withTimeout(command(client.ping()), PING_TIMEOUT_MS, () => new StateUnavailableError('redis: no answer to PING within 1 s'))
    },
    async close() {
      try {
        await client.quit()
      } catch {
        // Not connected: nothing to say goodbye to, only reconnection to stop.
        client.disconnect()
      }
    },
  }
}

/** The connection settings of a REDIS_URL (`parseRedisUrl`), with TLS as ioredis takes it. */
export const redisOptionsFromUrl = (
  url: string,
): Pick<RedisOptions, 'host' | 'port' | 'username' | 'password' | 'db' | 'tls'> => {
  const { tls, ...endpoint } = parseRedisUrl(url)
  // SNI carries the host name, which managed Redis services route on; an address has none.
  return { ...endpoint, tls: tls ? (isIP(endpoint.host) ? {} : { servername: endpoint.host }) : undefined }
}

/** Any failure of a Redis call (refused, dropped, timed out, or an error reply) as StateUnavailableError. */
const command = async <T>(pending: Promise<T>): Promise<T> => {
  try {
    return await pending
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    throw new StateUnavailableError(`redis: ${detail}`, { cause: error })
  }
}

class RedisIdempotencyStore implements IdempotencyStore {
  constructor(
    readonly client: Scripts,
    readonly prefix: string,
    readonly clock: Clock,
    readonly pollIntervalMs: number,
  ) {}

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const token = randomUUID()
    const [status, outcome] = await command(
      this.client.smsHookClaim(this.#key(key), this.clock.now(), leaseMs, token, SENDING_MARK_TTL_MS),
    )
    if (status === 'done') return { status, outcome: JSON.parse(outcome!) as Outcome }
    if (status === 'in_flight') return { status }
    return { status, token }
  }

  async markSending(key: string, token: string): Promise<boolean> {
    return (await command(this.client.smsHookMarkSending(this.#key(key), this.clock.now(), token, SENDING_MARK_TTL_MS))) === 1
  }

  async complete(key: string, token: string, outcome: Outcome, ttlMs: number): Promise<boolean> {
    const stored = JSON.stringify(outcome)
    return (await command(this.client.smsHookComplete(this.#key(key), this.clock.now(), token, stored, ttlMs))) === 1
  }

  async release(key: string, token: string): Promise<boolean> {
    return (await command(this.client.smsHookRelease(this.#key(key), this.clock.now(), token))) === 1
  }

  /**
   * Looks at the key every `pollIntervalMs` until it is done, released or lapsed. Polling rather than pub/sub:
   * it needs no second connection, and a replica that missed a message (reconnecting, a failover) loses nothing.
   */
  async wait(key: string, signal: AbortSignal): Promise<WaitResult> {
    for (;;) {
      signal.throwIfAborted()
      const [status, outcome] = await untilAborted(command(this.client.smsHookPeek(this.#key(key), this.clock.now())), signal)
      if (status === 'done') return { status, outcome: JSON.parse(outcome!) as Outcome }
      if (status === 'free') return { status }
      await sleep(this.pollIntervalMs, signal)
    }
  }

  #key(key: string) {
    return `${this.prefix}idem:${key}`
  }
}

class RedisRateCounters implements RateCounters {
  constructor(
    readonly client: Scripts,
    readonly prefix: string,
    readonly clock: Clock,
  ) {}

  async hit(key: string, windowMs: number): Promise<number> {
    checkWindow(windowMs)
    const now = this.clock.now()
    const start = now - (now % windowMs)
    const counter = `${this.prefix}rate:${key}:${windowMs}:${start}`
    return command(this.client.smsHookHit(counter, start + windowMs - now))
  }
}

const positive = (value: number, name: string) => {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
  return value
}

/** The scripts as ioredis defines them on the client (EVALSHA, falling back to EVAL once per connection). */
interface Scripts {
  smsHookClaim(key: string, now: number, leaseMs: number, token: string, markTtlMs: number): Promise<[ClaimStatus, string?]>
  smsHookMarkSending(key: string, now: number, token: string, markTtlMs: number): Promise<0 | 1>
  smsHookComplete(key: string, now: number, token: string, outcome: string, ttlMs: number): Promise<0 | 1>
  smsHookRelease(key: string, now: number, token: string): Promise<0 | 1>
  smsHookPeek(key: string, now: number): Promise<['done' | 'in_flight' | 'free', string?]>
  smsHookHit(key: string, windowLeftMs: number): Promise<number>
}

type ClaimStatus = 'claimed' | 'abandoned' | 'in_flight' | 'done'

/**
 * An entry is live while `now < x`; a claim's lease holds while `now < u`. A live claim past its lease can
 * only be one marked sending (an unmarked claim is forgotten at its lease end).
 */
const SCRIPTS = {
  smsHookClaim: {
    numberOfKeys: 1,
    lua: `
local now, lease, mark = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
local e = redis.call('HMGET', KEYS[1], 's', 'u', 'm', 'x', 'o')
if e[1] and tonumber(e[4]) > now then
  if e[1] == 'd' then return {'done', e[5]} end
  if tonumber(e[2]) > now then return {'in_flight'} end
  if e[3] == '1' then
    redis.call('HSET', KEYS[1], 't', ARGV[3], 'u', now + lease, 'x', now + lease + mark)
    redis.call('PEXPIRE', KEYS[1], lease + mark)
    return {'abandoned'}
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', 'c', 't', ARGV[3], 'u', now + lease, 'x', now + lease)
redis.call('PEXPIRE', KEYS[1], lease)
return {'claimed'}`,
  },
  smsHookMarkSending: {
    numberOfKeys: 1,
    lua: `
local now = tonumber(ARGV[1])
local e = redis.call('HMGET', KEYS[1], 's', 't', 'u')
if e[1] ~= 'c' or e[2] ~= ARGV[2] or tonumber(e[3]) <= now then return 0 end
local forget = tonumber(e[3]) + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'm', '1', 'x', forget)
redis.call('PEXPIRE', KEYS[1], forget - now)
return 1`,
  },
  smsHookComplete: {
    numberOfKeys: 1,
    lua: `
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[4])
local e = redis.call('HMGET', KEYS[1], 's', 't', 'x')
if e[1] ~= 'c' or e[2] ~= ARGV[2] or tonumber(e[3]) <= now then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', 'd', 'o', ARGV[3], 'x', now + ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
return 1`,
  },
  smsHookRelease: {
    numberOfKeys: 1,
    lua: `
local e = redis.call('HMGET', KEYS[1], 's', 't', 'x')
if e[1] ~= 'c' or e[2] ~= ARGV[2] or tonumber(e[3]) <= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return 1`,
  },
  smsHookPeek: {
    numberOfKeys: 1,
    lua: `
local now = tonumber(ARGV[1])
local e = redis.call('HMGET', KEYS[1], 's', 'u', 'x', 'o')
if not e[1] or tonumber(e[3]) <= now then return {'free'} end
if e[1] == 'd' then return {'done', e[4]} end
if tonumber(e[2]) > now then return {'in_flight'} end
return {'free'}`,
  },
  smsHookHit: {
    numberOfKeys: 1,
    lua: `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`,
  },
} satisfies RedisOptions['scripts']
