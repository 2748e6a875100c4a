import { describe, expect, it } from 'vitest'
import { NODE_SERVER_NAMES, parseConfig, SHARED_SETTINGS } from '../../src/config/index.js'
import { ConfigErrors, formatDuration, durationMs } from '../../src/config/settings.js'
import { isConfigError } from '../../src/errors.js'
import { SERVER_SETTINGS } from '../../src/node/config.js'
import { readConfiguration, summarize } from '../../src/node/configuration.js'
import { vendorEnv } from '../support/routing.js'
import { SECRET } from '../support/sign.js'

const PRODUCTION = { NODE_ENV: 'production', GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, GOTRUE_SMS_PROVIDER: 'console' }

/** Every error of one reading, as `variable: detail` lines. */
const errorsOf = (env: Record<string, string>): string[] => {
  try {
    readConfiguration(env)
  } catch (error) {
    if (error instanceof ConfigErrors) return error.errors.map((e) => e.message)
    if (isConfigError(error)) return [error.message]
    throw error
  }
  throw new Error('expected configuration errors')
}

describe('unknown settings', () => {
  it.each([
    ['SMS_HOOK_ALLOWED_COUNTRY', '86', 'SMS_HOOK_ALLOWED_COUNTRIES'],
    ['REDIS_URI', '', 'REDIS_URL'],
    ['REDIS_URL_', 'redis://127.0.0.1', 'REDIS_URL'],
    ['GOTRUE_SMS_ALIYUN_IS_TES', 'true', 'GOTRUE_SMS_ALIYUN_IS_TEST'],
    ['GOTRUE_SMS_ALIYUN_REGIONID', 'cn-shanghai', 'GOTRUE_SMS_ALIYUN_REGION_ID'],
    ['SMS_HOOK_TIMEOUT_SECONDS', '3s', 'SMS_HOOK_TIMEOUT'],
    ['GOTRUE_HOOK_SEND_SMS_SECRET', SECRET, 'GOTRUE_HOOK_SEND_SMS_SECRETS'],
  ])('stops production start-up on %s, naming the closest known name', (name, value, meant) => {
    expect(errorsOf({ ...PRODUCTION, [name]: value })).toEqual([`${name}: unknown setting; did you mean ${meant}?`])
  })

  it('names a variable of its namespaces that is close to nothing without a guess', () => {
    expect(errorsOf({ ...PRODUCTION, SMS_HOOK_WHATEVER_THIS_IS: '1' })).toEqual([
      'SMS_HOOK_WHATEVER_THIS_IS: unknown setting (docs/settings.md lists every one)',
    ])
  })

  it("starts with GoTrue's own .env beside it, and with other programs' variables", () => {
    const gotrue = {
      GOTRUE_SMS_AUTOCONFIRM: 'false',
      GOTRUE_SMS_MAX_FREQUENCY: '60s',
      GOTRUE_SMS_OTP_EXP: '300',
      GOTRUE_SMS_OTP_LENGTH: '6',
      GOTRUE_SMS_TEST_OTP: '8613800138000=123456',
      GOTRUE_SMS_TEST_OTP_VALID_UNTIL: '2030-01-01T00:00:00Z',
      GOTRUE_HOOK_SEND_SMS_ENABLED: 'true',
      GOTRUE_HOOK_SEND_SMS_URI: 'http://sms-hook:8080/send-sms',
      GOTRUE_SMS_TWILIO_VERIFY_ACCOUNT_SID: 'AC1',
      GOTRUE_JWT_SECRET: 'x',
      REDIS_PORT: 'tcp://10.0.0.1:6379',
      REDIS_SERVICE_HOST: '10.0.0.1',
      SMS_HOOK_METRICS_PORT: '0',
    }
    expect(readConfiguration({ ...PRODUCTION, ...gotrue }).config.mode).toBe('production')
  })

  it('only warns in development, as a note the start-up prints', () => {
    const config = parseConfig({
      NODE_ENV: 'development',
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      SMS_HOOK_ALLOWED_COUNTRY: '86',
    })
    expect(config.notes).toContainEqual({
      variable: 'SMS_HOOK_ALLOWED_COUNTRY',
      reason: 'unknown setting; did you mean SMS_HOOK_ALLOWED_COUNTRIES?',
    })
  })
})

