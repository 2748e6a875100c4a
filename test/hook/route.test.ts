import { describe, expect, it } from 'vitest'
import { parseConfig, type Env } from '../../src/config/index.js'
import { isConfigError } from '../../src/errors.js'
import { MESSAGES } from '../../src/outcome.js'
import { makeApp } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { vendorEnv, working } from '../support/routing.js'
import { SECRET, signedPost } from '../support/sign.js'

/** An app routed by `routes`, every provider a recording double named as the routes name it. */
const routedApp = (routes: string, env: Env = {}) => {
  const providers = Object.fromEntries(
    ['aliyun', 'tencent', 'twilio', 'vonage', 'messagebird', 'textlocal'].map((name) => [name, working(name)]),
  )
  const made = makeApp({ env: { ...vendorEnv(), SMS_HOOK_ROUTES: routes, ...env }, providers })
  /** Sends a hook for `phone` and names the provider that got it ('' for none). */
  const sendTo = async (phone: string) => {
    const before = Object.fromEntries(Object.entries(providers).map(([name, p]) => [name, p.calls.length]))
    const response = await made.app.request('/send-sms', signedPost(signupPayload({ phone }).body))
    const used = Object.entries(providers).filter(([name, p]) => p.calls.length > before[name]!)
    expect(used.length).toBeLessThanOrEqual(1)
    return { response, provider: used[0]?.[0] ?? '' }
  }
  return { ...made, providers, sendTo }
}

describe('routing by number prefix (SMS_HOOK_ROUTES)', () => {
  it('sends through the provider of the longest matching prefix, and the rest through *', async () => {
    const { sendTo } = routedApp('86=aliyun; 8617=tencent; 852,853=vonage; 4478=messagebird; *=twilio')
    expect((await sendTo('8613800138000')).provider).toBe('aliyun')
    expect((await sendTo('8617012345678')).provider).toBe('tencent')
    expect((await sendTo('85291234567')).provider).toBe('vonage')
    expect((await sendTo('85361234567')).provider).toBe('vonage')
    expect((await sendTo('447800123456')).provider).toBe('messagebird')
    expect((await sendTo('447700900123')).provider).toBe('twilio')
    expect((await sendTo('14155550123')).provider).toBe('twilio')
  })

  it('reads a prefix written with + as its digits, and provider names in any case', async () => {
    const { sendTo } = routedApp('+44=Vonage;*=TWILIO')
    expect((await sendTo('447700900123')).provider).toBe('vonage')
    expect((await sendTo('8613800138000')).provider).toBe('twilio')
  })

  for (const legacy of [false, true]) {
    it(`refuses a number no rule matches with 400 and calls no provider (${legacy ? 'without' : 'with'} metadata)`, async () => {
      const { app, providers, logs, events } = routedApp('86=aliyun;852=vonage')
      const response = await app.request('/send-sms', signedPost(signupPayload({ phone: '447700900123', legacy }).body))
      expect(response.status).toBe(legacy ? 400 : 200)
      expect(await response.json()).toEqual({ error: { http_code: 400, message: MESSAGES.noRoute } })
      expect(Object.values(providers).flatMap((p) => p.calls)).toHaveLength(0)
      expect(logs.find((l) => l.msg === 'hook')).toMatchObject({
        level: 'warn',
        outcome: 'no_route',
        status: 400,
        attempts: 0,
      })
      expect(events.find((e) => e.type === 'failed')).toMatchObject({
        provider: undefined,
        attempts: 0,
        failedAttempts: [],
      })
    })
  }

  it('routes a bare mainland mobile by its +86 when SMS_HOOK_NATIONAL_NUMBERS=86', async () => {
    const national = routedApp('86=aliyun;1=twilio', { SMS_HOOK_NATIONAL_NUMBERS: '86' })
    expect((await national.sendTo('13800138000')).provider).toBe('aliyun')
    expect(national.providers.aliyun!.calls[0]!.message.to.e164).toBe('8613800138000')
    // Without the setting the same digits are a North American number.
    expect((await routedApp('86=aliyun;1=twilio').sendTo('13800138000')).provider).toBe('twilio')
  })

  it('sends every number to GOTRUE_SMS_PROVIDER when SMS_HOOK_ROUTES is unset', () => {
    const config = parseConfig({
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      NODE_ENV: 'production',
      GOTRUE_SMS_PROVIDER: 'console',
    })
    expect(config.routing.routes).toEqual([{ prefix: '*', providers: ['console'] }])
    expect(config.routing.providers).toEqual([{ name: 'console', settings: {} }])
  })
})

