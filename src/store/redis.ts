/**
 * Shared state on Redis (or Valkey): the idempotency store, the rate counters and the delivery records of every replica, on one
 * server, a Sentinel-watched master, or a Redis Cluster (docs/shared-state.md).
 *
 * Key layout (`prefix` is `sms-hook:` by default; every key carries a TTL, so Redis never keeps one forever):
 * - `<prefix>idem:{<key>}`: a hash per idempotency key. `s` is `c` (claimed) or `d` (done); a claim has `t` (the
 *   owner's token), `u` (its lease end) and `m` = `1` once marked sending; a done key has `o` (the outcome as
 *   JSON). `x` is when the key is forgotten: the lease end, the lease end plus SENDING_MARK_TTL_MS for a marked
 *   claim, or the end of the outcome's TTL. The key's own expiry (PEXPIRE) is set to the same moment, so an
 *   owner that dies leaves nothing behind.
 * - `<prefix>rate:{<key>}:<windowMs>:<windowStart>`: a counter per fixed window, expiring when its window ends.
 * - `<prefix>ready`: the readiness probe's key, expiring after seconds.
 * - `<prefix>dlv:...`: the delivery records and their indexes (./redis-deliveries.ts).
 *
 * Every operation is one Lua script that reads and writes exactly one key, named in KEYS: a claim cannot
 * interleave with another (no read-then-write across round trips), and on a cluster each script runs on the node
 * that owns its key's slot. The braces are a hash tag: the slot is the idempotency or counter key's alone,
 * whatever the prefix, so a key and the WAIT that follows it go to one node.
 *
 * Each script writes with a command Redis refuses at `maxmemory` (HSET, INCR, SET) before any other: at the
 * limit under `noeviction`, a script that has written once is let finish, so a DEL first would let a claim
 * through while the mark and the outcome after it fail. This way the whole script is refused, with nothing
 * changed.
 *
 * Times come from the injected clock (the replica's own, kept by NTP) and are passed to the scripts: leases last
 * seconds, so the milliseconds that replicas' clocks differ by do not matter, and tests can move time by hand.
 */
import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
// zod/mini, as the hook's own parsing: full zod would double this module's load at start-up (BENCHMARKS.md).
import * as z from 'zod/mini'
import { systemClock, type Clock } from '../clock.js'
import { sleep, untilAborted, withTimeout } from '../deadline.js'
import { StateUnavailableError, StoreError, type StoreErrorReason } from '../errors.js'
import type { DeliveryStore } from '../delivery/types.js'
import type { Outcome } from '../outcome.js'
import { DELIVERY_SCRIPTS, RedisDeliveryStore, type DeliveryScripts } from './redis-deliveries.js'
import { parseRedisUrl, type RedisTarget } from './redis-url.js'
import {
  checkWindow,
  SENDING_MARK_TTL_MS,
  type ClaimResult,
  type IdempotencyStore,
  type RateCounters,
  type WaitResult,
} from './types.js'

/** What SMS_HOOK_REDIS_DURABLE asks of a write: `none`, or `wait` for one replica's acknowledgement. */
export type RedisDurability = 'none' | 'wait'

export interface RedisStateOptions {
  /** REDIS_URL: `redis://`, `rediss://`, `redis+cluster://`, `redis+sentinel://` and their TLS forms (`parseRedisUrl`). */
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
  /**
   * `wait`: every mark sending and every outcome is acknowledged by one replica (`WAIT 1`) before it counts, so
   * a failover keeps it; one that no replica acknowledged in time fails with StoreError `unreplicated`, and a
   * mark that failed sends nothing. Default `none`.
   */
  durable?: RedisDurability
  /** How long `WAIT` waits for the replica's acknowledgement, in ms. Default 250, below the command timeout. */
  durableWaitMs?: number
  /** Connection errors, reported as they happen while the client reconnects in the background (for logs). */
  onError?: (error: Error) => void
}

export interface RedisState {
  store: IdempotencyStore
  counters: RateCounters
  /** The delivery records (./redis-deliveries.ts), on the same connection. */
  deliveries: DeliveryStore
  /** Resolves when Redis answers a PING within a second; rejects with StateUnavailableError otherwise. */
  ping(): Promise<void>
  /**
   * Resolves when Redis takes a write through a script (and, under `durable: 'wait'`, a replica acknowledges
   * it) within a second (`/readyz`). Rejects with StateUnavailableError when it does not answer, StoreError when
   * it refuses the write (full, read-only, ...).
   */
  ready(): Promise<void>
  /** Closes the connection; every later operation fails. */
  close(): Promise<void>
}

