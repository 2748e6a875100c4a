import { describe, expect, it } from 'vitest'
import { tencent } from '../../src/providers/tencent/index.js'
import { FAKE_TENCENT } from '../fakes/vendor-accounts.js'
import { describeProviderContract, refusedVariable, sendWith } from './contract.js'
import { callsFor, fakeUrl, script } from './fake.js'
import { failure, smsMessage } from './support.js'

const env = {
  GOTRUE_SMS_TENCENT_SECRET_ID: FAKE_TENCENT.secretId,
  GOTRUE_SMS_TENCENT_SECRET_KEY: FAKE_TENCENT.secretKey,
  GOTRUE_SMS_TENCENT_SDK_APP_ID: FAKE_TENCENT.sdkAppId,
  GOTRUE_SMS_TENCENT_SIGN_NAME: FAKE_TENCENT.signName,
  GOTRUE_SMS_TENCENT_TEMPLATE_ID: '1110',
  GOTRUE_SMS_TENCENT_ENDPOINT: fakeUrl('tencent'),
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describeProviderContract({
  vendor: 'tencent',
  definition: tencent,
  env,
  endpointVariable: 'GOTRUE_SMS_TENCENT_ENDPOINT',
  defaultEndpoint: 'https://sms.tencentcloudapi.com',
  requiredVariables: [
    'GOTRUE_SMS_TENCENT_SDK_APP_ID',
    'GOTRUE_SMS_TENCENT_TEMPLATE_ID',
    'GOTRUE_SMS_TENCENT_SECRET_ID',
    'GOTRUE_SMS_TENCENT_SECRET_KEY',
    'GOTRUE_SMS_TENCENT_SIGN_NAME',
  ],
  wrongCredentials: { env: { GOTRUE_SMS_TENCENT_SECRET_KEY: 'notTheKey' }, code: 'AuthFailure.SignatureFailure' },
  expectRequest(call, message, result) {
    expect(call.method).toBe('POST')
    expect(call.path).toBe('/')
    expect(call.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'x-tc-action': 'SendSms',
      'x-tc-version': '2021-01-11',
      'x-tc-region': 'ap-guangzhou',
    })
    expect(Math.abs(Number(call.headers['x-tc-timestamp']) - Date.now() / 1000)).toBeLessThan(10)
    expect(call.headers.authorization).toMatch(
      new RegExp(
        `^TC3-HMAC-SHA256 Credential=${FAKE_TENCENT.secretId}/\\d{4}-\\d\\d-\\d\\d/sms/tc3_request, SignedHeaders=content-type;host, Signature=[0-9a-f]{64}$`,
      ),
    )
    expect(call.params).toEqual({
      PhoneNumberSet: [`+${message.to.e164}`],
      SmsSdkAppId: FAKE_TENCENT.sdkAppId,
      SignName: FAKE_TENCENT.signName,
      TemplateId: '1110',
      TemplateParamSet: [message.otp],
      SessionContext: message.reference,
    })
    expect(result.messageId).toMatch(/^2433:\d+$/)
  },
  expectUnicode(call) {
    // Tencent sends its approved template; the message text is not part of the request.
    expect(call.params).not.toHaveProperty('text')
  },
  requestId: uuid,
  errors: [
    {
      what: 'an incorrect number',
      answer: { error: 'InvalidParameterValue.IncorrectPhoneNumber', perNumber: true },
      kind: 'recipient_invalid',
      code: 'InvalidParameterValue.IncorrectPhoneNumber',
    },
    {
      what: 'a number on the blacklist',
      answer: { error: 'FailedOperation.PhoneNumberInBlacklist', perNumber: true },
      kind: 'recipient_invalid',
      code: 'FailedOperation.PhoneNumberInBlacklist',
    },
    {
      what: 'the 30-second limit',
      answer: { error: 'LimitExceeded.PhoneNumberThirtySecondLimit', perNumber: true },
      kind: 'rate_limited',
      code: 'LimitExceeded.PhoneNumberThirtySecondLimit',
    },
    {
      what: 'the hourly limit',
      answer: { error: 'LimitExceeded.PhoneNumberOneHourLimit', perNumber: true },
      kind: 'rate_limited',
      code: 'LimitExceeded.PhoneNumberOneHourLimit',
    },
    {
      what: 'the daily limit',
      answer: { error: 'LimitExceeded.PhoneNumberDailyLimit', perNumber: true },
      kind: 'rate_limited',
      code: 'LimitExceeded.PhoneNumberDailyLimit',
    },
    {
      what: 'the delivery frequency limit',
      answer: { error: 'LimitExceeded.DeliveryFrequencyLimit', perNumber: true },
      kind: 'rate_limited',
      code: 'LimitExceeded.DeliveryFrequencyLimit',
    },
    {
      what: 'an empty SMS package',
      answer: { error: 'FailedOperation.InsufficientBalanceInSmsPackage', perNumber: true },
      kind: 'configuration',
      code: 'FailedOperation.InsufficientBalanceInSmsPackage',
    },
    {
      what: 'a signature not approved',
      answer: { error: 'FailedOperation.SignatureIncorrectOrUnapproved' },
      kind: 'configuration',
      code: 'FailedOperation.SignatureIncorrectOrUnapproved',
    },
    {
      what: 'a template not approved',
      answer: { error: 'FailedOperation.TemplateIncorrectOrUnapproved' },
      kind: 'configuration',
      code: 'FailedOperation.TemplateIncorrectOrUnapproved',
    },
    {
      what: 'an unknown SecretId',
      answer: { error: 'AuthFailure.SecretIdNotFound' },
      kind: 'configuration',
      code: 'AuthFailure.SecretIdNotFound',
    },
    {
      what: 'an operation not authorised',
      answer: { error: 'UnauthorizedOperation.SmsSdkAppIdVerifyFail' },
      kind: 'configuration',
      code: 'UnauthorizedOperation.SmsSdkAppIdVerifyFail',
    },
    { what: 'an internal error', answer: { error: 'InternalError' }, kind: 'retryable', code: 'InternalError' },
    {
      what: 'a backend internal error',
      answer: { error: 'InternalError.OtherError' },
      kind: 'retryable',
      code: 'InternalError.OtherError',
    },
    {
      what: "Tencent's own timeout",
      answer: { error: 'InternalError.Timeout' },
      kind: 'outcome_unknown',
      code: 'InternalError.Timeout',
    },
    {
      what: 'request throttling',
      answer: { error: 'RequestLimitExceeded' },
      kind: 'retryable',
      code: 'RequestLimitExceeded',
    },
    {
      what: 'per-account request throttling',
      answer: { error: 'RequestLimitExceeded.UinLimitExceeded' },
      kind: 'retryable',
      code: 'RequestLimitExceeded.UinLimitExceeded',
    },
    {
      what: 'an unknown code',
      answer: { error: 'FailedOperation.Something' },
      kind: 'recipient_invalid',
      code: 'FailedOperation.Something',
      unrecognised: true,
    },
    {
      what: 'an unknown per-number code',
      answer: { error: 'UnsupportedOperation.Something', perNumber: true },
      kind: 'recipient_invalid',
      code: 'UnsupportedOperation.Something',
      unrecognised: true,
    },
    {
      what: 'its own answer with HTTP 503',
      answer: { error: 'FailedOperation.Something', status: 503 },
      kind: 'retryable',
      code: 'FailedOperation.Something',
    },
  ],
})