describe('SMS_HOOK_ROUTES at start-up', () => {
  const production = (env: Env) =>
    parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'production', ...vendorEnv(), ...env })

  const startUpError = (env: Env) => {
    try {
      production(env)
    } catch (error) {
      if (isConfigError(error)) return { variable: error.variable, message: error.message }
      throw error
    }
    throw new Error('expected a configuration error')
  }

  it('needs no GOTRUE_SMS_PROVIDER, and holds the settings of every provider it names, once each', () => {
    const config = production({ SMS_HOOK_ROUTES: '86=aliyun,tencent;852,853=aliyun,twilio;*=twilio,vonage' })
    expect(config.routing.routes).toEqual([
      { prefix: '86', providers: ['aliyun', 'tencent'] },
      { prefix: '852', providers: ['aliyun', 'twilio'] },
      { prefix: '853', providers: ['aliyun', 'twilio'] },
      { prefix: '*', providers: ['twilio', 'vonage'] },
    ])
    expect(config.routing.providers.map((p) => p.name)).toEqual(['aliyun', 'tencent', 'twilio', 'vonage'])
    expect(config.routing.providers[0]!.settings).toMatchObject({
      accessKeyId: vendorEnv().GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID,
    })
  })

  it('names the rule and every missing variable of a provider without settings', () => {
    expect(startUpError({ SMS_HOOK_ROUTES: '86=aliyun;*=textlocal', GOTRUE_SMS_TEXTLOCAL_API_KEY: '' })).toEqual({
      variable: 'SMS_HOOK_ROUTES',
      message: 'SMS_HOOK_ROUTES: rule "*=textlocal": textlocal needs GOTRUE_SMS_TEXTLOCAL_API_KEY',
    })
    expect(
      startUpError({
        SMS_HOOK_ROUTES: '44=twilio,vonage',
        GOTRUE_SMS_VONAGE_API_SECRET: '',
        GOTRUE_SMS_VONAGE_FROM: '',
      }).message,
    ).toBe(
      'SMS_HOOK_ROUTES: rule "44=twilio,vonage": vonage needs GOTRUE_SMS_VONAGE_API_SECRET and GOTRUE_SMS_VONAGE_FROM',
    )
  })

  it("passes on a provider's own message for a variable that is set but wrong", () => {
    expect(
      startUpError({ SMS_HOOK_ROUTES: '*=twilio', GOTRUE_SMS_TWILIO_ENDPOINT: 'ftp://example.com' }).message,
    ).toMatch(/^SMS_HOOK_ROUTES: rule "\*=twilio": GOTRUE_SMS_TWILIO_ENDPOINT: /)
  })

  it('refuses an unknown provider, naming it and the known ones', () => {
    expect(startUpError({ SMS_HOOK_ROUTES: '86=aliyun;*=carrier-pigeon' }).message).toMatch(
      /^SMS_HOOK_ROUTES: rule "\*=carrier-pigeon": unknown provider "carrier-pigeon" \(one of: console, aliyun, twilio/,
    )
  })

  it.each([
    ['86:aliyun', 'must be <prefixes>=<providers>'],
    ['=aliyun', '"" is not a prefix'],
    ['0086=aliyun', '"0086" is not a prefix'],
    ['86a=aliyun', '"86a" is not a prefix'],
    ['1234567890123456=aliyun', '"1234567890123456" is not a prefix'],
    ['86=', 'needs a provider name'],
    ['86=aliyun,,tencent', 'needs a provider name'],
    ['86=aliyun,Aliyun', 'names aliyun twice'],
    ['86,86=aliyun', 'names 86 twice'],
  ])('refuses the malformed rule %j', (rule, detail) => {
    const error = startUpError({ SMS_HOOK_ROUTES: `44=twilio;${rule}` })
    expect(error.variable).toBe('SMS_HOOK_ROUTES')
    expect(error.message).toContain(`rule "${rule}": ${detail}`)
  })

  it('refuses a prefix routed by two rules, naming both', () => {
    expect(startUpError({ SMS_HOOK_ROUTES: '86=aliyun;852=twilio;+86=tencent' }).message).toBe(
      'SMS_HOOK_ROUTES: rule "+86=tencent": 86 is routed already by rule "86=aliyun"',
    )
    expect(startUpError({ SMS_HOOK_ROUTES: '*=aliyun;*=twilio' }).message).toContain('* is routed already')
  })

  it('refuses a value with no rule at all', () => {
    expect(startUpError({ SMS_HOOK_ROUTES: ' ; ' }).message).toMatch(/^SMS_HOOK_ROUTES: has no rule/)
  })

  it('reads the failover and breaker settings, and names a bad one', () => {
    expect(production({ SMS_HOOK_ROUTES: '*=twilio' }).routing).toMatchObject({
      failoverOnTimeout: false,
      breaker: { threshold: 5, cooldownMs: 30_000 },
    })
    const set = production({
      SMS_HOOK_ROUTES: '*=twilio',
      SMS_HOOK_FAILOVER_ON_TIMEOUT: 'true',
      SMS_HOOK_BREAKER_THRESHOLD: '3',
      SMS_HOOK_BREAKER_COOLDOWN: '2m',
    })
    expect(set.routing).toMatchObject({ failoverOnTimeout: true, breaker: { threshold: 3, cooldownMs: 120_000 } })
    for (const [value, ms] of [
      ['500ms', 500],
      ['45s', 45_000],
      ['1M', 60_000],
    ] as const) {
      expect(
        production({ SMS_HOOK_BREAKER_COOLDOWN: value, GOTRUE_SMS_PROVIDER: 'console' }).routing.breaker.cooldownMs,
      ).toBe(ms)
    }
    const bad: [string, string][] = [
      ['SMS_HOOK_FAILOVER_ON_TIMEOUT', 'sometimes'],
      ['SMS_HOOK_BREAKER_THRESHOLD', '0'],
      ['SMS_HOOK_BREAKER_COOLDOWN', '30'],
      ['SMS_HOOK_BREAKER_COOLDOWN', '10ms'],
      ['SMS_HOOK_BREAKER_COOLDOWN', '2h'],
      ['SMS_HOOK_BREAKER_COOLDOWN', '61m'],
    ]
    for (const [variable, value] of bad) {
      expect(startUpError({ GOTRUE_SMS_PROVIDER: 'console', [variable]: value }).variable).toBe(variable)
    }
  })
})
