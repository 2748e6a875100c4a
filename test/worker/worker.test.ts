/** The Worker entry (src/worker/index.ts) in workerd: settings from bindings, answers, the Alibaba Cloud fetch transport. */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { MESSAGES } from '../../src/outcome.js'
import { aliyunEnv, callsFor, script, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { signupPayload } from '../support/payloads.js'
import { OTHER_SECRET, SECRET, signedPost } from '../support/sign.js'
import { call, captureLogs, CONSOLE, inboxEntries, isolate, type Settings } from './support.js'

const aliyun = (settings: Settings = {}): Settings => ({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, ...aliyunEnv(settings) })

describe('the Worker entry', () => {
  it('answers /healthz', async () => {
    const response = await call(isolate(CONSOLE), '/healthz')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok' })
  })

  it('answers /readyz with 200 once its settings are valid', async () => {
    const response = await call(isolate(CONSOLE), '/readyz')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ready' })
  })

  it('answers an unknown path with 404 in the error shape', async () => {
    const response = await call(isolate(CONSOLE), '/nope')
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ error: { http_code: 404, message: 'Not found' } })
  })
})

describe('signatures on Workers', () => {
  it('accepts a call signed as GoTrue signs it, with either secret of a rotation', async () => {
    const bindings = isolate({ ...CONSOLE, GOTRUE_HOOK_SEND_SMS_SECRETS: `${OTHER_SECRET}|${SECRET}` })
    for (const secret of [SECRET, OTHER_SECRET]) {
      const payload = signupPayload()
      const response = await call(bindings, '/send-sms', signedPost(payload.body, { secrets: [secret] }))
      expect(response.status).toBe(200)
      expect(await inboxEntries(payload.uuid)).toHaveLength(1)
    }
  })

  it('refuses with 401 a call unsigned, signed with another secret or too old, and sends nothing', async () => {
    const bindings = isolate(CONSOLE)
    const stale = Math.floor(Date.now() / 1000) - 301
    const variants: [string, (body: string) => RequestInit][] = [
      ['unsigned', (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body })],
      ['another secret', (body) => signedPost(body, { secrets: [OTHER_SECRET] })],
      ['too old', (body) => signedPost(body, { timestamp: stale })],
    ]
    for (const [what, init] of variants) {
      const payload = signupPayload()
      const response = await call(bindings, '/send-sms', init(payload.body))
      expect(response.status, what).toBe(401)
      expect(await response.json(), what).toEqual({ error: { http_code: 401, message: MESSAGES.unauthorized } })
      expect(await inboxEntries(payload.uuid), what).toHaveLength(0)
    }
  })
})

describe('answers to GoTrue on Workers', () => {
  it('answers success as 200 {} with a JSON content type, with and without metadata', async () => {
    for (const legacy of [false, true]) {
      const response = await call(isolate(CONSOLE), '/send-sms', signedPost(signupPayload({ legacy }).body))
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await response.text()).toBe('{}')
    }
  })

  it('answers a refusal as 200 with the error object when GoTrue sends metadata, and as the status without', async () => {
    const bindings = isolate(aliyun())
    for (const legacy of [false, true]) {
      const payload = signupPayload({ phone: uniqueMainlandPhone(), legacy })
      await script(payload.phone.slice(2), { code: 'isv.BUSINESS_LIMIT_CONTROL', message: '触发号码天级流控' })
      const response = await call(bindings, '/send-sms', signedPost(payload.body))
      expect(response.status).toBe(legacy ? 429 : 200)
      expect(response.headers.get('retry-after')).toBeNull()
      expect(await response.json()).toEqual({ error: { http_code: 429, message: MESSAGES.rateLimited } })
    }
  })
})

describe('Alibaba Cloud from a Worker', () => {
  it('sends through the signed fetch transport, whatever GOTRUE_SMS_ALIYUN_TRANSPORT says', async () => {
    const payload = signupPayload({ phone: uniqueMainlandPhone() })
    const response = await call(
      isolate(aliyun({ GOTRUE_SMS_ALIYUN_TRANSPORT: 'sdk' })),
      '/send-sms',
      signedPost(payload.body),
    )
    expect(await response.json()).toEqual({})
    const calls = await callsFor(payload.uuid)
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({
      action: 'SendSms',
      signatureValid: true,
      userAgent: 'sms-hook',
      params: {
        PhoneNumbers: payload.phone.slice(2),
        TemplateParam: JSON.stringify({ code: payload.otp }),
        OutId: payload.uuid,
      },
      answer: { status: 200, code: 'OK' },
    })
  })

  it('reads a refused connection as "the SMS may have gone": workerd reports it as a lost connection', async () => {
    // workerd says "Network connection lost." whether or not the request left, so the hook must assume it may
    // have: it answers success, so GoTrue keeps the code that may arrive, and never sends again for this call
    // (Node can tell: test/aliyun/refused-connection).
    const logs = captureLogs()
    const bindings = isolate(aliyun({ GOTRUE_SMS_ALIYUN_ENDPOINT: 'http://127.0.0.1:2' }))
    const payload = signupPayload()
    for (let i = 0; i < 2; i++) {
      const response = await call(bindings, '/send-sms', signedPost(payload.body))
      expect(await response.json()).toEqual({})
    }
    const hooks = logs.filter((l) => l.msg === 'hook')
    expect(hooks.map((l) => [l.outcome, l.attempts])).toEqual([
      ['outcome_unknown', 1],
      ['outcome_unknown', 0],
    ])
  })
})

