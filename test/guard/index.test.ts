/**
 * The SMS-pumping guard through the real app (`app.request`), with memory counters on a manual clock: each rule
 * refuses before any provider call, limits end with their window, and GoTrue's retries are never counted twice.
 */
import { describe, expect, it } from 'vitest'
import type { Env } from '../../src/config/index.js'
import type { HookEvent } from '../../src/hook/events.js'
import { parseGuardConfig } from '../../src/guard/config.js'
import { createGuard } from '../../src/guard/index.js'
import { MESSAGES } from '../../src/outcome.js'
import { normalisePhone } from '../../src/phone/e164.js'
import { MemoryRateCounters } from '../../src/store/memory-counters.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { manualClock } from '../support/clock.js'
import { signupPayload } from '../support/payloads.js'
import { numberHash } from '../support/number-key.js'
import { signedPost } from '../support/sign.js'

const HOUR = 3_600_000

/** Production's default limits: in development (the tests' NODE_ENV) the velocity limits are off unless set. */
const PRODUCTION_DEFAULTS: Env = {
  NODE_ENV: 'production',
  GOTRUE_SMS_PROVIDER: 'console',
  SMS_HOOK_LIMIT_PER_NUMBER: undefined,
  SMS_HOOK_LIMIT_PER_IP: undefined,
}

const setup = (env: Env) => {
  // On the hour, so that every window starts with the test.
  const clock = manualClock(Date.UTC(2026, 7, 20, 10))
  const provider = new ScriptedProvider()
  const memory = new MemoryRateCounters({ clock })
  const hits: string[] = []
  const events: HookEvent[] = []
  const { app, logs } = makeApp({
    provider,
    clock,
    env,
    counters: { hit: (key, windowMs) => (hits.push(key), memory.hit(key, windowMs)) },
    observers: [(event) => events.push(event)],
  })
  /** Posts `body` signed at the app's time, as GoTrue would; GoTrue's retry is the same body again. */
  const post = async (body: string) => {
    const response = await app.request('/send-sms', signedPost(body, { timestamp: Math.floor(clock.now() / 1000) }))
    return {
      status: response.status,
      body: (await response.json()) as { error?: { http_code: number; message: string } },
    }
  }
  return { clock, provider, hits, events, logs, post }
}

const tooMany = { status: 200, body: { error: { http_code: 429, message: MESSAGES.tooManyRequests } } }
const sent = { status: 200, body: {} }

describe('the allowed countries and blocked prefixes', () => {
  it('refuses a number outside SMS_HOOK_ALLOWED_COUNTRIES with 400 and a message the user understands, calling no provider', async () => {
    const { post, provider, logs } = setup({ SMS_HOOK_ALLOWED_COUNTRIES: '852,853' })
    expect(await post(signupPayload({ phone: '8613800138000' }).body)).toEqual({
      status: 200,
      body: { error: { http_code: 400, message: MESSAGES.countryNotAllowed } },
    })
    expect(provider.calls).toHaveLength(0)
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'sms-pumping guard refused the call',
        rule: 'country_not_allowed',
      }),
    )
    expect(await post(signupPayload({ phone: '85291234567' }).body)).toEqual(sent)
    expect(provider.calls).toHaveLength(1)
  })

  it('answers GoTrue before v2.187 with the status itself', async () => {
    const { post } = setup({ SMS_HOOK_ALLOWED_COUNTRIES: '852' })
    expect(await post(signupPayload({ legacy: true }).body)).toEqual({
      status: 400,
      body: { error: { http_code: 400, message: MESSAGES.countryNotAllowed } },
    })
  })

  it('refuses a number starting with a SMS_HOOK_BLOCKED_PREFIXES entry with 400, calling no provider', async () => {
    const { post, provider, events } = setup({ SMS_HOOK_BLOCKED_PREFIXES: '1876,8613800' })
    for (const phone of ['18765550123', '8613800138000']) {
      expect(await post(signupPayload({ phone }).body)).toEqual({
        status: 200,
        body: { error: { http_code: 400, message: MESSAGES.numberBlocked } },
      })
    }
    expect(provider.calls).toHaveLength(0)
    expect(events.filter((e) => e.type === 'guard_refused').map((e) => e.rule)).toEqual([
      'prefix_blocked',
      'prefix_blocked',
    ])
    expect(await post(signupPayload({ phone: '8613900139000' }).body)).toEqual(sent)
  })
})

