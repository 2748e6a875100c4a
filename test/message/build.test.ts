import { describe, expect, it } from 'vitest'
import { isConfigError } from '../../src/errors.js'
import type { HookPayload } from '../../src/hook/parse.js'
import { createMessageBuilder, DEFAULT_SMS_TEMPLATE, parseMessageConfig } from '../../src/message/build.js'
import type { Env } from '../../src/config/env.js'

const to = { e164: '8613800138000', callingCode: '86', national: '13800138000' }
const payload = (smsType: 'sms' | 'mfa'): HookPayload => ({
  hasMetadata: true,
  uuid: undefined,
  otp: '123456',
  phone: '8613800138000',
  smsType,
  ip: undefined,
  time: undefined,
})
const textOf = (env: Env, smsType: 'sms' | 'mfa') =>
  createMessageBuilder(parseMessageConfig(env))(payload(smsType), to, 'ref').text
const configErrorOf = (env: Env) => {
  try {
    parseMessageConfig(env)
  } catch (error) {
    if (isConfigError(error)) return error.message
    throw error
  }
  return undefined
}

describe('message templates by SMS type', () => {
  it("MFA without GOTRUE_MFA_PHONE_TEMPLATE uses GoTrue's default text, not GOTRUE_SMS_TEMPLATE", () => {
    const env = { GOTRUE_SMS_TEMPLATE: 'Welcome to Acme! {{ .Code }} is your sign-up code' }
    expect(textOf(env, 'mfa')).toBe('Your code is 123456')
    expect(textOf(env, 'sms')).toBe('Welcome to Acme! 123456 is your sign-up code')
    expect(parseMessageConfig(env).mfaTemplate).toBe(DEFAULT_SMS_TEMPLATE)
  })

  it('MFA with GOTRUE_MFA_PHONE_TEMPLATE uses it, and a blank one counts as unset', () => {
    expect(textOf({ GOTRUE_MFA_PHONE_TEMPLATE: 'MFA: {{ .Code }}' }, 'mfa')).toBe('MFA: 123456')
    expect(textOf({ GOTRUE_MFA_PHONE_TEMPLATE: '  ', GOTRUE_SMS_TEMPLATE: 'SMS {{ .Code }}' }, 'mfa')).toBe(
      'Your code is 123456',
    )
  })

  it('names the variable a bad template came from', () => {
    expect(configErrorOf({ GOTRUE_MFA_PHONE_TEMPLATE: 'no code here' })).toMatch(/^GOTRUE_MFA_PHONE_TEMPLATE: /)
    expect(configErrorOf({ GOTRUE_SMS_TEMPLATE: 'no code here' })).toMatch(/^GOTRUE_SMS_TEMPLATE: /)
    // The MFA text no longer comes from GOTRUE_SMS_TEMPLATE, so a good MFA template never hides a bad SMS one.
    expect(configErrorOf({ GOTRUE_SMS_TEMPLATE: '{{ .Token }}', GOTRUE_MFA_PHONE_TEMPLATE: '{{ .Code }}' })).toMatch(
      /^GOTRUE_SMS_TEMPLATE: /,
    )
  })
})
