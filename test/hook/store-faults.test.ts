/**
 * The shared state failing the ways a real Redis fails, over HTTP through the real app, with two replicas on one
 * redis-server of this file's own: full (`maxmemory` under `noeviction`), a replica's READONLY, a foreign key of
 * another type under our prefix, and a server that is gone. For each: what is sent (never twice, never past a
 * limit), the answer, `sms_hook_store_errors_total`, `/readyz` and the log.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { createJsonLogger } from '../../src/log.js'
import { createMetrics } from '../../src/node/metrics.js'
import { createNodeState, type NodeState } from '../../src/node/state.js'
import { MESSAGES } from '../../src/outcome.js'
import type { StateConfig } from '../../src/store/config.js'
import { makeApp, ScriptedProvider, type LogLine } from '../support/app.js'
import { numberHash } from '../support/number-key.js'
import { signupPayload } from '../support/payloads.js'
import { findRedisServer, reconnected, startRedisServer, type RedisServer } from '../support/redis.js'
import { signedPost } from '../support/sign.js'

const states: NodeState[] = []
const servers: RedisServer[] = []
afterAll(async () => {
  await Promise.all(states.map((state) => state.close()))
  await Promise.all(servers.map((server) => server.stop()))
})

const server = async (args: string[] = []) => {
  const started = await startRedisServer({ args })
  servers.push(started)
  return started
}

/** Waits, a bounded number of times, until the state takes writes (or keeps failing, for the caller to see). */
const writable = async (state: NodeState) => {
  for (let i = 0; i < 100; i++) {
    try {
      return await state.ready()
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/**
 * One replica as the Node server runs it with REDIS_URL: its own connection, metrics and provider, the
 * per-number limit at 2 an hour.
 */
const replica = (
  url: string,
  prefix: string,
  options: { durable?: 'none' | 'wait'; env?: Record<string, string>; provider?: ScriptedProvider } = {},
) => {
  const logs: LogLine[] = []
  const logger = createJsonLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as LogLine) })
  const config: StateConfig = {
    redis: { url, prefix, durable: options.durable ?? 'none' },
    stateDown: 'send',
    idempotencyMaxKeys: 100_000,
    guardMaxKeys: 100_000,
  }
  const state = createNodeState(config, { clock: systemClock, logger })
  states.push(state)
  const metrics = createMetrics()
  const provider = options.provider ?? new ScriptedProvider()
  const { app, logs: hookLogs } = makeApp({
    provider,
    store: state.store,
    counters: state.counters,
    ready: state.ready,
    observers: [metrics.observe],
    env: { SMS_HOOK_LIMIT_PER_NUMBER: '2/1h', ...options.env },
  })
  const post = async (body: string) => {
    const response = await app.request('/send-sms', signedPost(body))
    return { status: response.status, body: (await response.json()) as unknown }
  }
  const readyz = async () => {
    const response = await app.request('/readyz')
    return { status: response.status, body: (await response.json()) as unknown }
  }
  /** The value of one sample of the metrics text, 0 when absent. */
  const metric = async (sample: string) => {
    const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${sample} `))
    return line === undefined ? 0 : Number(line.split(' ').pop())
  }
  return { state, post, readyz, metric, provider, logs, hookLogs }
}

type Replica = ReturnType<typeof replica>

const sent = { status: 200, body: {} }
const storeRefused = { status: 200, body: { error: { http_code: 503, message: MESSAGES.unavailable } } }
const limited = { status: 200, body: { error: { http_code: 429, message: MESSAGES.tooManyRequests } } }
const notAnswering = { status: 503, body: { status: 'not_ready', reason: 'shared state not answering' } }
const refusingWrites = { status: 503, body: { status: 'not_ready', reason: 'shared state refusing writes' } }

/** A fresh number, so that each case has its own per-number window. */
const number = () => `86138${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`

/** Every call once to each replica, in turn, as GoTrue's retry lands on another replica behind a balancer. */
const both = async (a: Replica, b: Replica, body: string) => [await a.post(body), await b.post(body)]
const sends = (...replicas: Replica[]) => replicas.reduce((n, r) => n + r.provider.calls.length, 0)

describe.skipIf(findRedisServer() === undefined)('shared state faults on a real redis-server', () => {
  let redis: RedisServer
  let admin: Redis
  let prefix: string
  let a: Replica
  let b: Replica
  beforeAll(async () => {
    redis = await server()
    admin = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true })
    await admin.connect()
  })
  afterAll(() => admin.disconnect())
  beforeEach(async () => {
    prefix = `sms-hook-test:${randomUUID()}:`
    a = replica(redis.url, prefix)
    b = replica(redis.url, prefix)
    await Promise.all([writable(a.state), writable(b.state)])
  })
  afterEach(async () => {
    await admin.config('SET', 'maxmemory', '0')
  })

  it('full (maxmemory, noeviction): nothing sent, every call 503, counted as oom, and /readyz refusing writes', async () => {
    await admin.config('SET', 'maxmemory', '1')
    const phone = number()
    const answers = []
    for (let i = 0; i < 6; i++) answers.push(...(await both(a, b, signupPayload({ phone }).body)))
    expect(answers).toEqual(Array(12).fill(storeRefused))
    expect(sends(a, b)).toBe(0)
    expect(
      (await a.metric('sms_hook_store_errors_total{phase="claim",reason="oom"}')) +
        (await b.metric('sms_hook_store_errors_total{phase="claim",reason="oom"}')),
    ).toBe(12)
    expect(await a.metric('sms_hook_state_down_total{step="idempotency",policy="send"}')).toBe(0)
    expect(await a.readyz()).toEqual(refusingWrites)
    // The log has the server's own words, and the readiness cause once.
    expect(a.hookLogs.find((l) => l.reason === 'oom')).toMatchObject({
      level: 'error',
      error: expect.stringMatching(/OOM command not allowed/),
    })
    await a.readyz()
    expect(a.logs.filter((l) => l.msg === 'shared state (Redis) refuses writes')).toEqual([
      expect.objectContaining({ level: 'warn', cause: 'OOM' }),
    ])

    // Memory back: the limit of 2 an hour holds across both replicas, none of the refused calls having counted.
    await admin.config('SET', 'maxmemory', '0')
    expect(await a.readyz()).toEqual({ status: 200, body: { status: 'ready' } })
    const after = []
    for (let i = 0; i < 3; i++) after.push(...(await both(a, b, signupPayload({ phone }).body)))
    expect(after).toEqual([sent, sent, sent, sent, limited, limited])
    expect(sends(a, b)).toBe(2)
  })

  it('full after the SMS went (the outcome cannot be written): the retry on the other replica sends nothing', async () => {
    a = replica(redis.url, prefix, {
      provider: new ScriptedProvider(async (message) => {
        await admin.config('SET', 'maxmemory', '1')
        return { messageId: `msg-${message.reference}` }
      }),
    })
    await writable(a.state)
    const { body } = signupPayload({ phone: number() })
    expect(await a.post(body)).toEqual(sent)
    expect(await a.metric('sms_hook_store_errors_total{phase="record",reason="oom"}')).toBe(1)
    // The claim is still marked sending (its claim reads nothing new, so it answers even when full): the retry
    // waits for it until its deadline and is answered as if sent, which it may have been, never sending again.
    expect(await b.post(body)).toEqual(sent)
    expect(sends(a, b)).toBe(1)
    expect(await b.metric('sms_hook_hooks_total{outcome="in_progress"}')).toBe(1)
  })

  it('a foreign key of another type under the prefix (WRONGTYPE): nothing sent, and the retry not sent either', async () => {
    const { uuid, body } = signupPayload({ phone: number() })
    await admin.set(`${prefix}idem:{${uuid}}`, 'not ours', 'PX', 60_000)
    expect(await both(a, b, body)).toEqual([storeRefused, storeRefused])
    expect(sends(a, b)).toBe(0)
    expect(await a.metric('sms_hook_store_errors_total{phase="claim",reason="wrongtype"}')).toBe(1)
    // One key is broken, not the state: ready.
    expect(await a.readyz()).toEqual({ status: 200, body: { status: 'ready' } })
  })

  it("a guard counter of another type (WRONGTYPE): the guard's refusal, never a send without it", async () => {
    const phone = number()
    const now = Date.now()
    const hour = 3_600_000
    await admin.hset(`${prefix}rate:{number:${numberHash(phone)}}:${hour}:${now - (now % hour)}`, 'x', '1')
    const answers = []
    for (let i = 0; i < 3; i++) answers.push(...(await both(a, b, signupPayload({ phone }).body)))
    expect(answers).toEqual(Array(6).fill(storeRefused))
    expect(sends(a, b)).toBe(0)
    expect(await a.metric('sms_hook_store_errors_total{phase="guard",reason="wrongtype"}')).toBe(3)
  })

  it('a stored outcome that is not one the store wrote: refused as a bad reply, not replayed', async () => {
    const { uuid, body } = signupPayload({ phone: number() })
    const key = `${prefix}idem:{${uuid}}`
    await admin.hset(key, 's', 'd', 'o', '{"ok":true}', 'x', String(Date.now() + 60_000))
    await admin.pexpire(key, 60_000)
    expect(await a.post(body)).toEqual(storeRefused)
    expect(sends(a, b)).toBe(0)
    expect(await a.metric('sms_hook_store_errors_total{phase="claim",reason="bad_reply"}')).toBe(1)
  })
})

describe.skipIf(findRedisServer() === undefined)('a replica for an endpoint (READONLY)', () => {
  it('nothing sent, 503, counted as readonly, /readyz refusing writes; never sent while the client reconnects', async () => {
    const primary = await server()
    const replicaServer = await server(['--replicaof', '127.0.0.1', String(primary.port)])
    const prefix = `sms-hook-test:${randomUUID()}:`
    const a = replica(replicaServer.url, prefix)
    const b = replica(replicaServer.url, prefix)
    await Promise.all([
      reconnected({
        ping: () =>
          a.state.ready().catch((e: Error) => {
            if (!/READONLY/.test(e.message)) throw e
          }),
      }),
    ])
    const phone = number()
    const answers = []
    for (let i = 0; i < 10; i++) answers.push(...(await both(a, b, signupPayload({ phone }).body)))
    expect(answers).toEqual(Array(20).fill(storeRefused))
    expect(sends(a, b)).toBe(0)
    expect(
      (await a.metric('sms_hook_store_errors_total{phase="claim",reason="readonly"}')) +
        (await b.metric('sms_hook_store_errors_total{phase="claim",reason="readonly"}')),
    ).toBe(20)
    expect(await a.metric('sms_hook_state_down_total{step="idempotency",policy="send"}')).toBe(0)
    expect(await a.readyz()).toEqual(refusingWrites)
    expect(a.logs.find((l) => l.msg === 'shared state (Redis) refuses writes')).toMatchObject({ cause: 'READONLY' })
  })
})

describe.skipIf(findRedisServer() === undefined)('a Redis that is gone', () => {
  it('/readyz not answering within about a second, the cause logged once a minute (ECONNREFUSED)', async () => {
    const gone = await server()
    const a = replica(gone.url, `sms-hook-test:${randomUUID()}:`)
    await writable(a.state)
    expect(await a.readyz()).toEqual({ status: 200, body: { status: 'ready' } })
    await gone.kill()
    const started = performance.now()
    expect(await a.readyz()).toEqual(notAnswering)
    expect(performance.now() - started).toBeLessThan(2000)
    await a.readyz()
    await a.readyz()
    const lines = a.logs.filter((l) => l.msg === 'shared state (Redis) not answering')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 'warn', cause: expect.stringMatching(/^(ECONNREFUSED|closed)$/) })
    // The answer never carries the client's own words or the address.
    expect(JSON.stringify(await a.readyz())).not.toMatch(/127\.0\.0\.1|writeable|ECONNREFUSED/)
    await gone.start()
  })
})

describe.skipIf(findRedisServer() === undefined)('a Redis busy with a long script of another program (BUSY)', () => {
  it('is a refusal: nothing sent, counted as busy; the calls after SCRIPT KILL are sent', async () => {
    const busy = await server(['--busy-reply-threshold', '100'])
    const a = replica(busy.url, `sms-hook-test:${randomUUID()}:`)
    await writable(a.state)
    const looping = new Redis({ host: '127.0.0.1', port: busy.port })
    const admin = new Redis({ host: '127.0.0.1', port: busy.port })
    try {
      const loop = looping.eval('while true do end', 0).catch((e: unknown) => e)
      await new Promise((resolve) => setTimeout(resolve, 300))
      const phone = number()
      for (let i = 0; i < 2; i++) expect(await a.post(signupPayload({ phone }).body)).toEqual(storeRefused)
      expect(a.provider.calls).toHaveLength(0)
      expect(await a.metric('sms_hook_store_errors_total{phase="claim",reason="busy"}')).toBe(2)
      expect(await a.readyz()).toEqual(refusingWrites)
      await admin.script('KILL')
      expect(String(await loop)).toMatch(/killed/i)
      await writable(a.state)
      expect(await a.post(signupPayload({ phone }).body)).toEqual(sent)
    } finally {
      looping.disconnect()
      admin.disconnect()
    }
  })
})

describe.skipIf(findRedisServer() === undefined)('a Redis loading its data after a restart (LOADING)', () => {
  it('is a refusal: nothing sent under send, counted as loading, /readyz refusing writes; ready once loaded', async () => {
    // Each key loads slowly and the server answers meanwhile, so that the loading lasts seconds, as a big dataset's.
    const loading = await server(['--key-load-delay', '300', '--loading-process-events-interval-bytes', '1024'])
    const admin = new Redis({ host: '127.0.0.1', port: loading.port })
    try {
      const fill = admin.pipeline()
      for (let i = 0; i < 10_000; i++) fill.set(`filler:${i}`, 'x')
      await fill.exec()
      await admin.save()
    } finally {
      admin.disconnect()
    }
    await loading.kill()
    const restarted = loading.start()
    const a = replica(loading.url, `sms-hook-test:${randomUUID()}:`)
    await expect
      .poll(async () => (await a.readyz()).body, { timeout: 5000, interval: 100 })
      .toEqual(refusingWrites.body)
    const phone = number()
    for (let i = 0; i < 3; i++) expect(await a.post(signupPayload({ phone }).body)).toEqual(storeRefused)
    expect(a.provider.calls).toHaveLength(0)
    expect(await a.metric('sms_hook_store_errors_total{phase="claim",reason="loading"}')).toBe(3)
    expect(await a.metric('sms_hook_state_down_total{step="idempotency",policy="send"}')).toBe(0)
    await restarted
    await writable(a.state)
    expect(await a.readyz()).toEqual({ status: 200, body: { status: 'ready' } })
    expect(await a.post(signupPayload({ phone }).body)).toEqual(sent)
  })
})

describe.skipIf(findRedisServer() === undefined)('a wrong password in REDIS_URL', () => {
  it('is a refusal: nothing sent under send, /readyz refusing writes, one error naming REDIS_URL', async () => {
    const guarded = await server(['--requirepass', 'right'])
    const a = replica(guarded.url.replace('redis://', 'redis://:wrong@'), `sms-hook-test:${randomUUID()}:`)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const phone = number()
    for (let i = 0; i < 3; i++) expect(await a.post(signupPayload({ phone }).body)).toEqual(storeRefused)
    expect(a.provider.calls).toHaveLength(0)
    expect(await a.metric('sms_hook_store_errors_total{phase="claim",reason="noperm"}')).toBe(3)
    expect(await a.metric('sms_hook_state_down_total{step="idempotency",policy="send"}')).toBe(0)
    expect(await a.readyz()).toEqual(refusingWrites)
    expect(a.logs.filter((l) => l.msg.includes('refuses the credentials of REDIS_URL'))).toEqual([
      expect.objectContaining({ level: 'error', cause: 'WRONGPASS' }),
    ])
    // The log never carries the password.
    expect(JSON.stringify([...a.logs, ...a.hookLogs])).not.toContain('wrong@')
  })
})

describe.skipIf(findRedisServer() === undefined)('SMS_HOOK_REDIS_DURABLE=wait', () => {
  it('without a replica: nothing sent (the mark would not survive a failover), the key given back, /readyz refusing writes', async () => {
    const alone = await server()
    const prefix = `sms-hook-test:${randomUUID()}:`
    const a = replica(alone.url, prefix, { durable: 'wait' })
    await reconnected({
      ping: () =>
        a.state.ready().catch((e: Error) => {
          if (!/replica/.test(e.message)) throw e
        }),
    })
    const { body } = signupPayload({ phone: number() })
    expect(await a.post(body)).toEqual(storeRefused)
    expect(a.provider.calls).toHaveLength(0)
    expect(await a.metric('sms_hook_store_errors_total{phase="claim",reason="unreplicated"}')).toBe(1)
    expect(await a.readyz()).toEqual(refusingWrites)

    // A replica joins: the same call (its key was released, not left marked) is sent, once.
    const joined = await server(['--replicaof', '127.0.0.1', String(alone.port)])
    const admin = new Redis({ host: '127.0.0.1', port: alone.port })
    try {
      await expect
        .poll(async () => (await admin.info('replication')).match(/connected_slaves:(\d+)/)?.[1], { timeout: 10_000 })
        .toBe('1')
    } finally {
      admin.disconnect()
    }
    await writable(a.state)
    // GoTrue's budget for the first call is long spent: the same call (same metadata.uuid) made again now.
    const { uuid } = JSON.parse(body).metadata as { uuid: string }
    const again = signupPayload({ uuid, phone: number() }).body
    expect(await a.post(again)).toEqual(sent)
    expect(await a.post(again)).toEqual(sent)
    expect(a.provider.calls).toHaveLength(1)
    // The outcome reached the replica before the answer.
    const onReplica = new Redis({ host: '127.0.0.1', port: joined.port })
    try {
      expect(await onReplica.hget(`${prefix}idem:{${uuid}}`, 's')).toBe('d')
    } finally {
      onReplica.disconnect()
    }
  })
})
