/**
 * The Redis state against real Redis servers: the one test/global-setup.ts started (or REDIS_URL), shared by
 * the contract suites under a random key prefix, and servers of this file's own for what may not be done to a
 * shared one (killing it, pausing it, requiring a password).
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { isConfigError, isStateUnavailableError, isStoreError } from '../../src/errors.js'
import { parseRedisUrl } from '../../src/store/redis-url.js'
import {
  createRedisState,
  redisOptionsFromUrl,
  type RedisState,
  type RedisStateOptions,
} from '../../src/store/redis.js'
import { manualClock } from '../support/clock.js'
import { freePort, reconnected, startRedisServer, type RedisServer } from '../support/redis.js'
import { describeCountersContract } from './counters-contract.js'
import { claimToken, describeStoreContract } from './contract.js'

const redis = inject('redis')
const prefix = `sms-hook-test:${randomUUID()}:`

/** States made by a case, closed after it whatever happened. */
const opened: RedisState[] = []
const open = (options: Partial<RedisStateOptions> & { url: string }) => {
  const state = createRedisState({ prefix, ...options })
  opened.push(state)
  return state
}
afterAll(async () => {
  await Promise.all(opened.map((state) => state.close()))
})

/** Resolves with how long `operation` took to settle, in ms, and its rejection. */
const timeRejection = async (operation: () => Promise<unknown>) => {
  const started = performance.now()
  const error = await operation().then(
    () => undefined,
    (e: unknown) => e,
  )
  return { error, ms: performance.now() - started }
}

/** The keys matching `pattern`, found with SCAN so that a shared Redis is never blocked by KEYS. */
const scanKeys = async (admin: Redis, pattern: string) => {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    keys.push(...found)
    cursor = next
  } while (cursor !== '0')
  return keys
}

describe('REDIS_URL', () => {
  it('gives host, port, user, password and database index', () => {
    expect(redisOptionsFromUrl('redis://alice:s%40cret@cache.internal:6380/3')).toEqual({
      host: 'cache.internal',
      port: 6380,
      username: 'alice',
      password: 's@cret',
      db: 3,
      tls: undefined,
    })
  })

  it('defaults to port 6379 and database 0, without credentials', () => {
    expect(redisOptionsFromUrl('redis://127.0.0.1')).toMatchObject({
      host: '127.0.0.1',
      port: 6379,
      username: undefined,
      password: undefined,
      db: 0,
      tls: undefined,
    })
  })

  it('takes a password without a user name, as Redis before ACLs had', () => {
    expect(redisOptionsFromUrl('redis://:pw@localhost:6379/0')).toMatchObject({ username: undefined, password: 'pw' })
  })

  it('turns on TLS with the host name for SNI for rediss://', () => {
    expect(redisOptionsFromUrl('rediss://default:pw@redis.example.com:6380/1')).toEqual({
      host: 'redis.example.com',
      port: 6380,
      username: 'default',
      password: 'pw',
      db: 1,
      tls: { servername: 'redis.example.com' },
    })
    expect(redisOptionsFromUrl('rediss://[::1]:6380').tls).toEqual({})
    expect(redisOptionsFromUrl('rediss://[::1]:6380').host).toBe('::1')
  })

  it('reads the seed nodes of redis+cluster://, with credentials and TLS for rediss+cluster://', () => {
    expect(parseRedisUrl('rediss+cluster://alice:s%40cret@node-1.cache:7000,node-2.cache,[::1]:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'node-1.cache', port: 7000 },
        { host: 'node-2.cache', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      username: 'alice',
      password: 's@cret',
      tls: true,
    })
  })

  it('reads the sentinels, the master name and the database of redis+sentinel://', () => {
    expect(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2,s3:26380/my%20master?db=2')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: 's3', port: 26380 },
      ],
      name: 'my master',
      db: 2,
      username: undefined,
      password: 'pw',
      tls: false,
    })
    expect(parseRedisUrl('rediss+sentinel://s1/main')).toMatchObject({
      kind: 'sentinel',
      name: 'main',
      db: 0,
      tls: true,
    })
  })

  it('refuses other schemes, a path that is no database index, and no URL at all, never echoing it', () => {
    for (const url of ['http://h:6379', 'redis://:secret@h/cache', 'redis://:secret@h/1/2', 'not a url']) {
      let error: unknown
      try {
        redisOptionsFromUrl(url)
      } catch (e) {
        error = e
      }
      expect(isConfigError(error)).toBe(true)
      expect((error as Error).message).toMatch(/^REDIS_URL: /)
      expect((error as Error).message).not.toContain('secret')
    }
  })
})