describe('the velocity limits', () => {
  const cases: [string, Env, (i: number) => { phone?: string; ip?: string }][] = [
    ['per number', { SMS_HOOK_LIMIT_PER_NUMBER: '2/1h' }, (i) => ({ phone: '8613800138000', ip: `203.0.113.${i}` })],
    ['per ip', { SMS_HOOK_LIMIT_PER_IP: '2/1h' }, (i) => ({ phone: `861380013800${i}`, ip: '198.51.100.9' })],
    [
      'per network',
      { SMS_HOOK_LIMIT_PER_NETWORK: '2/1h' },
      (i) => ({ phone: `861380013800${i}`, ip: `2001:db8:7:${i}::1` }),
    ],
    [
      'per country',
      { SMS_HOOK_LIMIT_PER_COUNTRY: '2/1h' },
      (i) => ({ phone: `861380013800${i}`, ip: `203.0.113.${i}` }),
    ],
    ['global', { SMS_HOOK_LIMIT_GLOBAL: '2/1h' }, (i) => ({ phone: `44770090012${i}`, ip: `203.0.113.${i}` })],
  ]
  for (const [rule, env, call] of cases) {
    const name = rule.replace(' ', '_')
    it(`${rule}: refuses the call past the limit with 429, logging the rule, before any provider call`, async () => {
      const { post, provider, logs, events } = setup(env)
      expect(await post(signupPayload(call(1)).body)).toEqual(sent)
      expect(await post(signupPayload(call(2)).body)).toEqual(sent)
      expect(await post(signupPayload(call(3)).body)).toEqual(tooMany)
      expect(provider.calls).toHaveLength(2)
      expect(logs).toContainEqual(
        expect.objectContaining({ level: 'warn', msg: 'sms-pumping guard refused the call', rule: name }),
      )
      expect(logs.filter((l) => l.msg === 'hook').map((l) => l.outcome)).toEqual(['sent', 'sent', 'too_many_requests'])
      expect(events).toContainEqual(expect.objectContaining({ type: 'guard_refused', rule: name }))
    })
  }

  it('per country: counts each calling code apart', async () => {
    const { post } = setup({ SMS_HOOK_LIMIT_PER_COUNTRY: '1/1h' })
    expect(await post(signupPayload({ phone: '8613800138000' }).body)).toEqual(sent)
    expect(await post(signupPayload({ phone: '85291234567' }).body)).toEqual(sent)
    expect(await post(signupPayload({ phone: '8613900139000' }).body)).toEqual(tooMany)
  })

  it('per ip: counts an IPv6 /64 as one address, and does not apply to calls without one (GoTrue before v2.187)', async () => {
    const { post } = setup({ SMS_HOOK_LIMIT_PER_IP: '1/1h' })
    expect(await post(signupPayload({ phone: '8613800138001', ip: '2001:db8:1:2::1' }).body)).toEqual(sent)
    expect(await post(signupPayload({ phone: '8613800138002', ip: '2001:db8:1:2:ffff::9' }).body)).toEqual(tooMany)
    expect(await post(signupPayload({ phone: '8613800138003', ip: '2001:db8:1:3::1' }).body)).toEqual(sent)
    for (const phone of ['8613800138004', '8613800138005']) {
      expect((await post(signupPayload({ phone, legacy: true }).body)).status).toBe(200)
    }
  })

  it('per network: counts 40 IPv6 addresses from one /48 (each its own /64) as one network, and no IPv4 address', async () => {
    const { post, events } = setup({ SMS_HOOK_LIMIT_PER_NETWORK: '20/1h' })
    const phone = (i: number) => `86139${String(i).padStart(8, '0')}`
    const answers = []
    for (let i = 0; i < 40; i++)
      answers.push(await post(signupPayload({ phone: phone(i), ip: `2001:db8:42:${i.toString(16)}::1` }).body))
    expect(answers.slice(0, 20)).toEqual(Array(20).fill(sent))
    expect(answers.slice(20)).toEqual(Array(20).fill(tooMany))
    expect(events.filter((e) => e.type === 'guard_refused').map((e) => e.rule)).toEqual(Array(20).fill('per_network'))
    expect(await post(signupPayload({ phone: phone(40), ip: '2001:db8:43::1' }).body)).toEqual(sent)
    // IPv4 addresses, written plainly or mapped into IPv6, are counted per address only.
    for (let i = 0; i < 40; i++) {
      const ip = i % 2 === 0 ? `198.51.100.${i}` : `::ffff:198.51.100.${i}`
      expect(await post(signupPayload({ phone: phone(100 + i), ip }).body), ip).toEqual(sent)
    }
  })

  it('by default refuses the 121st code from one IPv6 /48 within an hour', async () => {
    const { post, events } = setup(PRODUCTION_DEFAULTS)
    for (let i = 0; i < 120; i++) {
      expect(
        await post(
          signupPayload({ phone: `86139${String(i).padStart(8, '0')}`, ip: `2001:db8:42:${i.toString(16)}::1` }).body,
        ),
      ).toEqual(sent)
    }
    expect(await post(signupPayload({ phone: '8613900000120', ip: '2001:db8:42:ffff::1' }).body)).toEqual(tooMany)
    expect(events.filter((e) => e.type === 'guard_refused').map((e) => e.rule)).toEqual(['per_network'])
  })

  it('lets calls through again once the window is over', async () => {
    const { post, clock } = setup({ SMS_HOOK_LIMIT_PER_NUMBER: '1/1h' })
    expect(await post(signupPayload().body)).toEqual(sent)
    clock.advance(HOUR - 1)
    expect(await post(signupPayload().body)).toEqual(tooMany)
    clock.advance(1)
    expect(await post(signupPayload().body)).toEqual(sent)
  })

  it('counts a GoTrue retry of a delivered call once: it is answered from the stored outcome', async () => {
    const { post, provider, hits } = setup({ SMS_HOOK_LIMIT_PER_NUMBER: '2/1h' })
    const first = signupPayload()
    expect(await post(first.body)).toEqual(sent)
    expect(await post(first.body)).toEqual(sent)
    expect(await post(signupPayload().body)).toEqual(sent)
    expect(provider.calls).toHaveLength(2)
    expect(hits).toHaveLength(2)
  })

  it('gives a GoTrue retry of a refused call the same refusal, without counting it again', async () => {
    const { post, provider, hits, events } = setup({ SMS_HOOK_LIMIT_PER_NUMBER: '1/1h', SMS_HOOK_LIMIT_PER_IP: '3/1h' })
    expect(await post(signupPayload().body)).toEqual(sent)
    const refused = signupPayload()
    expect(await post(refused.body)).toEqual(tooMany)
    const counted = hits.length
    expect(await post(refused.body)).toEqual(tooMany)
    expect(await post(refused.body)).toEqual(tooMany)
    expect(hits).toHaveLength(counted)
    expect(provider.calls).toHaveLength(1)
    expect(events.filter((e) => e.type === 'replayed')).toHaveLength(2)
    expect(events.filter((e) => e.type === 'guard_refused')).toHaveLength(1)
    // Had the retries been counted, the address would be past its limit of 3 by now.
    expect(await post(signupPayload({ phone: '8613900139000' }).body)).toEqual(sent)
  })

  it('by default refuses the 11th code to one number within an hour', async () => {
    const { post, provider } = setup(PRODUCTION_DEFAULTS)
    for (let i = 1; i <= 10; i++) expect(await post(signupPayload({ ip: `203.0.113.${i}` }).body)).toEqual(sent)
    expect(await post(signupPayload({ ip: '203.0.113.11' }).body)).toEqual(tooMany)
    expect(provider.calls).toHaveLength(10)
  })

  it('by default refuses the 31st code from one address within an hour', async () => {
    const { post, events } = setup(PRODUCTION_DEFAULTS)
    for (let i = 10; i < 40; i++) expect(await post(signupPayload({ phone: `86138001380${i}` }).body)).toEqual(sent)
    expect(await post(signupPayload({ phone: '8613800138040' }).body)).toEqual(tooMany)
    expect(events).toContainEqual(expect.objectContaining({ type: 'guard_refused', rule: 'per_ip' }))
  })
})