describe('settings on Workers: always production, and a bad one is alive but not ready', () => {
  const cases: [
    string,
    Settings,
    Partial<Record<'IDEMPOTENCY' | 'INBOX' | 'COUNTERS', unknown>> | undefined,
    string,
  ][] = [
    ['no hook secret', { GOTRUE_SMS_PROVIDER: 'console' }, undefined, 'GOTRUE_HOOK_SEND_SMS_SECRETS'],
    [
      'a hook secret that is too short',
      { ...CONSOLE, GOTRUE_HOOK_SEND_SMS_SECRETS: `v1,whsec_${btoa('short')}` },
      undefined,
      'GOTRUE_HOOK_SEND_SMS_SECRETS',
    ],
    [
      'no provider: production has no default',
      { ...CONSOLE, GOTRUE_SMS_PROVIDER: '' },
      undefined,
      'GOTRUE_SMS_PROVIDER',
    ],
    [
      'an Aliyun AccessKey without its secret',
      aliyun({ GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: '' }),
      undefined,
      'GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET',
    ],
    ['an unknown log level', { ...CONSOLE, LOG_LEVEL: 'chatty' }, undefined, 'LOG_LEVEL'],
    ['no idempotency Durable Object', CONSOLE, { INBOX: env.INBOX, COUNTERS: env.COUNTERS }, 'IDEMPOTENCY'],
    [
      'no counters Durable Object for the guard',
      CONSOLE,
      { IDEMPOTENCY: env.IDEMPOTENCY, INBOX: env.INBOX },
      'COUNTERS',
    ],
    [
      'the console provider without its inbox',
      CONSOLE,
      { IDEMPOTENCY: env.IDEMPOTENCY, COUNTERS: env.COUNTERS },
      'INBOX',
    ],
    [
      'REDIS_URL, which is for Node',
      { ...CONSOLE, REDIS_URL: 'redis://:secret@redis.internal:6379' },
      undefined,
      'REDIS_URL',
    ],
    [
      'a guard limit that is no count per window',
      { ...CONSOLE, SMS_HOOK_LIMIT_PER_NUMBER: '10 an hour' },
      undefined,
      'SMS_HOOK_LIMIT_PER_NUMBER',
    ],
  ]
  for (const [what, settings, objects, variable] of cases) {
    it(`answers /healthz 200, /readyz and /send-sms 503, and logs ${variable} for ${what}`, async () => {
      const logs = captureLogs()
      const bindings = objects ? isolate(settings, objects as never) : isolate(settings)
      const healthz = await call(bindings, '/healthz')
      expect(healthz.status).toBe(200)
      expect(await healthz.json()).toEqual({ status: 'ok' })
      expect(logs).toEqual([])

      const readyz = await call(bindings, '/readyz')
      expect(readyz.status).toBe(503)
      expect(await readyz.json()).toEqual({ status: 'not_ready', reason: `invalid configuration: ${variable}` })
      const sent = await call(bindings, '/send-sms', signedPost(signupPayload().body))
      expect(sent.status).toBe(503)
      // GoTrue would retry at once on a retry-after, into the same settings.
      expect(sent.headers.get('retry-after')).toBeNull()
      expect(sent.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await sent.json()).toEqual({ error: { http_code: 503, message: MESSAGES.configuration } })

      expect(logs.map((l) => [l.level, l.variable])).toEqual([
        ['error', variable],
        ['error', variable],
      ])
      for (const line of logs) {
        expect(line.msg).toMatch(new RegExp(`^invalid configuration: ${variable}: `))
        expect(JSON.stringify(line)).not.toContain(SECRET.slice(9))
        expect(JSON.stringify(line)).not.toContain(':secret@')
      }
    })
  }

  it('names every missing setting at once for wrangler.toml alone (no secrets put yet)', async () => {
    const logs = captureLogs()
    const bindings = isolate({ GOTRUE_SMS_PROVIDER: 'aliyun' })
    const missing = [
      'GOTRUE_HOOK_SEND_SMS_SECRETS',
      'GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID',
      'GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET',
      'GOTRUE_SMS_ALIYUN_TEMPLATE_CODE',
      'GOTRUE_SMS_ALIYUN_SIGN_NAME',
    ]
    const readyz = await call(bindings, '/readyz')
    expect(await readyz.json()).toEqual({ status: 'not_ready', reason: `invalid configuration: ${missing.join(', ')}` })
    expect(logs.map((l) => l.variable)).toEqual(missing)
  })

  it('logs each problem of a configuration error that reports several, one line apiece', async () => {
    const logs = captureLogs()
    const bindings = isolate({ GOTRUE_SMS_PROVIDER: 'console', LOG_LEVEL: 'chatty' })
    const problems = ['GOTRUE_HOOK_SEND_SMS_SECRETS', 'LOG_LEVEL']
    const readyz = await call(bindings, '/readyz')
    expect(readyz.status).toBe(503)
    const { reason } = (await readyz.json()) as { reason: string }
    // Today's parseConfig stops at the first problem; one that reports them all names each.
    const named = problems.filter((variable) => reason.includes(variable))
    expect(named.length).toBeGreaterThan(0)
    expect(logs.map((l) => String(l.variable)).sort()).toEqual(named.sort())
    for (const line of logs) expect(line.msg).toMatch(new RegExp(`^invalid configuration: ${String(line.variable)}: `))
  })

  it('never falls back to development mode: the console provider must be chosen', async () => {
    const bindings = isolate({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'development' })
    expect((await call(bindings, '/healthz')).status).toBe(200)
    expect((await call(bindings, '/send-sms', signedPost(signupPayload().body))).status).toBe(503)
  })
})