describe('every error at once', () => {
  it('reports every wrong variable of one start, one error each, in the order they are read', () => {
    const errors = errorsOf({
      NODE_ENV: 'production',
      GOTRUE_SMS_PROVIDER: 'aliyun',
      SMS_HOOK_LIMIT_PER_IP: '30 an hour',
      SMS_HOOK_ALLOWED_COUNTRY: '86',
      PORT: 'eighty',
    })
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'SMS_HOOK_ALLOWED_COUNTRY',
      'GOTRUE_HOOK_SEND_SMS_SECRETS',
      'SMS_HOOK_LIMIT_PER_IP',
      'GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID',
      'GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET',
      'GOTRUE_SMS_ALIYUN_TEMPLATE_CODE',
      'GOTRUE_SMS_ALIYUN_SIGN_NAME',
      'PORT',
    ])
  })

  it('refuses a value wrapped in quotes, saying so, and never repeats a secret', () => {
    const errors = errorsOf({
      ...PRODUCTION,
      GOTRUE_SMS_PROVIDER: '"console"',
      GOTRUE_HOOK_SEND_SMS_SECRETS: `'${SECRET}'`,
      LOG_LEVEL: "'info'",
    })
    expect(errors).toEqual([
      "GOTRUE_HOOK_SEND_SMS_SECRETS: is wrapped in quotes ('...'): remove them, they would be part of the value",
      "LOG_LEVEL: is wrapped in quotes ('...'): remove them, they would be part of the value",
      expect.stringMatching(
        /^SMS_HOOK_ROUTES: .*GOTRUE_SMS_PROVIDER|^GOTRUE_SMS_PROVIDER: is wrapped in quotes \("..."\)/,
      ),
    ])
    expect(errors.join('\n')).not.toContain(SECRET.slice(10))
  })
})

describe('durations', () => {
  it('reads one syntax everywhere: a number and a unit of ms, s, m, h or d', () => {
    expect(['500ms', '30s', '2m', '1h', '1d', '2 H'].map(durationMs)).toEqual([
      500, 30_000, 120_000, 3_600_000, 86_400_000, 7_200_000,
    ])
    expect(['30', '1.5s', 's', '-1s', '1w'].map(durationMs)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ])
    expect([500, 30_000, 90_000, 3_600_000].map(formatDuration)).toEqual(['500ms', '30s', '90s', '1h'])
  })

  it('takes SMS_HOOK_TIMEOUT with a unit, and the old SMS_HOOK_TIMEOUT_MS in bare milliseconds with a note', () => {
    expect(parseConfig({ ...PRODUCTION, SMS_HOOK_TIMEOUT: '3s' }).hook.timeoutMs).toBe(3000)
    const old = parseConfig({ ...PRODUCTION, SMS_HOOK_TIMEOUT_MS: '2500' })
    expect(old.hook.timeoutMs).toBe(2500)
    expect(old.notes).toContainEqual({
      variable: 'SMS_HOOK_TIMEOUT_MS',
      reason: 'deprecated: write SMS_HOOK_TIMEOUT with a unit (4500ms)',
    })
    expect(errorsOf({ ...PRODUCTION, SMS_HOOK_TIMEOUT: '3000' })).toEqual([
      'SMS_HOOK_TIMEOUT: must be a duration such as 500ms, 30s, 2m or 1h, got "3000"',
    ])
    expect(parseConfig({ ...PRODUCTION, SMS_HOOK_LIMIT_PER_NUMBER: '3/90s' }).guard.limits.per_number).toEqual({
      max: 3,
      windowMs: 90_000,
    })
  })
})

describe('development mode', () => {
  it('turns the velocity limits off unless one is set explicitly; production keeps its defaults', () => {
    const dev = parseConfig({
      NODE_ENV: 'development',
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      SMS_HOOK_LIMIT_PER_NUMBER: '3/1h',
    })
    expect(dev.guard.limits).toEqual({
      per_ip: undefined,
      per_network: undefined,
      per_number: { max: 3, windowMs: 3_600_000 },
      per_country: undefined,
      global: undefined,
    })
    expect(parseConfig(PRODUCTION).guard.limits.per_ip).toEqual({ max: 30, windowMs: 3_600_000 })
  })
})