describe('the caller-side limits first', () => {
  const victim = '8613800138000'

  it("lets an address past its per-IP limit spend none of a victim's per-number budget: the victim's own calls still go through", async () => {
    const { post, provider, events } = setup({ SMS_HOOK_LIMIT_PER_IP: '3/1h', SMS_HOOK_LIMIT_PER_NUMBER: '3/1h' })
    const attacker = '198.51.100.66'
    for (const phone of ['8613900139001', '8613900139002', '8613900139003']) {
      expect(await post(signupPayload({ phone, ip: attacker }).body)).toEqual(sent)
    }
    for (let i = 0; i < 20; i++)
      expect(await post(signupPayload({ phone: victim, ip: attacker }).body)).toEqual(tooMany)
    for (let i = 0; i < 3; i++)
      expect(await post(signupPayload({ phone: victim, ip: '203.0.113.7' }).body)).toEqual(sent)
    // The victim's number is now at its own limit, whoever asks.
    expect(await post(signupPayload({ phone: victim, ip: '203.0.113.8' }).body)).toEqual(tooMany)
    expect(provider.calls).toHaveLength(6)
    expect(events.filter((e) => e.type === 'guard_refused').map((e) => e.rule)).toEqual([
      ...Array(20).fill('per_ip'),
      'per_number',
    ])
  })

  it('counts a call refused by a caller-side limit against no destination: not its number, country or the global limit', async () => {
    const { post, hits } = setup({
      SMS_HOOK_LIMIT_PER_IP: '1/1h',
      SMS_HOOK_LIMIT_PER_NETWORK: '3/1h',
      SMS_HOOK_LIMIT_PER_NUMBER: '100/1h',
      SMS_HOOK_LIMIT_PER_COUNTRY: '100/1h',
      SMS_HOOK_LIMIT_GLOBAL: '100/1h',
    })
    const destination = (key: string) => /^(number|country):|^global$/.test(key)
    expect(await post(signupPayload({ phone: victim, ip: '2001:db8:5:1::1' }).body)).toEqual(sent)
    expect(hits.filter(destination)).toHaveLength(3)
    // Past the per-IP limit of its /64; then, from other /64s, past the per-network limit of its /48 (which
    // counted the call the per-IP limit refused: each side counts every call that reaches it).
    expect(await post(signupPayload({ phone: victim, ip: '2001:db8:5:1::2' }).body)).toEqual(tooMany)
    expect(await post(signupPayload({ phone: victim, ip: '2001:db8:5:2::1' }).body)).toEqual(sent)
    expect(await post(signupPayload({ phone: victim, ip: '2001:db8:5:3::1' }).body)).toEqual(tooMany)
    expect(hits.filter(destination)).toHaveLength(6)
  })

  it('applies no caller-side limit to a call without an address (GoTrue before v2.187), and counts it against its destination', async () => {
    const { post, hits } = setup({
      SMS_HOOK_LIMIT_PER_IP: '1/1h',
      SMS_HOOK_LIMIT_PER_NETWORK: '1/1h',
      SMS_HOOK_LIMIT_PER_NUMBER: '2/1h',
    })
    for (let i = 0; i < 2; i++) expect((await post(signupPayload({ legacy: true }).body)).status).toBe(200)
    const refused = await post(signupPayload({ legacy: true }).body)
    expect(refused).toEqual({ status: 429, body: { error: { http_code: 429, message: MESSAGES.tooManyRequests } } })
    // Keyed by the number's hash: the counters never hold the number in clear.
    expect(hits).toEqual(Array(3).fill(`number:${numberHash(victim)}`))
  })

  it('hits the caller-side counters together, then the destination ones together: two round trips', async () => {
    const pending: { key: string; settle: (count: number) => void }[] = []
    const counters = { hit: (key: string) => new Promise<number>((settle) => pending.push({ key, settle })) }
    const config = parseGuardConfig({ SMS_HOOK_LIMIT_PER_COUNTRY: '100/1h', SMS_HOOK_LIMIT_GLOBAL: '100/1h' })
    const guard = createGuard(config, counters)
    const verdict = guard({ to: normalisePhone(victim, undefined)!, number: numberHash(victim), ip: '2001:db8:5:1::1' })
    const answer = async () => {
      await new Promise((resolve) => setTimeout(resolve, 0))
      const round = pending.splice(0)
      for (const { settle } of round) settle(1)
      return round.map(({ key }) => key)
    }
    expect(await answer()).toEqual(['ip:2001:db8:5:1::/64', 'network:2001:db8:5::/48'])
    expect(await answer()).toEqual([`number:${numberHash(victim)}`, 'country:86', 'global'])
    expect(await verdict).toEqual({ ok: true })
  })
})

describe('when the counters fail otherwise than by not answering', () => {
  it('answers 503 and sends nothing, logging it, and releases the key for a retry once they work', async () => {
    let broken = true
    const memory = new MemoryRateCounters({ clock: { now: () => Date.now() } })
    const provider = new ScriptedProvider()
    const { app, logs } = makeApp({
      provider,
      env: { SMS_HOOK_LIMIT_PER_NUMBER: '5/1h' },
      counters: {
        hit: (key, windowMs) =>
          broken ? Promise.reject(new Error('Durable Object reset')) : memory.hit(key, windowMs),
      },
    })
    const { body } = signupPayload()
    const first = await app.request('/send-sms', signedPost(body))
    expect(await first.json()).toEqual({ error: { http_code: 503, message: MESSAGES.unavailable } })
    expect(provider.calls).toHaveLength(0)
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: "the guard's counters failed",
        error: 'Error: Durable Object reset',
      }),
    )
    broken = false
    expect(await (await app.request('/send-sms', signedPost(body))).json()).toEqual({})
    expect(provider.calls).toHaveLength(1)
  })
})
