import { describe, expect, it } from 'vitest'
import { parseConfig, parseMode } from '../../src/config/index.js'
import { ConfigErrors } from '../../src/config/settings.js'
import { parseServerConfig } from '../../src/node/config.js'
import { isConfigError } from '../../src/errors.js'
import { SECRET } from '../support/sign.js'

const errorOf = (env: Record<string, string>) => {
  try {
    parseConfig(env)
  } catch (error) {
    // The first of every error of the start: each test here is about one variable.
    if (error instanceof ConfigErrors) return { variable: error.errors[0]!.variable, message: error.errors[0]!.message }
    if (isConfigError(error)) return { variable: error.variable, message: error.message }
    throw error
  }
  throw new Error('expected a configuration error')
}

describe('configuration', () => {
  it('starts on defaults in development with only a secret', () => {
    const config = parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'development' })
    expect(config).toMatchObject({
      mode: 'development',
      routing: { providers: [{ name: 'console' }], routes: [{ prefix: '*', providers: ['console'] }] },
      logLevel: 'info',
      hook: { timeoutMs: 4500, signatureToleranceMs: 300_000 },
      message: { smsTemplate: 'Your code is {{ .Code }}', otpExpSeconds: 60 },
    })
    expect(parseServerConfig({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      maxConnections: 1024,
      metrics: { port: undefined, token: undefined },
    })
    expect(config.hook.secrets).toHaveLength(1)
    expect(config.hook.secrets[0]).toHaveLength(32)
  })

  it('requires a secret', () => {
    expect(errorOf({}).variable).toBe('GOTRUE_HOOK_SEND_SMS_SECRETS')
    expect(errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: '  ' }).variable).toBe('GOTRUE_HOOK_SEND_SMS_SECRETS')
  })

  it('names the bad entry of a secret list without repeating the secret', () => {
    const bad = 'v1,whsec_notbase64!!'
    const error = errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: `${SECRET}|${bad}` })
    expect(error.variable).toBe('GOTRUE_HOOK_SEND_SMS_SECRETS')
    expect(error.message).toContain('entry 2')
    expect(error.message).not.toContain('notbase64')
  })

  it('refuses a key shorter than 24 bytes', () => {
    const short = `v1,whsec_${btoa('x'.repeat(16))}`
    expect(errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: short }).message).toMatch(/16 bytes; at least 24/)
  })

  it('requires GOTRUE_SMS_PROVIDER in production', () => {
    expect(errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'production' }).variable).toBe(
      'GOTRUE_SMS_PROVIDER',
    )
    expect(
      parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console' })
        .mode,
    ).toBe('production')
  })

  it('is production unless development is asked for, and refuses an unknown NODE_ENV', () => {
    expect(parseMode({})).toBe('production')
    expect(parseMode({ NODE_ENV: 'production' })).toBe('production')
    expect(parseMode({ NODE_ENV: 'development' })).toBe('development')
    expect(parseMode({ NODE_ENV: 'test' })).toBe('development')
    expect(errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'prod' })).toEqual({
      variable: 'NODE_ENV',
      message: 'NODE_ENV: must be production, development or test, got "prod"',
    })
    expect(errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET }).variable).toBe('GOTRUE_SMS_PROVIDER')
  })

  it('reads LOG_LEVEL and GOTRUE_SMS_PROVIDER in any case', () => {
    const config = parseConfig({
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      LOG_LEVEL: 'WARN',
      GOTRUE_SMS_PROVIDER: 'Console',
    })
    expect([config.logLevel, config.routing.providers[0]?.name]).toEqual(['warn', 'console'])
  })

  it('refuses an unknown provider', () => {
    expect(errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, GOTRUE_SMS_PROVIDER: 'carrier-pigeon' }).message).toMatch(
      /GOTRUE_SMS_PROVIDER: must be one of/,
    )
  })

  it.each([
    ['LOG_LEVEL', 'verbose'],
    ['SMS_HOOK_TIMEOUT_MS', '4801'],
    ['SMS_HOOK_TIMEOUT_MS', '4.5'],
    ['GOTRUE_SMS_OTP_EXP', '-1'],
    ['SMS_HOOK_IDEMPOTENCY_MAX_KEYS', '10'],
  ])('names %s when it is %s', (variable, value) => {
    expect(errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, [variable]: value }).variable).toBe(variable)
  })

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
  ])("names %s when it is %s (the Node server's own settings)", (variable, value) => {
    expect(() => parseServerConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: `))
  })

  describe('shared state settings', () => {
    const state = (env: Record<string, string>) =>
      parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'test', ...env }).state

    it('defaults: memory, no replica acknowledgements, 100,000 exact guard windows', () => {
      expect(state({})).toMatchObject({ redis: undefined, stateDown: 'send', guardMaxKeys: 100_000 })
      expect(state({ REDIS_URL: 'redis://r:6379' }).redis).toEqual({
        url: 'redis://r:6379',
        prefix: 'sms-hook:',
        durable: 'none',
      })
    })

    it('reads SMS_HOOK_REDIS_DURABLE=wait with REDIS_URL, and refuses it without one or with another value', () => {
      expect(
        state({ REDIS_URL: 'redis+sentinel://s1:26379,s2:26379/main', SMS_HOOK_REDIS_DURABLE: 'wait' }).redis?.durable,
      ).toBe('wait')
      expect(errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, SMS_HOOK_REDIS_DURABLE: 'wait' })).toEqual({
        variable: 'SMS_HOOK_REDIS_DURABLE',
        message: expect.stringContaining('need REDIS_URL'),
      })
      expect(
        errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, REDIS_URL: 'redis://r', SMS_HOOK_REDIS_DURABLE: 'always' })
          .variable,
      ).toBe('SMS_HOOK_REDIS_DURABLE')
    })

    it('reads SMS_HOOK_GUARD_MAX_KEYS, and names it when out of range', () => {
      expect(state({ SMS_HOOK_GUARD_MAX_KEYS: '5000' }).guardMaxKeys).toBe(5000)
      for (const value of ['10', 'lots', '100000000']) {
        expect(errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, SMS_HOOK_GUARD_MAX_KEYS: value }).variable).toBe(
          'SMS_HOOK_GUARD_MAX_KEYS',
        )
      }
    })

    it('takes the Cluster and Sentinel forms of REDIS_URL, and refuses malformed ones without echoing a password', () => {
      expect(state({ REDIS_URL: 'rediss+cluster://u:p@n1:7000,n2:7001' }).redis?.url).toBe(
        'rediss+cluster://u:p@n1:7000,n2:7001',
      )
      for (const url of [
        'redis://:secret@a:1,b:2',
        'redis+cluster://:secret@a:1/0',
        'redis+sentinel://:secret@s1:26379',
        'redis+sentinel://:secret@s1:26379/main?db=x',
        'redis+cluster://:secret@a:99999',
        'redis+cluster://:secret@',
      ]) {
        // The Node entry's own settings read REDIS_URL, the only runtime that connects to it.
        let error: unknown
        try {
          parseServerConfig({ REDIS_URL: url })
        } catch (e) {
          error = e
        }
        expect(isConfigError(error) && error.variable).toBe('REDIS_URL')
        expect((error as Error).message).not.toContain('secret')
      }
    })
  })

  it('accepts SMS_HOOK_TIMEOUT_MS up to 4800', () => {
    expect(
      parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'test', SMS_HOOK_TIMEOUT_MS: '4800' }).hook
        .timeoutMs,
    ).toBe(4800)
  })

  describe('SMS_HOOK_SIGNATURE_TOLERANCE', () => {
    const tolerance = (value: string) =>
      parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'test', SMS_HOOK_SIGNATURE_TOLERANCE: value }).hook
        .signatureToleranceMs

    it('is the Standard Webhooks 5 minutes when unset or blank', () => {
      expect(parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'test' }).hook.signatureToleranceMs).toBe(
        300_000,
      )
      expect(tolerance('  ')).toBe(300_000)
    })

    it.each([
      ['30s', 30_000],
      ['30000ms', 30_000],
      ['2m', 120_000],
      ['300s', 300_000],
      ['5m', 300_000],
    ])('takes %s as %i ms', (value, ms) => {
      expect(tolerance(value)).toBe(ms)
    })

    it.each([
      ['29s', /between/],
      ['29999ms', /between/],
      ['6m', /between/],
      ['301s', /between/],
      ['30', /must be a duration/],
      ['five minutes', /must be a duration/],
      ['1h', /must be between 30s and 5m/],
      ['-30s', /must be a duration/],
    ])('refuses %s, naming the variable', (value, message) => {
      const error = errorOf({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, SMS_HOOK_SIGNATURE_TOLERANCE: value })
      expect(error.variable).toBe('SMS_HOOK_SIGNATURE_TOLERANCE')
      expect(error.message).toMatch(/^SMS_HOOK_SIGNATURE_TOLERANCE: /)
      expect(error.message).toMatch(message)
    })
  })
})
