import { describe, expect, it } from 'vitest'
import { parseConfig, type Env } from '../../src/config/index.js'
import { isConfigError } from '../../src/errors.js'
import { isCallingCode } from '../../src/phone/calling-codes.js'
import { get } from '../../src/config/settings.js'
import { MESSAGE_SETTINGS } from '../../src/message/build.js'
import { isMainlandMobile, nationalNumbersFor, normalisePhone } from '../../src/phone/e164.js'
import { SECRET } from '../support/sign.js'

describe('phone numbers, normalised once before anything chooses a provider', () => {
  it.each([
    ['8613800138000', { e164: '8613800138000', callingCode: '86', national: '13800138000' }],
    ['+8613800138000', { e164: '8613800138000', callingCode: '86', national: '13800138000' }],
    ['14155550123', { e164: '14155550123', callingCode: '1', national: '4155550123' }],
    ['447700900123', { e164: '447700900123', callingCode: '44', national: '7700900123' }],
    ['85291234567', { e164: '85291234567', callingCode: '852', national: '91234567' }],
    ['79161234567', { e164: '79161234567', callingCode: '7', national: '9161234567' }],
    ['97150123456', { e164: '97150123456', callingCode: '971', national: '50123456' }],
  ])('reads %s with its calling code', (raw, expected) => {
    expect(normalisePhone(raw, undefined)).toEqual(expected)
  })

  it.each(['', 'abc', '0861380013800', '123456', '8613800138000123', '99912345678', '21012345678'])(
    'refuses %j: not a number any SMS can reach',
    (raw) => {
      expect(normalisePhone(raw, undefined)).toBeUndefined()
    },
  )

  it('reads a bare mainland mobile as +86 only with SMS_HOOK_NATIONAL_NUMBERS=86', () => {
    expect(normalisePhone('13800138000', '86')).toEqual({
      e164: '8613800138000',
      callingCode: '86',
      national: '13800138000',
    })
    expect(normalisePhone('13800138000', undefined)?.callingCode).toBe('1')
    // Not a mainland mobile (12 is no mobile prefix): still E.164.
    expect(normalisePhone('12025550123', '86')?.callingCode).toBe('1')
    expect(normalisePhone('8613800138000', '86')?.e164).toBe('8613800138000')
  })

  it('never reads a number written with + as national', () => {
    expect(normalisePhone('+13125550123', '86')).toEqual({
      e164: '13125550123',
      callingCode: '1',
      national: '3125550123',
    })
    expect(normalisePhone('13125550123', '86')?.e164).toBe('8613125550123')
  })

  it('tells mainland mobiles from other +86 numbers', () => {
    expect(isMainlandMobile(normalisePhone('8613800138000', undefined)!)).toBe(true)
    expect(isMainlandMobile(normalisePhone('8612800138000', undefined)!)).toBe(false)
    expect(isMainlandMobile(normalisePhone('861012345678', undefined)!)).toBe(false)
    expect(isMainlandMobile(normalisePhone('13800138000', undefined)!)).toBe(false)
  })

  it('accepts only 86 or none for SMS_HOOK_NATIONAL_NUMBERS, naming the variable otherwise', () => {
    const parseNationalNumbers = (env: Record<string, string>) =>
      get(env, MESSAGE_SETTINGS, 'SMS_HOOK_NATIONAL_NUMBERS')
    expect(parseNationalNumbers({ SMS_HOOK_NATIONAL_NUMBERS: '86' })).toBe('86')
    expect(parseNationalNumbers({ SMS_HOOK_NATIONAL_NUMBERS: 'None' })).toBe('none')
    expect(parseNationalNumbers({})).toBeUndefined()
    const error = (() => {
      try {
        parseNationalNumbers({ SMS_HOOK_NATIONAL_NUMBERS: '44' })
      } catch (e) {
        return e
      }
    })()
    expect(isConfigError(error) && error.variable).toBe('SMS_HOOK_NATIONAL_NUMBERS')
  })

  it('knows the calling codes in service, which are prefix-free', () => {
    expect(['1', '7', '86', '44', '852', '853', '886', '971'].every(isCallingCode)).toBe(true)
    expect(['8', '85', '999', '0'].some(isCallingCode)).toBe(false)
  })
})