describe.skipIf(redis.url === '')(
  redis.url === '' ? `Redis state (SKIPPED: ${redis.skipReason})` : 'Redis state',
  () => {
    let shared: RedisState
    let timed: RedisState
    const clock = manualClock()
    beforeAll(async () => {
      shared = open({ url: redis.url })
      timed = open({ url: redis.url, clock })
      // Operations fail rather than wait while the connection is being made: let it be made first.
      await Promise.all([reconnected(shared), reconnected(timed)])
    })
    // Everything expires by itself, but a shared Redis (REDIS_URL) is left as it was found, now.
    afterAll(async () => {
      const admin = new Redis(redis.url)
      try {
        const keys = await scanKeys(admin, `${prefix}*`)
        if (keys.length > 0) await admin.unlink(...keys)
      } finally {
        admin.disconnect()
      }
    })

    describeStoreContract(
      'Redis idempotency store',
      () => shared.store,
      () => ({ store: timed.store, advance: clock.advance }),
    )

    describeCountersContract('Redis rate counters', () => ({
      counters: timed.counters,
      now: clock.now,
      advance: clock.advance,
    }))

    it('keeps every key under the prefix, each with a TTL', async () => {
      const admin = new Redis(redis.url)
      try {
        const key = randomUUID()
        await claimToken(shared.store, key)
        await shared.counters.hit(key, 60_000)
        const keys = await scanKeys(admin, `${prefix}*${key}*`)
        expect(keys).toHaveLength(2)
        expect(keys).toContain(`${prefix}idem:{${key}}`)
        expect(keys).toContainEqual(expect.stringMatching(`^${prefix}rate:\\{${key}\\}:60000:\\d+$`))
        for (const k of keys) expect(await admin.pttl(k)).toBeGreaterThan(0)
      } finally {
        admin.disconnect()
      }
    })

    it('gives a key to exactly one of two replicas (two clients) claiming it at once', async () => {
      const other = open({ url: redis.url })
      await reconnected(other)
      const key = randomUUID()
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? shared : other).store.claim(key, 5000)),
      )
      expect(claims.filter((c) => c.status === 'claimed')).toHaveLength(1)
      expect(claims.filter((c) => c.status === 'in_flight')).toHaveLength(19)
    })

    it('hands one replica the outcome another recorded, and the abandoned key of a dead one', async () => {
      const other = open({ url: redis.url, clock })
      await reconnected(other)
      const [done, dead] = [randomUUID(), randomUUID()]
      await timed.store.complete(
        done,
        await claimToken(timed.store, done),
        { ok: true, provider: 'p', messageId: 'm' },
        60_000,
      )
      expect((await other.store.claim(done, 5000)).status).toBe('done')
      expect(await timed.store.markSending(dead, await claimToken(timed.store, dead, 1000))).toBe(true)
      clock.advance(1001)
      expect((await other.store.claim(dead, 1000)).status).toBe('abandoned')
    })

    it('answers ping', async () => {
      await expect(shared.ping()).resolves.toBeUndefined()
    })
  },
)

describe('Redis unreachable from the start', () => {
  it('constructs without blocking or throwing; every operation fails at once with StateUnavailableError', async () => {
    const port = await freePort()
    const started = performance.now()
    const state = open({ url: `redis://127.0.0.1:${port}` })
    expect(performance.now() - started).toBeLessThan(50)
    const operations: (() => Promise<unknown>)[] = [
      () => state.store.claim('k', 5000),
      () => state.store.markSending('k', 't'),
      () => state.store.complete('k', 't', { ok: true, provider: 'p', messageId: 'm' }, 60_000),
      () => state.store.release('k', 't'),
      () => state.store.wait('k', new AbortController().signal),
      () => state.counters.hit('k', 60_000),
      () => state.ping(),
    ]
    for (const operation of operations) {
      const { error, ms } = await timeRejection(operation)
      expect(isStateUnavailableError(error)).toBe(true)
      // Nothing waits for a connection: the margin is only for a loaded machine.
      expect(ms).toBeLessThan(500)
    }
  })

  it('queues nothing: a thousand calls all fail at once', async () => {
    const state = open({ url: `redis://127.0.0.1:${await freePort()}` })
    const started = performance.now()
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => state.store.claim(randomUUID(), 5000)))
    expect(results.every((r) => r.status === 'rejected' && isStateUnavailableError(r.reason))).toBe(true)
    expect(performance.now() - started).toBeLessThan(1000)
  })
})

