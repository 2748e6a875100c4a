/**
 * Two hook replicas over one shared Redis state, and GoTrue calling both: what the Cluster and Sentinel fault runs
 * (test/store/redis-cluster.test.ts, redis-sentinel.test.ts) drive and check.
 */
import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { beforeAll, expect } from 'vitest'
import { isStoreError } from '../../src/errors.js'
import { MESSAGES } from '../../src/outcome.js'
import type { RedisDurability, RedisState, RedisStateOptions } from '../../src/store/redis.js'
import { describeCountersContract } from '../store/counters-contract.js'
import { describeStoreContract } from '../store/contract.js'
import { credentials } from './redis-cluster.js'
import { reconnected } from './redis.js'
import { makeApp, ScriptedProvider } from './app.js'
import { manualClock } from './clock.js'
import { signupPayload } from './payloads.js'
import { signedPost } from './sign.js'

export interface Answer {
  status: number
  body: unknown
}
export const SENT: Answer = { status: 200, body: {} }
export const LIMITED: Answer = { status: 200, body: { error: { http_code: 429, message: MESSAGES.tooManyRequests } } }
export const UNAVAILABLE: Answer = { status: 200, body: { error: { http_code: 503, message: MESSAGES.unavailable } } }
export const isSent = (answer: Answer) => isDeepStrictEqual(answer, SENT)

/**
 * The guard as the fault runs need it: two calls an hour per number, so the third is refused on either replica,
 * and `refuse` while the state does not answer, since `send` goes on without de-duplication by design.
 */
export const PER_NUMBER = 2
export const ENV = {
  SMS_HOOK_LIMIT_PER_NUMBER: `${PER_NUMBER}/1h`,
  SMS_HOOK_LIMIT_PER_IP: 'off',
  SMS_HOOK_STATE_DOWN: 'refuse',
}

/**
 * Two hook replicas on their own states, and GoTrue calling them: each call is posted to both at once, as a
 * retry that reaches another replica while the first attempt is still running. Every call and answer is kept,
 * so that a run can be checked as a whole: what was sent, to whom, how often.
 */
export const hookPair = (states: readonly RedisState[]) => {
  const replicas = states.map((state) => {
    const provider = new ScriptedProvider()
    const { app } = makeApp({ provider, store: state.store, counters: state.counters, env: ENV })
    const post = async (body: string): Promise<Answer> => {
      const response = await app.request('/send-sms', signedPost(body))
      return { status: response.status, body: (await response.json()) as unknown }
    }
    return { post, provider }
  })
  const calls: { uuid: string; phone: string; answers: Answer[] }[] = []
  const sent = () => replicas.flatMap((replica) => replica.provider.calls.map((call) => call.message))
  return {
    calls,
    /** One GoTrue call to `phone`; `uuid` again is the same call once more, with a fresh `metadata.time`. */
    async call(phone: string, uuid?: string) {
      const payload = signupPayload({ phone, ...(uuid === undefined ? {} : { uuid }) })
      const answers = await Promise.all(replicas.map((replica) => replica.post(payload.body)))
      calls.push({ uuid: payload.uuid, phone, answers })
      return answers
    },
    sendsOf: (uuid: string) => sent().filter((message) => message.reference === uuid).length,
    sendsTo: (phone: string) => sent().filter((message) => message.to.e164.replace(/^\+/, '') === phone).length,
    sendCount: () => sent().length,
  }
}

/** What holds after any run: each call sent once if a replica said so, never otherwise; no number past its limit. */
export const expectExactlyOnce = (pair: ReturnType<typeof hookPair>) => {
  for (const { uuid, answers } of pair.calls) {
    for (const answer of answers) expect([SENT, LIMITED, UNAVAILABLE]).toContainEqual(answer)
    expect({ uuid, answers, sends: pair.sendsOf(uuid) }).toEqual({ uuid, answers, sends: answers.some(isSent) ? 1 : 0 })
  }
  for (const phone of new Set(pair.calls.map((call) => call.phone)))
    expect(pair.sendsTo(phone), phone).toBeLessThanOrEqual(PER_NUMBER)
}

/** `none` (the default) and `wait` (SMS_HOOK_REDIS_DURABLE: every mark and outcome acknowledged by a replica). */
export const DURABILITIES: RedisDurability[] = ['none', 'wait']

/** How long, in ms, until the state takes a write (`ready`), looking every 100 ms for at most 10 s. */
export const writableWithin = async (state: RedisState) => {
  const started = performance.now()
  for (let i = 0; i < 100; i++) {
    try {
      await state.ready()
      return performance.now() - started
    } catch {
      await sleep(100)
    }
  }
  throw new Error('the state took no write within 10 s')
}

/**
 * The contracts are about what a store answers, not how fast: on a loaded machine a replica may take longer than
 * the default 250 ms to acknowledge a write under `wait`, which would fail a case for the wrong reason.
 */
const CONTRACT_TIMEOUTS = { commandTimeoutMs: 2000, durableWaitMs: 1000 }

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The store and counters contracts on states made by `open` (one on the real clock, one on a manual clock), as a
 * topology's suite runs them for one durability. Registers its cases where it is called.
 */
export const describeRedisContracts = (
  name: string,
  durable: RedisDurability,
  open: (options: Partial<RedisStateOptions>) => RedisState,
): { shared: () => RedisState } => {
  let shared: RedisState
  let timed: RedisState
  const clock = manualClock()
  beforeAll(async () => {
    shared = open({ durable, ...CONTRACT_TIMEOUTS })
    timed = open({ durable, clock, ...CONTRACT_TIMEOUTS })
    await Promise.all([reconnected(shared), reconnected(timed)])
  }, 20_000)
  describeStoreContract(
    `${name} idempotency store`,
    () => shared.store,
    () => ({ store: timed.store, advance: clock.advance }),
  )
  describeCountersContract(`${name} rate counters`, () => ({
    counters: timed.counters,
    now: clock.now,
    advance: clock.advance,
  }))
  return { shared: () => shared }
}

/**
 * A state whose credentials the server refuses: every operation fails within a moment, as a refusal (`noperm`),
 * never as silence, which SMS_HOOK_STATE_DOWN=send would answer by sending without the store.
 */
export const expectRefusedCredentials = async (state: RedisState) => {
  await sleep(500)
  for (const operation of [
    () => state.ready(),
    () => state.store.claim(randomUUID(), 5000),
    () => state.counters.hit(randomUUID(), 60_000),
  ]) {
    const started = performance.now()
    const error = await operation().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isStoreError(error) && error.reason, String(error)).toBe('noperm')
    expect(performance.now() - started).toBeLessThan(1500)
  }
}

/** The ACL user a password-protected rig creates beside its default user's password. */
export const HOOK_USER = { name: 'hook', password: 'hook-pw/2' }

/**
 * A password-protected rig's URL (made with `password` and HOOK_USER) as the ACL user, as the default user with its
 * password alone, or with a wrong password.
 */
export const urlAs = (url: string, password: string, who: 'acl' | 'default' | 'wrong') =>
  url.replace(
    credentials(password, HOOK_USER),
    who === 'acl'
      ? credentials(password, HOOK_USER)
      : who === 'default'
        ? credentials(password, undefined)
        : credentials(undefined, { ...HOOK_USER, password: 'wrong' }),
  )