describe('tencent provider, its own rules', () => {
  it('sends MFA challenges with GOTRUE_SMS_TENCENT_MFA_TEMPLATE_ID, sign-ins with the main template', async () => {
    const withMfa = { ...env, GOTRUE_SMS_TENCENT_MFA_TEMPLATE_ID: '3330' }
    const mfa = smsMessage({ smsType: 'mfa' })
    await sendWith(tencent, withMfa, mfa)
    expect((await callsFor('tencent', mfa.to.e164))[0]!.params.TemplateId).toBe('3330')
    const sms = smsMessage()
    await sendWith(tencent, withMfa, sms)
    expect((await callsFor('tencent', sms.to.e164))[0]!.params.TemplateId).toBe('1110')
  })

  it('sends MFA challenges with the main template when no MFA template is set', async () => {
    const mfa = smsMessage({ smsType: 'mfa' })
    await sendWith(tencent, env, mfa)
    expect((await callsFor('tencent', mfa.to.e164))[0]!.params.TemplateId).toBe('1110')
  })

  it('fills GOTRUE_SMS_TENCENT_TEMPLATE_PARAMS with the code and the expiry in minutes', async () => {
    const message = smsMessage({ expiryMinutes: 10 })
    await sendWith(
      tencent,
      {
        ...env,
        GOTRUE_SMS_TENCENT_TEMPLATE_ID: '2220',
        GOTRUE_SMS_TENCENT_TEMPLATE_PARAMS: '["{{ .Code }}", "{{.ExpiryMinutes}}"]',
      },
      message,
    )
    const [call] = await callsFor('tencent', message.to.e164)
    expect(call).toMatchObject({ accepted: true })
    expect(call!.params.TemplateParamSet).toEqual([message.otp, '10'])
  })

  it('signs for the region it names', async () => {
    const message = smsMessage()
    await sendWith(tencent, { ...env, GOTRUE_SMS_TENCENT_REGION: 'ap-singapore' }, message)
    const [call] = await callsFor('tencent', message.to.e164)
    expect(call).toMatchObject({ accepted: true, headers: { 'x-tc-region': 'ap-singapore' } })
  })

  it('reads the per-number status before the request-level answer, and keeps the number out of its message', async () => {
    const message = smsMessage()
    await script('tencent', message.to.e164, {
      error: 'InvalidParameterValue.IncorrectPhoneNumber',
      perNumber: true,
      detail: `invalid mobile number +${message.to.e164}, TemplateParamSet ["${message.otp}"]`,
    })
    const error = await failure(sendWith(tencent, env, message))
    expect(error.message).toMatch(
      /^Tencent Cloud answered HTTP 200, code InvalidParameterValue.IncorrectPhoneNumber: invalid mobile number \+\d{4}\*{4}\d{4}, TemplateParamSet <list>$/,
    )
  })

  it('reads "Ok" without a serial number as outcome_unknown', async () => {
    const message = smsMessage()
    await script('tencent', message.to.e164, {
      body: { Response: { SendStatusSet: [{ Code: 'Ok' }], RequestId: 'r' } },
    })
    expect((await failure(sendWith(tencent, env, message))).kind).toBe('outcome_unknown')
  })

  describe('GOTRUE_SMS_TENCENT_TEMPLATE_PARAMS', () => {
    const variable = 'GOTRUE_SMS_TENCENT_TEMPLATE_PARAMS'
    it.each([
      ['not JSON', '{{ .Code }}'],
      ['an object', '{"code":"{{ .Code }}"}'],
      ['an empty list', '[]'],
      ['a number in the list', '["{{ .Code }}", 5]'],
      ['no {{ .Code }}', '["{{ .ExpiryMinutes }}"]'],
      ['an unknown placeholder', '["{{ .Code }}", "{{ .Phone }}"]'],
    ])('is refused when it is %s', (_what, value) => {
      expect(refusedVariable(tencent, { ...env, [variable]: value })).toBe(variable)
    })
  })

  it.each([
    ['a +1 number whose digits look like a mainland mobile', '1', '1312555', 11],
    ['a mainland mobile', '86', '86139', 13],
  ])(
    'sends %s as + and its E.164 digits, the one form Tencent cannot read as another number',
    async (_what, callingCode, start, length) => {
      const rest = length - start.length
      const e164 = `${start}${String(Math.floor(Math.random() * 10 ** rest)).padStart(rest, '0')}`
      const message = smsMessage({ to: { e164, callingCode, national: e164.slice(callingCode.length) } })
      await sendWith(tencent, env, message)
      expect((await callsFor('tencent', e164))[0]!.params.PhoneNumberSet).toEqual([`+${e164}`])
    },
  )

  it('counts as sending to mainland China only: its one template cannot reach abroad', () => {
    expect(tencent.sendsAbroad!(tencent.parse(env))).toBe(false)
  })

  it('names GOTRUE_SMS_TENCENT_SDK_APP_ID when it is not digits', () => {
    expect(refusedVariable(tencent, { ...env, GOTRUE_SMS_TENCENT_SDK_APP_ID: 'app-1400' })).toBe(
      'GOTRUE_SMS_TENCENT_SDK_APP_ID',
    )
  })
})