describe.skipIf(!redis.dedicated)(
  redis.dedicated
    ? 'Redis faults'
    : 'Redis faults (SKIPPED: they start their own redis-server, and none is on the PATH)',
  () => {
    const servers: RedisServer[] = []
    const server = async (args: string[] = []) => {
      const started = await startRedisServer({ args })
      servers.push(started)
      return started
    }
    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop()))
    })

    it('fails within the command timeout when the server dies, then works again once it is back', async () => {
      const redisServer = await server(['--enable-debug-command', 'local'])
      const state = open({ url: redisServer.url, commandTimeoutMs: 300 })
      await reconnected(state)
      const key = randomUUID()
      const token = await claimToken(state.store, key)

      // One call in flight when the server dies, one after.
      const admin = new Redis(redisServer.url)
      admin.on('error', () => {})
      void admin.call('DEBUG', 'SLEEP', '2').catch(() => {})
      await new Promise((resolve) => setTimeout(resolve, 50))
      const inFlight = timeRejection(() =>
        state.store.complete(key, token, { ok: true, provider: 'p', messageId: 'm' }, 60_000),
      )
      await redisServer.kill()
      admin.disconnect()
      const { error, ms } = await inFlight
      expect(isStateUnavailableError(error)).toBe(true)
      expect(ms).toBeLessThan(300 + 500)
      const after = await timeRejection(() => state.store.claim(randomUUID(), 5000))
      expect(isStateUnavailableError(after.error)).toBe(true)
      expect(after.ms).toBeLessThan(300 + 500)
      await expect(state.ping()).rejects.toSatisfy(isStateUnavailableError)

      await redisServer.start()
      await reconnected(state)
      expect((await state.store.claim(randomUUID(), 5000)).status).toBe('claimed')
      expect(await state.counters.hit(randomUUID(), 60_000)).toBe(1)
    })

    it('fails with StateUnavailableError when Redis answers slower than the command timeout', async () => {
      const redisServer = await server(['--enable-debug-command', 'local'])
      const state = open({ url: redisServer.url, commandTimeoutMs: 200 })
      await reconnected(state)
      const admin = new Redis(redisServer.url)
      try {
        const sleeping = admin.call('DEBUG', 'SLEEP', '1')
        await new Promise((resolve) => setTimeout(resolve, 50))
        const claim = await timeRejection(() => state.store.claim(randomUUID(), 5000))
        expect(isStateUnavailableError(claim.error)).toBe(true)
        expect(claim.ms).toBeGreaterThanOrEqual(150)
        expect(claim.ms).toBeLessThan(200 + 500)
        const ping = await timeRejection(() => state.ping())
        expect(isStateUnavailableError(ping.error)).toBe(true)
        await sleeping
        expect((await state.store.claim(randomUUID(), 5000)).status).toBe('claimed')
      } finally {
        admin.disconnect()
      }
    })

    it('stops waiting with the signal when Redis stalls mid-wait', async () => {
      const redisServer = await server(['--enable-debug-command', 'local'])
      const state = open({ url: redisServer.url, commandTimeoutMs: 2000, pollIntervalMs: 10 })
      await reconnected(state)
      const key = randomUUID()
      await claimToken(state.store, key)
      const admin = new Redis(redisServer.url)
      try {
        const controller = new AbortController()
        const waiting = state.store.wait(key, controller.signal)
        const sleeping = admin.call('DEBUG', 'SLEEP', '1')
        await new Promise((resolve) => setTimeout(resolve, 100))
        controller.abort(new Error('deadline'))
        const { error, ms } = await timeRejection(() => waiting)
        expect((error as Error).message).toBe('deadline')
        // Well before the stalled poll's 2 s command timeout.
        expect(ms).toBeLessThan(500)
        await sleeping
      } finally {
        admin.disconnect()
      }
    })

    it('authenticates with the user, password and database of the URL', async () => {
      const redisServer = await server([
        '--requirepass',
        'default-pw',
        '--user',
        'hook',
        'on',
        '>hook-pw',
        '~*',
        '&*',
        '+@all',
      ])
      const url = redisServer.url.replace('redis://', 'redis://hook:hook%2Dpw@') + '/3'
      const state = open({ url })
      await reconnected(state)
      const key = randomUUID()
      await claimToken(state.store, key)
      const admin = new Redis({ port: redisServer.port, host: '127.0.0.1', password: 'default-pw', db: 3 })
      try {
        expect(await admin.exists(`${prefix}idem:{${key}}`)).toBe(1)
      } finally {
        admin.disconnect()
      }
      const wrong = open({ url: redisServer.url.replace('redis://', 'redis://hook:wrong@'), onError: () => {} })
      // The server answered, refusing us: a refusal, never silence that SMS_HOOK_STATE_DOWN=send would send through.
      await new Promise((resolve) => setTimeout(resolve, 300))
      const { error, ms } = await timeRejection(() => wrong.store.claim(randomUUID(), 5000))
      expect(isStoreError(error) && error.reason).toBe('noperm')
      expect(ms).toBeLessThan(1000)
    })
  },
)
