/**
 * The delivery records on real Redis: the contract on the server test/global-setup.ts started (or REDIS_URL), a
 * store of its own per case under a random key prefix, then again on a Redis Cluster of this file's own; and
 * what only Redis shows: the keys it leaves (all expiring, none with a number in clear), records another program
 * wrote, receipts racing on one send, and a server that is gone. Node only: ioredis needs Node's net.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { MemoryDeliveryStore } from '../../src/delivery/memory.js'
import { createNumberKey } from '../../src/delivery/number-key.js'
import type { DeliveryRecord, DeliveryStatus } from '../../src/delivery/types.js'
import { isStateUnavailableError, isStoreError } from '../../src/errors.js'
import { createJsonLogger } from '../../src/log.js'
import { createNodeState, type NodeState } from '../../src/node/state.js'
import { createRedisState, type RedisState, type RedisStateOptions } from '../../src/store/redis.js'
import { manualClock } from '../support/clock.js'
import { onNode, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js'
import { findRedisServer, reconnected, startRedisServer } from '../support/redis.js'
import { describeDeliveryContract, type TimedDeliveries } from './deliveries-contract.js'

const redis = inject('redis')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Long enough to read a record back within it on a loaded machine, short enough to wait out a few times. */
const TTL_MS = 1000
const DAY = 86_400_000

const opened: (RedisState | NodeState)[] = []
afterAll(async () => {
  await Promise.all(opened.map((state) => state.close()))
})

/** A Node server's state, as src/node/server.ts makes it, on Redis at `url` or in memory without. */
const nodeState = (url: string | undefined, prefix = `sms-hook-test:${randomUUID()}:`) => {
  const state = createNodeState(
    {
      redis: url === undefined ? undefined : { url, prefix, durable: 'none' },
      stateDown: 'send',
      idempotencyMaxKeys: 1000,
      guardMaxKeys: 1000,
    },
    { clock: systemClock, logger: createJsonLogger({ level: 'error', write: () => {} }) },
  )
  opened.push(state)
  return state
}

describe('NodeState.deliveries', () => {
  it('is a store of this process without REDIS_URL, bounded as the idempotency store is', async () => {
    const { deliveries } = nodeState(undefined)
    expect(deliveries).toBeInstanceOf(MemoryDeliveryStore)
    expect(deliveries.local).toBe(true)
    const send = await sendTo('+8613600003333')
    await deliveries.record(send, DAY)
    expect(await deliveries.get(send.reference)).toEqual(send)
  })
})

/** A state of its own under a fresh prefix, connected, and closed when the file ends. */
const open = async (options: Partial<RedisStateOptions> & { url: string }) => {
  const state = createRedisState({ prefix: `sms-hook-test:${randomUUID()}:`, onError: () => {}, ...options })
  opened.push(state)
  await reconnected(state)
  return state
}

/** Time for the contract: a manual clock for the times the cases pass, real time for Redis's expiries. */
const timedOn = async (url: () => string): Promise<TimedDeliveries> => {
  const clock = manualClock()
  const state = await open({ url: url() })
  return {
    store: state.deliveries,
    now: clock.now,
    advance: async (ms) => {
      clock.advance(ms)
      await sleep(ms)
    },
  }
}

/** The keys under `prefix`, found with SCAN so that a shared Redis is never blocked by KEYS. */
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

const sendTo = async (e164: string, over: Partial<DeliveryRecord> = {}): Promise<DeliveryRecord> => ({
  reference: randomUUID(),
  provider: 'aliyun',
  status: 'unknown',
  sentAt: Date.now(),
  statusAt: Date.now(),
  to: `${e164.slice(0, 6)}****${e164.slice(-4)}`,
  number: await createNumberKey('redis deliveries test')(e164),
  country: '86',
  reconcileAt: Date.now() + 45_000,
  ...over,
})

