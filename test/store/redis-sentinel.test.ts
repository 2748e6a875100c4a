/**
 * The Redis state on a real Sentinel setup (test/support/redis-sentinel.ts, `redis+sentinel://`): the store and
 * counters contracts, then two hook replicas, each with its own state, as GoTrue reaches them while the master
 * is killed and the sentinels promote its replica. Node only: ioredis needs Node's net, and the suite starts its
 * own redis-server processes.
 */
import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisState, type RedisState, type RedisStateOptions } from '../../src/store/redis.js'
import { uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { onNode } from '../support/redis-cluster.js'
import { startRedisSentinel, type RedisSentinelSetup } from '../support/redis-sentinel.js'
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
  writableWithin,
} from '../support/hook-pair.js'
import { findRedisServer, reconnected } from '../support/redis.js'
import { claimToken } from './contract.js'

const available = findRedisServer() !== undefined
const prefix = `sms-hook-test:${randomUUID()}:`

describe.skipIf(!available)(
  available ? 'Redis state behind Sentinel' : 'Redis state behind Sentinel (SKIPPED: no redis-server on the PATH)',
  () => {
    let sentinel: RedisSentinelSetup
    const opened: RedisState[] = []
    const open = (options: Partial<RedisStateOptions> = {}) => {
      const state = createRedisState({ url: sentinel.url, prefix, onError: () => {}, ...options })
      opened.push(state)
      return state
    }
    beforeAll(async () => {
      sentinel = await startRedisSentinel()
    }, 60_000)
    afterAll(async () => {
      await Promise.all(opened.map((state) => state.close()))
      await sentinel?.stop()
    }, 30_000)

    describe.each(DURABILITIES)('SMS_HOOK_REDIS_DURABLE=%s', (durable) => {
      describe('contracts', () => {
        const { shared } = describeRedisContracts('Sentinel', durable, open)

        it('writes to the master the sentinels name, in the database the URL names', async () => {
          const key = randomUUID()
          await claimToken(shared().store, key)
          const [found] = await onNode(await sentinel.masterPort(), (redis) => redis.keys(`${prefix}*${key}*`))
          expect(found).toContain(key)

          const inThree = open({ url: `${sentinel.url}?db=3`, durable })
          await reconnected(inThree)
          const other = randomUUID()
          await claimToken(inThree.store, other)
          const byDatabase = await onNode(await sentinel.masterPort(), async (redis) => {
            const inZero = await redis.keys(`${prefix}*${other}*`)
            await redis.select(3)
            return { 0: inZero, 3: await redis.keys(`${prefix}*${other}*`) }
          })
          expect(byDatabase).toEqual({ 0: [], 3: [expect.stringContaining(other)] })
        })
      })

      it(
        'sends every call once through a failover the sentinels are asked for (SENTINEL FAILOVER), with a hook replica started meanwhile',
        { timeout: 30_000 },
        async () => {
          const states = [open({ durable }), open({ durable })]
          await Promise.all(states.map(reconnected))
          const pair = hookPair(states)
          let settled = false
          const run = async () => {
            for (let i = 0; i < 200 && !settled; i++) {
              await pair.call(uniqueMainlandPhone())
              await sleep(20)
            }
          }
          const running = run()
          await sleep(100)
          // Calls answered before the failover begins have reached the replica (replication lags by milliseconds).
          const beforeFailover = pair.calls.length
          let split: unknown
          const promoted = await sentinel
            .failover({
              // The sentinels name the new master; the old one still runs and takes writes. A hook replica that
              // starts now gets the new one from the sentinels: the replicas already running must be on it too,
              // or two of them take the same call on two masters.
              whileSplit: async ({ demoted }) => {
                await sleep(1000)
                const late = open({ durable })
                await reconnected(late)
                const mixed = hookPair([states[0]!, late])
                const answers = await mixed.call(uniqueMainlandPhone())
                const onDemoted = await onNode(demoted, (redis) => redis.keys(`${prefix}*${mixed.calls[0]!.uuid}*`))
                split = { answers, sends: mixed.sendCount(), onDemoted }
              },
            })
            .finally(() => (settled = true))
          await running
          expect(await sentinel.masterPort()).toBe(promoted)
          // Under `wait`, the new master has no replica to acknowledge until the old one is made its replica: the
          // call is refused, nothing sent. Soft, so that what follows is checked whatever this shows.
          expect.soft(split).toEqual({
            answers: durable === 'wait' ? [UNAVAILABLE, UNAVAILABLE] : [SENT, SENT],
            sends: durable === 'wait' ? 0 : 1,
            onDemoted: [],
          })

          // A replica still on the old master hears READONLY from it now, and goes to the new one within seconds.
          for (const state of states) expect(await writableWithin(state)).toBeLessThan(5000)
          // Then GoTrue asking again for a call answered as sent is answered from its stored outcome. Under `wait`
          // that holds for every call: nothing acknowledged was lost with the old master's data. Without it, what
          // the old master took after the new one was named and before the replicas moved is lost when it is made
          // a replica (docs/shared-state.md): only the calls from before the failover are sure to be remembered.
          const remembered = durable === 'wait' ? pair.calls.length : beforeFailover
          const before = pair.sendCount()
          for (const { uuid, phone, answers } of pair.calls.slice(0, remembered)) {
            if (answers.some(isSent)) expect(await pair.call(phone, uuid)).toEqual([SENT, SENT])
          }
          expect(pair.sendCount()).toBe(before)
          expectExactlyOnce(pair)
        },
      )

      it(
        'sends every call once and holds the per-number limit across two replicas while the master is killed',
        { timeout: 60_000 },
        async () => {
          const states = [open({ durable }), open({ durable })]
          await Promise.all(states.map(reconnected))
          const pair = hookPair(states)
          const numbers = Array.from({ length: 4 }, () => uniqueMainlandPhone())

          // Before the fault: two calls to each number are sent once each, both replicas answering success; the
          // third is refused on either replica.
          for (const phone of numbers) expect(await pair.call(phone)).toEqual([SENT, SENT])
          const firstCalls = pair.calls.map((call) => call.uuid)
          for (const phone of numbers) expect(await pair.call(phone)).toEqual([SENT, SENT])
          for (const phone of numbers) expect(await pair.call(phone)).toEqual([LIMITED, LIMITED])

          // The master is killed while calls keep coming: new numbers, and numbers near their limit. Calls may
          // be refused while the sentinels promote the replica, but none is sent twice.
          const busy = Array.from({ length: 3 }, () => uniqueMainlandPhone())
          let settled = false
          const failover = sentinel.killMaster().finally(() => (settled = true))
          const run = async (worker: number) => {
            for (let i = 0; i < 150 && !settled; i++) {
              await pair.call(i % 2 === 0 ? uniqueMainlandPhone() : busy[(i + worker) % busy.length]!)
              await sleep(50)
            }
          }
          await Promise.all([run(0), run(1)])
          const promoted = await failover

          if (durable === 'wait') {
            // The promoted replica has no replica of its own: no mark can be acknowledged, so calls are refused,
            // with nothing sent, until the old master is back as its replica. The guard's counters need no
            // acknowledgement and still refuse.
            let refused: Answer[] | undefined
            for (let i = 0; i < 50 && refused === undefined; i++) {
              const answers = await pair.call(uniqueMainlandPhone())
              if (isDeepStrictEqual(answers, [UNAVAILABLE, UNAVAILABLE]) && pair.sendsOf(pair.calls.at(-1)!.uuid) === 0)
                refused = answers
              else await sleep(100)
            }
            expect(refused).toEqual([UNAVAILABLE, UNAVAILABLE])
            await sentinel.reviveOldMaster()
          }

          // Then calls are sent again within a few seconds, and the counts made before the kill still refuse.
          const resumedAt = performance.now()
          let recoveredMs: number | undefined
          for (let i = 0; i < 50 && recoveredMs === undefined; i++) {
            const fresh = await pair.call(uniqueMainlandPhone())
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
          expect(await sentinel.masterPort()).toBe(promoted)

          // What the killed master held survives on the promoted replica: the outcomes of the first calls
          // (GoTrue asking again is answered from them, nothing sent) and every number's count.
          const before = pair.sendCount()
          for (const [i, phone] of numbers.entries())
            expect(await pair.call(phone, firstCalls[i])).toEqual([SENT, SENT])
          expect(pair.sendCount()).toBe(before)
          for (const phone of numbers) expect(await pair.call(phone)).toEqual([LIMITED, LIMITED])

          expectExactlyOnce(pair)
          for (const phone of numbers) expect(pair.sendsTo(phone)).toBe(PER_NUMBER)
          // A replica again for what comes next.
          if (durable === 'none') await sentinel.reviveOldMaster()
        },
      )
    })

    it('connects through the sentinels that answer when the first one is down', async () => {
      await sentinel.killSentinel(0)
      const state = open()
      await reconnected(state)
      expect((await state.store.claim(randomUUID(), 5000)).status).toBe('claimed')
      await expect(state.ready()).resolves.toBeUndefined()
    })

    describe('a master and replica that require a password', () => {
      const password = 'sentinel pw/1'
      let secured: RedisSentinelSetup
      beforeAll(async () => {
        secured = await startRedisSentinel({ password, user: HOOK_USER })
      }, 60_000)
      afterAll(async () => {
        await secured?.stop()
      }, 30_000)

      it.each(['acl', 'default'] as const)(
        "authenticates to the master with the URL's credentials (%s user), asking the sentinels without them",
        async (who) => {
          const state = createRedisState({ url: urlAs(secured.url, password, who), prefix, onError: () => {} })
          opened.push(state)
          await reconnected(state)
          const key = randomUUID()
          await claimToken(state.store, key)
          expect(await state.counters.hit(key, 60_000)).toBe(1)
          await expect(state.ready()).resolves.toBeUndefined()
          const found = await onNode(await secured.masterPort(), (redis) => redis.keys(`${prefix}*${key}*`), password)
          expect(found).toHaveLength(2)
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
