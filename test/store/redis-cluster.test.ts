/**
 * The Redis state on a real Redis Cluster (test/support/redis-cluster.ts, `redis+cluster://`): the store and
 * counters contracts, then two hook replicas, each with its own state on the cluster, as GoTrue reaches them
 * while a slot the calls use moves (ASK, then MOVED) and a master fails over. Node only: ioredis needs Node's
 * net, and the suite starts its own redis-server processes.
 */
import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isStoreError } from '../../src/errors.js'
import { createRedisState, type RedisState, type RedisStateOptions } from '../../src/store/redis.js'
import { uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { onNode, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js'
import {
  describeRedisContracts,
  HOOK_USER,
  urlAs,
  expectRefusedCredentials,
  type Answer,
  DURABILITIES,
  expectExactlyOnce,
  hookPair,
  isSent,
  LIMITED,
  PER_NUMBER,
  SENT,
  sleep,
  UNAVAILABLE,
} from '../support/hook-pair.js'
import { findRedisServer, reconnected } from '../support/redis.js'
import { claimToken } from './contract.js'

const available = findRedisServer() !== undefined
const prefix = `sms-hook-test:${randomUUID()}:`

describe.skipIf(!available)(
  available
    ? 'Redis state on a Redis Cluster'
    : 'Redis state on a Redis Cluster (SKIPPED: no redis-server on the PATH)',
  () => {
    let cluster: RedisCluster
    const opened: RedisState[] = []
    const open = (options: Partial<RedisStateOptions> = {}) => {
      const state = createRedisState({ url: cluster.url, prefix, onError: () => {}, ...options })
      opened.push(state)
      return state
    }
    beforeAll(async () => {
      cluster = await startRedisCluster()
    }, 60_000)
    afterAll(async () => {
      await Promise.all(opened.map((state) => state.close()))
      await cluster?.stop()
    }, 30_000)

    it('with a plain redis:// URL at one node: MOVED for the keys of the other nodes is a refusal (redirect), never silence', async () => {
      const [master] = await cluster.masters()
      const state = createRedisState({ url: `redis://127.0.0.1:${master!.port}`, prefix, onError: () => {} })
      opened.push(state)
      await reconnected(state)
      const reasons = new Set<string>()
      for (let i = 0; i < 30; i++) {
        const error = await state.store.claim(randomUUID(), 5000).then(
          () => undefined,
          (e: unknown) => e,
        )
        if (error !== undefined) reasons.add(isStoreError(error) ? error.reason : String(error))
      }
      // A third of the slots are this node's: those claims succeed; every other one is refused as a redirect.
      expect([...reasons]).toEqual(['redirect'])
    })

    it('spreads the keys of many calls over every master', async () => {
      const state = open()
      await reconnected(state)
      const keys = Array.from({ length: 30 }, () => randomUUID())
      for (const key of keys) await claimToken(state.store, key)
      const holders = new Set<number>()
      for (const master of await cluster.masters()) {
        const held = await onNode(master.port, async (redis) =>
          (await redis.keys(`${prefix}*`)).filter((k) => keys.some((key) => k.includes(key))),
        )
        if (held.length > 0) holders.add(master.port)
      }
      expect(holders.size).toBe(3)
    })

    describe.each(DURABILITIES)('SMS_HOOK_REDIS_DURABLE=%s', (durable) => {
      describe('contracts', () => {
        describeRedisContracts('Redis Cluster', durable, open)
      })

      describe('faults, with two hook replicas', () => {
        let states: RedisState[]
        let pair: ReturnType<typeof hookPair>
        beforeAll(async () => {
          states = [open({ durable }), open({ durable })]
          await Promise.all(states.map(reconnected))
          pair = hookPair(states)
        }, 20_000)

        it(
          'keeps sending once per call through a manual failover (CLUSTER FAILOVER)',
          { timeout: 30_000 },
          async () => {
            const [master] = await cluster.masters()
            let settled = false
            const answers: Answer[][] = []
            const run = async () => {
              for (let i = 0; i < 200 && !settled; i++) answers.push(await pair.call(uniqueMainlandPhone()))
              for (let i = 0; i < 5; i++) answers.push(await pair.call(uniqueMainlandPhone()))
            }
            const running = run()
            await sleep(100)
            await cluster.failover(master!, { mode: 'manual' }).finally(() => (settled = true))
            await running
            expectExactlyOnce(pair)
            // The old master hands over its slots only once the replica has caught up: nothing is lost, nobody waits.
            expect(answers.flat().filter((answer) => !isSent(answer))).toEqual([])
          },
        )

        it(
          'sends every call once and holds the per-number limit across both replicas while a slot moves and a master is killed',
          { timeout: 60_000 },
          async () => {
            const numbers = Array.from({ length: 4 }, () => uniqueMainlandPhone())

            // Before any fault: the first call to each number is sent once, both replicas answering success.
            for (const phone of numbers) expect(await pair.call(phone)).toEqual([SENT, SENT])
            const firstCalls = pair.calls.slice(-numbers.length).map((call) => call.uuid)

            // The slot of one number's counter moves to another master, and the second calls have their keys in
            // it too (the store puts a call's key in a hash tag: its slot is the uuid's own). Midway, the counter
            // is on the target while the slot is still the source's: the source answers ASK, for it and for the
            // new keys. After, every master answers MOVED to the target.
            const [counter, ...others] = await cluster.keys(`${prefix}rate:*${numbers[0]}*`)
            expect(others).toEqual([])
            const slot = await cluster.keySlot(counter!)
            const inSlot = () => cluster.keyInSlot(slot, () => randomUUID())
            const secondCalls = await Promise.all(numbers.map(inSlot))
            const from = await cluster.nodeForSlot(slot)
            const to = (await cluster.masters()).find((master) => master.id !== from.id)!
            const migrating: Answer[][] = []
            await cluster.reshardSlot(slot, to, {
              whileMigrating: async () => {
                // A key the source no longer has, in a slot it is migrating: it sends the client on with ASK.
                await expect(onNode(from.port, (redis) => redis.exists(counter!))).rejects.toThrow(
                  `ASK ${slot} 127.0.0.1:${to.port}`,
                )
                for (const [i, phone] of numbers.entries()) migrating.push(await pair.call(phone, secondCalls[i]))
              },
            })
            expect(migrating).toEqual(numbers.map(() => [SENT, SENT]))
            const [idempotencyKey] = await cluster.keys(`${prefix}idem:*${secondCalls[0]}*`)
            expect(await cluster.keySlot(idempotencyKey!)).toBe(slot)
            expect(await cluster.nodeForSlot(slot)).toEqual(to)
            // Two sent to each number within the hour: the third is refused on either replica, through MOVED.
            for (const phone of numbers) expect(await pair.call(phone)).toEqual([LIMITED, LIMITED])

            // The master that now holds the moved slot is killed while calls keep coming: new numbers, and numbers
            // near their limit. Calls may be refused while the replica takes over, but none is sent twice.
            const busy = Array.from({ length: 3 }, () => uniqueMainlandPhone())
            let settled = false
            const failover = cluster.failover(to).finally(() => (settled = true))
            const run = async (worker: number) => {
              for (let i = 0; i < 150 && !settled; i++) {
                await pair.call(i % 2 === 0 ? uniqueMainlandPhone() : busy[(i + worker) % busy.length]!)
                await sleep(50)
              }
            }
            await Promise.all([run(0), run(1)])
            const promoted = await failover
            expect(await cluster.nodeForSlot(slot)).toEqual(promoted)

            if (durable === 'wait') {
              // The promoted replica has no replica of its own: no write to its slots can be acknowledged, so
              // calls with keys there are refused, with nothing sent, until the killed node is back as its replica.
              const refused = await pair.call(uniqueMainlandPhone(), await inSlot())
              expect(refused).toEqual([UNAVAILABLE, UNAVAILABLE])
              await cluster.restart(to)
            }

            // Then calls are sent again within a few seconds: a new number with its key in the moved slot, and
            // the moved counter, now on the promoted replica, still refusing its number.
            const resumedAt = performance.now()
            let recoveredMs: number | undefined
            for (let i = 0; i < 50 && recoveredMs === undefined; i++) {
              const fresh = await pair.call(uniqueMainlandPhone(), await inSlot())
              const limited = await pair.call(numbers[0]!)
              if (
                isDeepStrictEqual(
                  [fresh, limited],
                  [
                    [SENT, SENT],
                    [LIMITED, LIMITED],
                  ],
                )
              )
                recoveredMs = performance.now() - resumedAt
              else await sleep(100)
            }
            expect(recoveredMs).toBeLessThan(5000)
            // `/readyz` agrees: each replica's state takes a write again.
            for (const state of states) await expect(state.ready()).resolves.toBeUndefined()

            // What the killed master held survives on its replica: the outcomes of the calls (GoTrue asking again
            // is answered from them, nothing sent) and every number's count.
            const before = pair.sendCount()
            for (const [i, phone] of numbers.entries()) {
              expect(await pair.call(phone, firstCalls[i])).toEqual([SENT, SENT])
              expect(await pair.call(phone, secondCalls[i])).toEqual([SENT, SENT])
            }
            expect(pair.sendCount()).toBe(before)
            for (const phone of numbers) expect(await pair.call(phone)).toEqual([LIMITED, LIMITED])

            expectExactlyOnce(pair)
            for (const phone of numbers) expect(pair.sendsTo(phone)).toBe(PER_NUMBER)
            // Every master has a replica again for what comes next.
            if (durable === 'none') await cluster.restart(to)
          },
        )
      })
    })

    it('connects through the seeds that answer when the first one is down', async () => {
      const [down] = await cluster.replicas()
      await cluster.kill(down!)
      try {
        const others = cluster.nodes.filter((node) => node.port !== down!.port).slice(0, 2)
        const url = `redis+cluster://${[down!, ...others].map((node) => `127.0.0.1:${node.port}`).join(',')}`
        const state = createRedisState({ url, prefix, onError: () => {} })
        opened.push(state)
        await reconnected(state)
        expect((await state.store.claim(randomUUID(), 5000)).status).toBe('claimed')
        await expect(state.ready()).resolves.toBeUndefined()
      } finally {
        await cluster.restart(down!)
      }
    })

    describe('a cluster that requires a password', () => {
      const password = 'cluster pw/1'
      let secured: RedisCluster
      beforeAll(async () => {
        secured = await startRedisCluster({ password, user: HOOK_USER })
      }, 60_000)
      afterAll(async () => {
        await secured?.stop()
      }, 30_000)

      it.each(['acl', 'default'] as const)(
        "authenticates to every node it is sent to with the URL's credentials (%s user)",
        async (who) => {
          const state = createRedisState({ url: urlAs(secured.url, password, who), prefix, onError: () => {} })
          opened.push(state)
          await reconnected(state)
          const keys = Array.from({ length: 30 }, () => randomUUID())
          for (const key of keys) {
            await claimToken(state.store, key)
            expect(await state.counters.hit(key, 60_000)).toBe(1)
          }
          await expect(state.ready()).resolves.toBeUndefined()
          const holders = new Set<number>()
          for (const master of await secured.masters()) {
            const held = await onNode(master.port, (redis) => redis.keys(`${prefix}*`), password)
            if (keys.some((key) => held.some((k) => k.includes(key)))) holders.add(master.port)
          }
          expect(holders.size).toBe(3)
        },
      )

      it('fails at once as refused (noperm), never hanging and never as silence, with a wrong password', async () => {
        const state = createRedisState({ url: urlAs(secured.url, password, 'wrong'), prefix, onError: () => {} })
        opened.push(state)
        await expectRefusedCredentials(state)
      })
    })
  },
)