const PING_TIMEOUT_MS = 1000
const READY_TIMEOUT_MS = 1000
/** The probe's key outlives the probe by a little, and never piles up: one key, overwritten each time. */
const READY_KEY_TTL_MS = 5000

type Client = (Redis | Cluster) & Scripts & DeliveryScripts

/**
 * Connects to Redis in the background and returns the stores that use it. Never blocks and never throws for an
 * unreachable Redis (only for a malformed URL): until the connection is up, and whenever it is lost, every
 * operation fails at once with StateUnavailableError instead of being queued, and the client keeps reconnecting.
 * An error reply fails with StoreError instead: Redis is there, and refuses.
 *
 * @example
 * const state = createRedisState({ url: 'redis://redis:6379', onError: (e) => logger.warn(e.message) })
 * const app = createApp(config, { store: state.store, ... })
 */
export const createRedisState = (options: RedisStateOptions): RedisState => {
  const prefix = options.prefix ?? 'sms-hook:'
  const clock = options.clock ?? systemClock
  const pollIntervalMs = positive(options.pollIntervalMs ?? 50, 'pollIntervalMs')
  const commandTimeoutMs = positive(options.commandTimeoutMs ?? 500, 'commandTimeoutMs')
  const durableWaitMs = positive(options.durableWaitMs ?? Math.min(250, commandTimeoutMs / 2), 'durableWaitMs')
  if (durableWaitMs >= commandTimeoutMs) throw new Error('durableWaitMs must be below commandTimeoutMs')
  const client = createClient(parseRedisUrl(options.url), {
    connectTimeout: positive(options.connectTimeoutMs ?? 2000, 'connectTimeoutMs'),
    commandTimeout: commandTimeoutMs,
  })
  const link = new Link(client)
  // Without a listener, ioredis reports each failed reconnection on the console.
  client.on('error', (error: Error) => {
    link.lastError = error
    options.onError?.(error)
  })
  const waitMs = options.durable === 'wait' ? Math.floor(durableWaitMs) : undefined

  return {
    store: new RedisIdempotencyStore(link, prefix, clock, pollIntervalMs, waitMs),
    counters: new RedisRateCounters(link, prefix, clock),
    deliveries: new RedisDeliveryStore(link, prefix),
    async ping() {
      await withTimeout(
        link.run(() => client.ping(), false),
        PING_TIMEOUT_MS,
        () => noAnswer('no answer to PING within 1 s'),
      )
    },
    async ready() {
      const probe = link.write('smsHookProbe', `${prefix}ready`, [READY_KEY_TTL_MS], waitMs)
      await withTimeout(probe, READY_TIMEOUT_MS, () => noAnswer('no answer to the readiness probe within 1 s'))
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

const noAnswer = (detail: string) => new StateUnavailableError(`redis: ${detail}`, { code: 'timeout' })

/** Settings every kind of client shares. */
interface Common {
  connectTimeout: number
  commandTimeout: number
}

/**
 * The ioredis client for the URL's kind: ioredis's own Redis client for one server, the same with its Sentinel
 * connector for a Sentinel-watched master, and its Cluster client for a cluster. Topology (who is master, which
 * node has which slot, MOVED and ASK) is theirs to follow.
 */
const createClient = (target: RedisTarget, common: Common): Client => {
  const connection = {
    ...common,
    username: target.username,
    password: target.password,
    // A command is never sent again after a connection drops under it: the first send may have run (a claim
    // made), and a second would find the caller's own claim in flight.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  } satisfies RedisOptions
  const retryStrategy = (attempt: number) => Math.min(100 * 2 ** (attempt - 1), 2000)
  if (target.kind === 'cluster') {
    const options: ClusterOptions = {
      // A command is never held back for a connection that may not come: it fails now, and the hook decides.
      enableOfflineQueue: false,
      scripts: ALL_SCRIPTS,
      clusterRetryStrategy: retryStrategy,
      // Redirects are followed at once; a failing-over slot is asked again shortly, within the hook's deadline.
      retryDelayOnMoved: 0,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      slotsRefreshTimeout: common.connectTimeout,
      redisOptions: { ...connection, ...(target.tls ? { tls: {} } : {}) },
      // Behind TLS, managed clusters announce host names their certificates carry: connect to them by name.
      ...(target.tls
        ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) }
        : {}),
    }
    return new Cluster(target.nodes, options) as Client
  }
  const base = {
    ...connection,
    enableOfflineQueue: false,
    retryStrategy,
    scripts: ALL_SCRIPTS,
    db: target.db,
    // The client's own ready check holds every command back (as "not connected": silence) while a restarted
    // Redis loads its data; without it they reach the server and come back LOADING, which is a refusal.
    enableReadyCheck: false,
    // A primary that became a replica (a failover under a fixed endpoint) answers READONLY: reconnecting finds
    // the new primary (Sentinel asks again; a managed endpoint's name moves). The command itself is not resent.
    reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 1 : false),
  } satisfies RedisOptions
  if (target.kind === 'sentinel') {
    return new Redis({
      ...base,
      sentinels: target.sentinels,
      name: target.name,
      role: 'master',
      sentinelRetryStrategy: retryStrategy,
      // Hears +switch-master from the sentinels and moves to the new master at once. Without it the client stays
      // on an old master that is still up (and takes writes, lost when it is made a replica) until that one is
      // demoted, seconds later: two replicas would then write to two masters, and a call could be sent twice.
      failoverDetector: true,
      ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    }) as Client
  }
  return new Redis({ ...base, ...endpointOf(target) }) as Client
}

/** One server's address and TLS as ioredis takes them. */
const endpointOf = (
  target: Extract<RedisTarget, { kind: 'standalone' }>,
): Pick<RedisOptions, 'host' | 'port' | 'tls'> => ({
  host: target.host,
  port: target.port,
  // SNI carries the host name, which managed Redis services route on; an address has none.
  tls: target.tls ? (isIP(target.host) ? {} : { servername: target.host }) : undefined,
})

/** The connection settings of a plain REDIS_URL (`parseRedisUrl`), with TLS as ioredis takes it. */
export const redisOptionsFromUrl = (
  url: string,
): Pick<RedisOptions, 'host' | 'port' | 'username' | 'password' | 'db' | 'tls'> => {
  const target = parseRedisUrl(url)
  if (target.kind !== 'standalone') throw new Error('redisOptionsFromUrl takes a redis:// or rediss:// URL')
  const { username, password, db } = target
  return { ...endpointOf(target), username, password, db }
}

/** The first word of an error reply, and the reason it is counted under. Anything else is `other`. */
const REPLY_REASONS: Record<string, StoreErrorReason> = {
  OOM: 'oom',
  READONLY: 'readonly',
  // A replica that lost its master and serves no stale data: as good as read-only for us.
  MASTERDOWN: 'readonly',
  MOVED: 'redirect',
  ASK: 'redirect',
  WRONGTYPE: 'wrongtype',
  NOPERM: 'noperm',
  NOAUTH: 'noperm',
  WRONGPASS: 'noperm',
  LOADING: 'loading',
  BUSY: 'busy',
  NOSCRIPT: 'script',
}

/**
 * A failed Redis call in the store's terms (docs/shared-state.md). Silence (refused, dropped, timed out, not
 * connected, a cluster with no master for the slot) is StateUnavailableError, and SMS_HOOK_STATE_DOWN applies.
 * An error reply is Redis refusing: StoreError with the reason of its first word, so that a full or read-only
 * Redis can never switch the guard off.
 */
export const fromRedisError = (error: unknown, lastConnectionError?: Error): Error => {
  if (error instanceof StateUnavailableError || error instanceof StoreError) return error
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof Error && error.name === 'ReplyError') {
    const word = replyWord(message)
    // No master serves the slot (a failover in progress): nobody is there to answer.
    if (word === 'CLUSTERDOWN' || word === 'TRYAGAIN')
      return new StateUnavailableError(`redis: ${message}`, { cause: error, code: word })
    return refusal(word, REPLY_REASONS[word] ?? (/script/i.test(message) ? 'script' : 'other'), message, error)
  }
  // The cluster client gives up after following redirects too often; the last one says why.
  const last = /^Too many Cluster redirections\. Last error: (?:\w*Error: )?([A-Z]+)/.exec(message)?.[1]
  if (last !== undefined && last !== 'CLUSTERDOWN' && last !== 'TRYAGAIN') {
    return refusal(last, REPLY_REASONS[last] ?? 'redirect', message, error)
  }
  // Not connected: the client's own words say only that; the last connection error says why.
  const offline = /isn't writeable|isn't ready|Connection is closed|None of startup nodes|Failed to refresh slots/.test(
    message,
  )
  // The cluster client's own error ("Failed to refresh slots cache") carries the nodes' last one.
  const why = offline
    ? ((lastConnectionError as { lastNodeError?: Error } | undefined)?.lastNodeError ?? lastConnectionError)
    : undefined
  // Not connected because the server refused us (a wrong password, an ACL user without the right): an answer, not
  // silence, or a typo in REDIS_URL would send every call without de-duplication under SMS_HOOK_STATE_DOWN=send.
  if (why?.name === 'ReplyError') {
    const word = replyWord(why.message)
    return refusal(word, REPLY_REASONS[word] ?? 'other', `${message} (${why.message})`, error)
  }
  const code = /timed out/i.test(message)
    ? 'timeout'
    : (systemCode(why) ?? systemCode(error) ?? (offline ? 'closed' : undefined))
  const detail = why === undefined ? message : `${message} (${why.message})`
  return new StateUnavailableError(`redis: ${detail}`, { cause: error, ...(code === undefined ? {} : { code }) })
}