describe.skipIf(redis.url === '')(
  redis.url === '' ? `Redis delivery records (SKIPPED: ${redis.skipReason})` : 'Redis delivery records',
  () => {
    describeDeliveryContract('RedisDeliveryStore', () => timedOn(() => redis.url), { ttlMs: TTL_MS })

    it('is what NodeState.deliveries answers with REDIS_URL set, once the Redis module has loaded', async () => {
      const prefix = `sms-hook-test:${randomUUID()}:`
      const { deliveries } = nodeState(redis.url, prefix)
      expect(deliveries.local).toBeUndefined()
      const other = await open({ url: redis.url, prefix })
      const send = await sendTo('+8613500004444', { status: 'accepted', vendorMessageId: 'biz-node' })
      await deliveries.record(send, DAY)
      // Another replica's store on the same Redis sees it, and its receipt is seen back.
      expect(await other.deliveries.get(send.reference)).toEqual(send)
      await other.deliveries.apply({ provider: 'aliyun', vendorMessageId: 'biz-node', status: 'sent', at: 5 }, DAY)
      expect(await deliveries.forNumber(send.number, 5)).toMatchObject([{ reference: send.reference, status: 'sent' }])
      expect(await deliveries.due(send.reconcileAt!, 5)).toMatchObject([{ reference: send.reference }])
      await deliveries.reschedule(send.reference, undefined)
      expect(
        await deliveries.apply({ provider: 'aliyun', reference: send.reference, status: 'sent', at: 6 }, DAY),
      ).toMatchObject({
        changed: false,
        record: { status: 'sent' },
      })
      expect(await deliveries.due(send.reconcileAt!, 5)).toEqual([])
    })

    it('leaves only keys that expire, named by reference, vendor id and number hash, none holding the number', async () => {
      const prefix = `sms-hook-test:${randomUUID()}:`
      const state = createRedisState({ url: redis.url, prefix, onError: () => {} })
      opened.push(state)
      await reconnected(state)
      const e164 = '+8613812345678'
      const send = await sendTo(e164)
      await state.deliveries.record(send, DAY)
      await state.deliveries.record({ ...send, status: 'accepted', vendorMessageId: 'biz-9' }, DAY)
      await state.deliveries.apply(
        { provider: 'aliyun', vendorMessageId: 'biz-9', status: 'sent', at: Date.now() },
        DAY,
      )
      const admin = new Redis(redis.url)
      try {
        const keys = (await scanKeys(admin, `${prefix}*`)).sort()
        expect(keys).toEqual(
          [
            `${prefix}dlv:due`,
            `${prefix}dlv:num:{${send.number}}`,
            `${prefix}dlv:rec:{${send.reference}}`,
            `${prefix}dlv:vid:{aliyun:biz-9}`,
          ].sort(),
        )
        for (const key of keys) {
          const ttl = await admin.pttl(key)
          expect(ttl, key).toBeGreaterThan(DAY - 60_000)
          expect(ttl, key).toBeLessThanOrEqual(DAY)
          const type = await admin.type(key)
          const content =
            type === 'string' ? await admin.get(key) : (await admin.zrange(key, '0', '-1', 'WITHSCORES')).join(' ')
          for (const clear of [e164, e164.slice(1), e164.slice(-8)]) {
            expect(key).not.toContain(clear)
            expect(content, key).not.toContain(clear)
          }
        }
      } finally {
        admin.disconnect()
      }
    })

    it('refuses a record another program wrote at a reference, as bad_reply, and moves nothing', async () => {
      const prefix = `sms-hook-test:${randomUUID()}:`
      const state = createRedisState({ url: redis.url, prefix, onError: () => {} })
      opened.push(state)
      await reconnected(state)
      const admin = new Redis(redis.url)
      try {
        await admin.set(`${prefix}dlv:rec:{r-1}`, JSON.stringify({ reference: 'r-1', status: 'sent' }), 'PX', 60_000)
        for (const operation of [
          () => state.deliveries.get('r-1'),
          () => state.deliveries.apply({ provider: 'aliyun', reference: 'r-1', status: 'delivered', at: 1 }, DAY),
        ]) {
          const error = await operation().then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(isStoreError(error) && error.reason).toBe('bad_reply')
        }
        expect(JSON.parse((await admin.get(`${prefix}dlv:rec:{r-1}`))!)).toEqual({ reference: 'r-1', status: 'sent' })
      } finally {
        admin.disconnect()
      }
    })

    it('moves a send forward once per status however its receipts race, from two replicas', async () => {
      // Two replicas of one deployment: two connections, one prefix.
      const prefix = `sms-hook-test:${randomUUID()}:`
      const replicas = [await open({ url: redis.url, prefix }), await open({ url: redis.url, prefix })]
      const send = await sendTo('+8613900001111', { status: 'accepted', vendorMessageId: 'biz-race' })
      await replicas[0]!.deliveries.record(send, DAY)
      const statuses: DeliveryStatus[] = ['sent', 'delivered', 'sent', 'failed', 'delivered', 'sent']
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          replicas[i % 2]!.deliveries.apply(
            { provider: 'aliyun', reference: send.reference, status: statuses[i % statuses.length]!, at: 1000 + i },
            DAY,
          ),
        ),
      )
      const changes = results.filter((r) => r.matched && r.changed)
      // At most accepted -> sent -> final, each step from the status the previous one left.
      expect(changes.length).toBeGreaterThanOrEqual(1)
      expect(changes.length).toBeLessThanOrEqual(2)
      const final = await replicas[1]!.deliveries.get(send.reference)
      expect(['delivered', 'failed']).toContain(final!.status)
      const steps = changes.map((r) => (r.matched ? `${r.previous}->${r.record.status}` : '')).sort()
      expect(steps.every((step) => /^(accepted->(sent|delivered|failed)|sent->(delivered|failed))$/.test(step))).toBe(
        true,
      )
      expect(results.every((r) => r.matched)).toBe(true)
    })

    it('fails every operation as StateUnavailableError while its server is gone, and works again when it is back', async () => {
      const server = await startRedisServer()
      try {
        const state = await open({ url: server.url, commandTimeoutMs: 300 })
        const send = await sendTo('+8613700002222')
        await state.deliveries.record(send, DAY)
        await server.kill()
        for (const operation of [
          () => state.deliveries.get(send.reference),
          () => state.deliveries.record(send, DAY),
          () => state.deliveries.apply({ provider: 'aliyun', reference: send.reference, status: 'sent', at: 1 }, DAY),
          () => state.deliveries.forNumber(send.number, 5),
          () => state.deliveries.due(Date.now(), 5),
          () => state.deliveries.reschedule(send.reference, undefined),
        ]) {
          const error = await operation().then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(isStateUnavailableError(error), String(error)).toBe(true)
        }
        await server.start()
        await reconnected(state)
        // Nothing persisted (the test server saves nothing): the store answers again, from an empty Redis.
        expect(await state.deliveries.get(send.reference)).toBeUndefined()
      } finally {
        await server.stop()
      }
    })
  },
)

