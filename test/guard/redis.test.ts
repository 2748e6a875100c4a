/**
 * The guard's limits hold across replicas: two apps, each with its own Redis state (its own connection) on one
 * server and prefix, as two replicas given the same REDIS_URL and SMS_HOOK_REDIS_PREFIX. Node only (ioredis).
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { MESSAGES } from '../../src/outcome.js'
import { createRedisState, type RedisState } from '../../src/store/redis.js'
import { uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { reconnected } from '../support/redis.js'
import { signedPost } from '../support/sign.js'

const redis = inject('redis')

describe.skipIf(redis.url === '')(
  redis.url === '' ? `the guard on Redis (SKIPPED: ${redis.skipReason})` : 'the guard on Redis',
  () => {
    const prefix = `sms-hook-test:${randomUUID()}:`
    let states: RedisState[]
    beforeAll(async () => {
      states = [createRedisState({ url: redis.url, prefix }), createRedisState({ url: redis.url, prefix })]
      await Promise.all(states.map(reconnected))
    })
    afterAll(async () => {
      await Promise.all(states.map((state) => state.close()))
    })

    const replicas = (env: Record<string, string>) =>
      states.map((state) => {
        const provider = new ScriptedProvider()
        const { app } = makeApp({ provider, store: state.store, counters: state.counters, env })
        const post = async (body: string) => (await app.request('/send-sms', signedPost(body))).json()
        return { post, provider }
      })

    it('holds a per-number limit across two replicas', async () => {
      const [a, b] = replicas({ SMS_HOOK_LIMIT_PER_NUMBER: '2/1h' })
      const phone = uniqueMainlandPhone()
      expect(await a!.post(signupPayload({ phone }).body)).toEqual({})
      expect(await b!.post(signupPayload({ phone }).body)).toEqual({})
      expect(await a!.post(signupPayload({ phone }).body)).toEqual({
        error: { http_code: 429, message: MESSAGES.tooManyRequests },
      })
      expect(await b!.post(signupPayload({ phone }).body)).toEqual({
        error: { http_code: 429, message: MESSAGES.tooManyRequests },
      })
      expect(a!.provider.calls.length + b!.provider.calls.length).toBe(2)
    })

    it("answers GoTrue's retry on the other replica from the stored refusal, without counting it", async () => {
      const [a, b] = replicas({ SMS_HOOK_LIMIT_PER_NUMBER: '1/1h', SMS_HOOK_LIMIT_PER_IP: '3/1h' })
      const ip = `198.51.100.${Math.floor(Math.random() * 250)}`
      const phone = uniqueMainlandPhone()
      expect(await a!.post(signupPayload({ phone, ip }).body)).toEqual({})
      const refused = signupPayload({ phone, ip })
      expect(await a!.post(refused.body)).toEqual({ error: { http_code: 429, message: MESSAGES.tooManyRequests } })
      expect(await b!.post(refused.body)).toEqual({ error: { http_code: 429, message: MESSAGES.tooManyRequests } })
      // Two calls from this address so far, not three: the next is within its limit of 3.
      expect(await b!.post(signupPayload({ phone: uniqueMainlandPhone(), ip }).body)).toEqual({})
      expect(a!.provider.calls.length + b!.provider.calls.length).toBe(2)
    })

    it("lets an address past its per-IP limit on one replica spend none of a victim's per-number budget on the other", async () => {
      const [a, b] = replicas({ SMS_HOOK_LIMIT_PER_IP: '1/1h', SMS_HOOK_LIMIT_PER_NUMBER: '2/1h' })
      const attacker = '2001:db8:66:1::1'
      const victim = uniqueMainlandPhone()
      expect(await a!.post(signupPayload({ phone: uniqueMainlandPhone(), ip: attacker }).body)).toEqual({})
      for (let i = 0; i < 5; i++) {
        expect(await a!.post(signupPayload({ phone: victim, ip: attacker }).body)).toEqual({
          error: { http_code: 429, message: MESSAGES.tooManyRequests },
        })
      }
      for (const ip of ['203.0.113.1', '203.0.113.2'])
        expect(await b!.post(signupPayload({ phone: victim, ip }).body)).toEqual({})
      expect(await b!.post(signupPayload({ phone: victim, ip: '203.0.113.3' }).body)).toEqual({
        error: { http_code: 429, message: MESSAGES.tooManyRequests },
      })
    })
  },
)