describe('the start-up summary', () => {
  it('says what the configuration does in one record, without a secret, with each ignored setting and why', () => {
    const env = {
      ...PRODUCTION,
      SMS_HOOK_ROUTES: '86=console;*=console',
      SMS_HOOK_METRICS_TOKEN: 'a-metrics-token-0123456789',
      REDIS_URL: 'redis://:hunter2-password@10.0.0.5:6380/0',
      GOTRUE_SMS_TWILIO_ACCOUNT_SID: 'AC123',
      GOTRUE_SMS_TWILIO_ENDPOINT: 'http://127.0.0.1:9',
    }
    const summary = summarize(env, readConfiguration(env))
    expect(summary).toMatchObject({
      mode: 'production',
      routes: '86=console;*=console',
      // Twilio's endpoint is an ignored setting here, not an override in effect.
      endpoints: 'vendor defaults',
      state: 'redis standalone 10.0.0.5:6380',
      guard: 'per_ip=30/1h per_network=120/1h per_number=10/1h per_country=off global=off countries=any blocked=none',
      aliyun_test_route: 'off',
      deliveries: 'on, kept 1d receipts=none resend_rotate=on/10m lookup=off',
      ignored:
        'GOTRUE_SMS_PROVIDER (ignored: SMS_HOOK_ROUTES decides the providers); GOTRUE_SMS_TWILIO_ACCOUNT_SID (ignored: no route uses twilio); GOTRUE_SMS_TWILIO_ENDPOINT (ignored: no route uses twilio)',
    })
    const text = JSON.stringify(summary)
    for (const secret of ['hunter2', SECRET.slice(10), 'a-metrics-token']) expect(text).not.toContain(secret)
  })

  it('says which providers in use can send delivery receipts, and the setting each one lacks', () => {
    const base = { ...PRODUCTION, ...vendorEnv() }
    const lacking = summarize(base, readConfiguration({ ...base, SMS_HOOK_ROUTES: '86=aliyun;*=twilio,vonage' }))
    expect(lacking.deliveries).toBe(
      'on, kept 1d receipts=aliyun (needs SMS_HOOK_RECEIPTS_TOKEN),twilio (needs SMS_HOOK_PUBLIC_URL),vonage (needs SMS_HOOK_RECEIPTS_TOKEN and SMS_HOOK_PUBLIC_URL) resend_rotate=on/10m lookup=off',
    )
    const ready = {
      ...base,
      SMS_HOOK_ROUTES: '86=aliyun;*=twilio,vonage',
      SMS_HOOK_RECEIPTS_TOKEN: 'receipts-token-0123456789',
      SMS_HOOK_PUBLIC_URL: 'https://hook.example.com/',
      SMS_HOOK_ADMIN_TOKEN: 'admin-token-0123456789',
      SMS_HOOK_RESEND_ROTATE: 'off',
      SMS_HOOK_RECEIPT_TTL: '2d',
    }
    const summary = summarize(ready, readConfiguration(ready))
    expect(summary.deliveries).toBe('on, kept 2d receipts=aliyun,twilio,vonage resend_rotate=off lookup=on')
    for (const secret of ['receipts-token-0123456789', 'admin-token-0123456789'])
      expect(JSON.stringify(summary)).not.toContain(secret)
    const off = { ...base, SMS_HOOK_RECEIPTS: 'off', SMS_HOOK_ADMIN_TOKEN: 'admin-token-0123456789' }
    const quiet = readConfiguration(off)
    expect(summarize(off, quiet).deliveries).toBe('off')
    expect(quiet.config.notes).toContainEqual({
      variable: 'SMS_HOOK_ADMIN_TOKEN',
      reason: 'ignored: SMS_HOOK_RECEIPTS=off keeps no delivery records',
    })
  })

  it("names the endpoint overrides of the providers in use, as their origin, and never reads an unused one's", () => {
    const env = {
      ...PRODUCTION,
      SMS_HOOK_ROUTES: '86=console;*=twilio',
      GOTRUE_SMS_TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
      GOTRUE_SMS_TWILIO_AUTH_TOKEN: 'twilio-token',
      GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID: '+15005550006',
      GOTRUE_SMS_TWILIO_ENDPOINT: 'http://127.0.0.1:9/',
      // Not a URL, and not in use: a note, never a crash of the summary.
      GOTRUE_SMS_VONAGE_ENDPOINT: 'garbage',
    }
    const summary = summarize(env, readConfiguration(env))
    expect(summary.endpoints).toBe('GOTRUE_SMS_TWILIO_ENDPOINT=http://127.0.0.1:9')
    expect(summary.ignored).toContain('GOTRUE_SMS_VONAGE_ENDPOINT (ignored: no route uses vonage)')
  })
})