const clusterable = redis.dedicated && findRedisServer() !== undefined

describe.skipIf(!clusterable)(
  clusterable ? 'Redis delivery records on a Redis Cluster' : 'Redis delivery records on a Redis Cluster (SKIPPED)',
  () => {
    let cluster: RedisCluster
    beforeAll(async () => {
      cluster = await startRedisCluster()
    }, 60_000)
    afterAll(async () => {
      await cluster?.stop()
    }, 30_000)

    describeDeliveryContract('RedisDeliveryStore on a cluster', () => timedOn(() => cluster.url), { ttlMs: TTL_MS })

    it('spreads the records of many sends over every master, each index beside nothing it must share a slot with', async () => {
      const prefix = `sms-hook-test:${randomUUID()}:`
      const state = createRedisState({ url: cluster.url, prefix, onError: () => {} })
      opened.push(state)
      await reconnected(state)
      const sends = await Promise.all(
        Array.from({ length: 30 }, (_, i) => sendTo(`+86137${String(i).padStart(8, '0')}`)),
      )
      for (const send of sends)
        await state.deliveries.record({ ...send, vendorMessageId: `biz-${send.reference}` }, DAY)
      const holders = new Set<number>()
      for (const master of await cluster.masters()) {
        const held = await onNode(master.port, (node) => node.keys(`${prefix}dlv:rec:*`))
        if (held.length > 0) holders.add(master.port)
      }
      expect(holders.size).toBe(3)
      for (const send of sends) {
        const found = await state.deliveries.apply(
          { provider: 'aliyun', vendorMessageId: `biz-${send.reference}`, status: 'delivered', at: Date.now() },
          DAY,
        )
        expect(found).toMatchObject({ matched: true, changed: true })
      }
      expect(await state.deliveries.due(Date.now() + 60_000, 100)).toEqual([])
    })
  },
)