/** The first word of an error reply: its error code (`OOM`, `READONLY`, `WRONGPASS`), or '' when it has none. */
const replyWord = (message: string) => /^[A-Z]+/.exec(message)?.[0] ?? ''

const refusal = (word: string, reason: StoreErrorReason, detail: string, cause: unknown) =>
  new StoreError(reason, `redis: ${detail}`, { cause, ...(word === '' ? {} : { code: word }) })

const systemCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined
}

/**
 * The client as the stores use it, kept private to them: every call goes through `run` or `write`, which read its
 * failures (`fromRedisError`).
 */
class Link {
  lastError: Error | undefined
  /**
   * Set by a READONLY answer, after which the client reconnects (to find the new primary), and cleared once it is
   * connected again or a command succeeds: the moments in between are not silence but the same refusal, so they are not sent unguarded
   * under SMS_HOOK_STATE_DOWN=send. Otherwise an endpoint that stays a replica would let a call through now and
   * then, each time the client reconnects.
   */
  #refusal: StoreError | undefined
  readonly #client: Client
  constructor(client: Client) {
    this.#client = client
    client.on('ready', () => (this.#refusal = undefined))
  }

  /** `write`: a call that succeeding proves the server takes writes again (a PING does not). */
  async run<T>(call: (client: Client) => Promise<T>, write = true): Promise<T> {
    try {
      const reply = await call(this.#client)
      if (write) this.#refusal = undefined
      return reply
    } catch (error) {
      throw this.read(error)
    }
  }

  read(error: unknown): Error {
    const read = fromRedisError(error, this.lastError)
    if (read instanceof StoreError && read.reason === 'readonly') this.#refusal = read
    if (read instanceof StateUnavailableError && this.#refusal !== undefined) {
      return new StoreError(this.#refusal.reason, `${this.#refusal.message} (reconnecting: ${read.message})`, {
        cause: error,
        ...(this.#refusal.code === undefined ? {} : { code: this.#refusal.code }),
      })
    }
    return read
  }

  /**
   * Runs a write script on `key`; with `waitMs`, on the same connection (a pipeline: on a cluster, to the node of the
   * key's slot) followed by `WAIT 1 waitMs`, and fails with `unreplicated` unless a replica acknowledged it.
   */
  async write(
    script: ScriptName,
    key: string,
    args: (string | number)[],
    waitMs: number | undefined,
  ): Promise<unknown> {
    if (waitMs === undefined) return this.run((client) => (client[script] as ScriptCall)(key, ...args))
    let replies = await this.run(async (client) => {
      const pipeline = client.pipeline()
      ;(pipeline[script as keyof typeof pipeline] as unknown as ScriptCall)(key, ...args)
      pipeline.wait(1, waitMs)
      return (await pipeline.exec()) ?? []
    })
    // The cluster client does not follow a redirect met inside a pipeline whose other command (the WAIT)
    // succeeded. The script did not run; it is sent here to the node the redirect names, with ASKING for an ASK
    // (a slot being moved) and the slot map refreshed for a MOVED, its WAIT on that node's connection.
    const cluster = this.#client instanceof Cluster ? this.#client : undefined
    for (let hop = 0; cluster !== undefined && hop < 3; hop++) {
      const redirect = /^(MOVED|ASK) \d+ (\S+)$/.exec(errorMessage(replies[0]?.[0]))
      const node =
        redirect && cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === redirect[2])
      if (!redirect || !node) break
      if (redirect[1] === 'MOVED') cluster.refreshSlotsCache()
      replies = await this.run(async () => {
        const pipeline = node.pipeline()
        if (redirect[1] === 'ASK') pipeline.asking()
        pipeline.eval(SCRIPTS[script].lua, 1, key, ...args)
        pipeline.wait(1, waitMs)
        return ((await pipeline.exec()) ?? []).slice(redirect[1] === 'ASK' ? 1 : 0)
      })
    }
    const [written, acked] = replies
    if (written?.[0]) throw this.read(written[0])
    if (acked?.[0]) throw this.read(acked[0])
    if (typeof acked?.[1] !== 'number' || acked[1] < 1) {
      throw new StoreError('unreplicated', `redis: no replica acknowledged the write of ${key} within ${waitMs} ms`)
    }
    return written?.[1]
  }
}

type ScriptName = keyof typeof SCRIPTS
type ScriptCall = (key: string, ...args: (string | number)[]) => Promise<unknown>
const errorMessage = (error: unknown) => (error instanceof Error ? error.message : '')

/** What the store wrote as an outcome, checked as it comes back: a key another program wrote is not replayed. */
const storedOutcome = z.union([
  z.strictObject({ ok: z.literal(true), provider: z.string(), messageId: z.string() }),
  z.strictObject({
    ok: z.literal(false),
    status: z.literal([400, 401, 413, 429, 500, 503, 504]),
    code: z.string(),
    message: z.string(),
    mayHaveSent: z.boolean(),
    final: z.optional(z.boolean()),
  }),
])

const readOutcome = (key: string, text: string | undefined): Outcome => {
  let value: unknown
  try {
    value = JSON.parse(text ?? '')
  } catch {
    value = undefined
  }
  const parsed = storedOutcome.safeParse(value)
  if (!parsed.success)
    throw new StoreError('bad_reply', `redis: the outcome stored at ${key} is not one this store wrote`)
  return parsed.data as Outcome
}

/** A reply of a script, checked against the statuses it can give. */
const status = <S extends string>(key: string, reply: unknown, allowed: readonly S[]): [S, string | undefined] => {
  const [first, second] = Array.isArray(reply) ? (reply as unknown[]) : []
  if (
    typeof first !== 'string' ||
    !(allowed as readonly string[]).includes(first) ||
    (second !== undefined && typeof second !== 'string')
  ) {
    throw new StoreError('bad_reply', `redis: unexpected reply for ${key}`)
  }
  return [first as S, second]
}

const flag = (key: string, reply: unknown): boolean => {
  if (reply !== 0 && reply !== 1) throw new StoreError('bad_reply', `redis: unexpected reply for ${key}`)
  return reply === 1
}

class RedisIdempotencyStore implements IdempotencyStore {
  readonly #link: Link
  readonly #prefix: string
  readonly #clock: Clock
  readonly #pollIntervalMs: number
  readonly #waitMs: number | undefined

  constructor(link: Link, prefix: string, clock: Clock, pollIntervalMs: number, waitMs: number | undefined) {
    this.#link = link
    this.#prefix = prefix
    this.#clock = clock
    this.#pollIntervalMs = pollIntervalMs
    this.#waitMs = waitMs
  }

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const token = randomUUID()
    const name = this.#key(key)
    const reply = await this.#link.run((c) =>
      c.smsHookClaim(name, this.#clock.now(), leaseMs, token, SENDING_MARK_TTL_MS),
    )
    const [state, outcome] = status(name, reply, ['claimed', 'abandoned', 'in_flight', 'done'] as const)
    if (state === 'done') return { status: state, outcome: readOutcome(name, outcome) }
    if (state === 'in_flight') return { status: state }
    return { status: state, token }
  }

  async markSending(key: string, token: string): Promise<boolean> {
    const name = this.#key(key)
    return flag(
      name,
      await this.#link.write('smsHookMarkSending', name, [this.#clock.now(), token, SENDING_MARK_TTL_MS], this.#waitMs),
    )
  }

  async complete(key: string, token: string, outcome: Outcome, ttlMs: number): Promise<boolean> {
    const name = this.#key(key)
    const stored = JSON.stringify(outcome)
    return flag(
      name,
      await this.#link.write('smsHookComplete', name, [this.#clock.now(), token, stored, ttlMs], this.#waitMs),
    )
  }

  async markedSending(key: string): Promise<boolean> {
    const name = this.#key(key)
    return flag(name, await this.#link.run((c) => c.smsHookMarked(name, this.#clock.now()), false))
  }

  async release(key: string, token: string): Promise<boolean> {
    const name = this.#key(key)
    return flag(name, await this.#link.run((c) => c.smsHookRelease(name, this.#clock.now(), token)))
  }

  /**
   * Looks at the key every `pollIntervalMs` until it is done, released or lapsed. Polling rather than pub/sub:
   * it needs no second connection, and a replica that missed a message (reconnecting, a failover) loses nothing.
   */
  async wait(key: string, signal: AbortSignal): Promise<WaitResult> {
    const name = this.#key(key)
    for (;;) {
      signal.throwIfAborted()
      const reply = await untilAborted(
        this.#link.run((c) => c.smsHookPeek(name, this.#clock.now())),
        signal,
      )
      const [state, outcome] = status(name, reply, ['done', 'in_flight', 'free'] as const)
      if (state === 'done') return { status: state, outcome: readOutcome(name, outcome) }
      if (state === 'free') return { status: state }
      await sleep(this.#pollIntervalMs, signal)
    }
  }

  #key(key: string) {
    return `${this.#prefix}idem:{${key}}`
  }
}

class RedisRateCounters implements RateCounters {
  readonly #link: Link
  readonly #prefix: string
  readonly #clock: Clock

  constructor(link: Link, prefix: string, clock: Clock) {
    this.#link = link
    this.#prefix = prefix
    this.#clock = clock
  }

  async hit(key: string, windowMs: number): Promise<number> {
    checkWindow(windowMs)
    const now = this.#clock.now()
    const start = now - (now % windowMs)
    const counter = `${this.#prefix}rate:{${key}}:${windowMs}:${start}`
    const count = await this.#link.run((c) => c.smsHookHit(counter, start + windowMs - now))
    if (!Number.isInteger(count) || count < 1)
      throw new StoreError('bad_reply', `redis: unexpected reply for ${counter}`)
    return count
  }
}

const positive = (value: number, name: string) => {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
  return value
}

/** The scripts as ioredis defines them on the client (EVALSHA, falling back to EVAL once per connection). */
interface Scripts {
  smsHookClaim(key: string, now: number, leaseMs: number, token: string, markTtlMs: number): Promise<unknown>
  smsHookMarkSending(key: string, now: number, token: string, markTtlMs: number): Promise<unknown>
  smsHookComplete(key: string, now: number, token: string, outcome: string, ttlMs: number): Promise<unknown>
  smsHookRelease(key: string, now: number, token: string): Promise<unknown>
  smsHookPeek(key: string, now: number): Promise<unknown>
  smsHookMarked(key: string, now: number): Promise<unknown>
  smsHookHit(key: string, windowLeftMs: number): Promise<number>
  smsHookProbe(key: string, ttlMs: number): Promise<unknown>
}

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
redis.call('HSET', KEYS[1], 's', 'c', 't', ARGV[3], 'u', now + lease, 'x', now + lease)
redis.call('HDEL', KEYS[1], 'm', 'o')
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
redis.call('HSET', KEYS[1], 's', 'd', 'o', ARGV[3], 'x', now + ttl)
redis.call('HDEL', KEYS[1], 't', 'u', 'm')
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
  smsHookMarked: {
    numberOfKeys: 1,
    lua: `
local now = tonumber(ARGV[1])
local e = redis.call('HMGET', KEYS[1], 's', 'u', 'm')
if e[1] == 'c' and tonumber(e[2]) > now and e[3] == '1' then return 1 end
return 0`,
  },
  smsHookHit: {
    numberOfKeys: 1,
    lua: `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`,
  },
  smsHookProbe: {
    numberOfKeys: 1,
    lua: `
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1`,
  },
} satisfies RedisOptions['scripts']

const ALL_SCRIPTS = { ...SCRIPTS, ...DELIVERY_SCRIPTS } satisfies RedisOptions['scripts']