describe('bare numbers, read by what the deployment can reach', () => {
  it.each([
    [undefined, false, { nationalNumbers: '86', defaulted: true }],
    [undefined, true, { nationalNumbers: undefined, defaulted: false }],
    ['86', true, { nationalNumbers: '86', defaulted: false }],
    ['86', false, { nationalNumbers: '86', defaulted: false }],
    ['none', false, { nationalNumbers: undefined, defaulted: false }],
    ['none', true, { nationalNumbers: undefined, defaulted: false }],
  ] as const)('reads SMS_HOOK_NATIONAL_NUMBERS=%s, sending abroad %s, as %o', (setting, sendsAbroad, expected) => {
    expect(nationalNumbersFor(setting, { sendsAbroad })).toEqual(expected)
  })

  const aliyun: Env = {
    GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: 'LTAI5tExample',
    GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: 'example-secret',
    GOTRUE_SMS_ALIYUN_SIGN_NAME: '阿里云短信测试',
    GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: 'SMS_154950909',
  }
  const tencent: Env = {
    GOTRUE_SMS_TENCENT_SECRET_ID: 'id',
    GOTRUE_SMS_TENCENT_SECRET_KEY: 'key',
    GOTRUE_SMS_TENCENT_SDK_APP_ID: '1400006666',
    GOTRUE_SMS_TENCENT_SIGN_NAME: '腾讯云',
    GOTRUE_SMS_TENCENT_TEMPLATE_ID: '1110',
  }
  const twilio: Env = {
    GOTRUE_SMS_TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
    GOTRUE_SMS_TWILIO_AUTH_TOKEN: 'token',
    GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID: '+15005550006',
  }
  const intl: Env = { GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: 'SMS_INTL_1' }
  const readOf = (env: Env) => {
    const { message } = parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'production', ...env })
    return { national: message.nationalNumbers, defaulted: message.nationalNumbersDefaulted }
  }

  it.each([
    ['Aliyun without an international template', { GOTRUE_SMS_PROVIDER: 'aliyun', ...aliyun }, '86', true],
    [
      'the Aliyun test route',
      { GOTRUE_SMS_PROVIDER: 'aliyun', ...aliyun, GOTRUE_SMS_ALIYUN_IS_TEST: 'true' },
      '86',
      true,
    ],
    ['Tencent', { GOTRUE_SMS_PROVIDER: 'tencent', ...tencent }, '86', true],
    ['Aliyun failing over to Tencent', { SMS_HOOK_ROUTES: '*=aliyun,tencent', ...aliyun, ...tencent }, '86', true],
    ['Aliyun with an international template', { GOTRUE_SMS_PROVIDER: 'aliyun', ...aliyun, ...intl }, undefined, false],
    ['Aliyun and Twilio', { SMS_HOOK_ROUTES: '86=aliyun;*=twilio', ...aliyun, ...twilio }, undefined, false],
    ['the console provider', { GOTRUE_SMS_PROVIDER: 'console' }, undefined, false],
    [
      'Aliyun, with SMS_HOOK_NATIONAL_NUMBERS=none',
      { GOTRUE_SMS_PROVIDER: 'aliyun', ...aliyun, SMS_HOOK_NATIONAL_NUMBERS: 'none' },
      undefined,
      false,
    ],
    [
      'Aliyun and Twilio, with SMS_HOOK_NATIONAL_NUMBERS=86',
      { SMS_HOOK_ROUTES: '86=aliyun;*=twilio', ...aliyun, ...twilio, SMS_HOOK_NATIONAL_NUMBERS: '86' },
      '86',
      false,
    ],
  ] as const)('with %s, reads bare numbers as %s (by default: %s)', (_what, env, national, defaulted) => {
    expect(readOf(env)).toEqual({ national, defaulted })
  })
})
