/**
 * The fake vendor endpoints are only worth their passes if they refuse what the real APIs refuse: each test
 * here changes one thing in an otherwise valid call and expects the vendor's own refusal.
 */
import { describe, expect, it } from 'vitest'
import { signTc3 } from '../../src/providers/tencent/sign.js'
import { FAKE_MESSAGEBIRD, FAKE_TENCENT, FAKE_TEXTLOCAL, FAKE_TWILIO, FAKE_VONAGE } from '../fakes/vendor-accounts.js'
import { callsFor, fakeUrl, type FakeVendorName } from './fake.js'
import { uniqueNumber } from './support.js'

interface RawCall {
  path: string
  headers: Record<string, string>
  body: string
}

/** Sends `call` and returns what the fake recorded: accepted, or the vendor's code for refusing it. */
const outcome = async (vendor: FakeVendorName, key: string, call: RawCall) => {
  await fetch(`${fakeUrl(vendor)}${call.path}`, { method: 'POST', headers: call.headers, body: call.body })
  const calls = await callsFor(vendor, key)
  const last = calls.at(-1)
  return last?.accepted ? 'accepted' : last?.refusedWith
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

describe('the fake Twilio endpoint', () => {
  const basic = (sid: string, token: string) => `Basic ${btoa(`${sid}:${token}`)}`
  const call = (fields: Record<string, string | undefined>, changes: Partial<RawCall> = {}): RawCall => ({
    path: `/2010-04-01/Accounts/${FAKE_TWILIO.accountSid}/Messages.json`,
    headers: { ...FORM, authorization: basic(FAKE_TWILIO.accountSid, FAKE_TWILIO.authToken) },
    body: form(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<string, string>),
    ...changes,
  })
  const cases: [string, (to: string) => RawCall, string][] = [
    ['a valid call', (to) => call({ To: `+${to}`, From: FAKE_TWILIO.from, Body: 'hi' }), 'accepted'],
    [
      'a wrong token',
      (to) =>
        call(
          { To: `+${to}`, From: FAKE_TWILIO.from, Body: 'hi' },
          { headers: { ...FORM, authorization: basic(FAKE_TWILIO.accountSid, 'x') } },
        ),
      '20003',
    ],
    ['no credentials', (to) => call({ To: `+${to}`, From: FAKE_TWILIO.from, Body: 'hi' }, { headers: FORM }), '20003'],
    [
      'another account in the path',
      (to) =>
        call(
          { To: `+${to}`, From: FAKE_TWILIO.from, Body: 'hi' },
          { path: `/2010-04-01/Accounts/AC${'1'.repeat(32)}/Messages.json` },
        ),
      '20003',
    ],
    ['a To without +', (to) => call({ To: to, From: FAKE_TWILIO.from, Body: 'hi' }), '21211'],
    ['no Body', (to) => call({ To: `+${to}`, From: FAKE_TWILIO.from }), '21602'],
    ['neither From nor MessagingServiceSid', (to) => call({ To: `+${to}`, Body: 'hi' }), '21603'],
    [
      'both From and MessagingServiceSid',
      (to) =>
        call({
          To: `+${to}`,
          From: FAKE_TWILIO.from,
          MessagingServiceSid: FAKE_TWILIO.messagingServiceSid,
          Body: 'hi',
        }),
      '21603',
    ],
    ['a From not on the account', (to) => call({ To: `+${to}`, From: '+15005550001', Body: 'hi' }), '21659'],
    [
      'a form sent as text/plain',
      (to) =>
        call(
          { To: `+${to}`, From: FAKE_TWILIO.from, Body: 'hi' },
          {
            headers: {
              'content-type': 'text/plain',
              authorization: basic(FAKE_TWILIO.accountSid, FAKE_TWILIO.authToken),
            },
          },
        ),
      '21604',
    ],
  ]
  it.each(cases)('answers %s with %s', async (_what, build, expected) => {
    const to = uniqueNumber().e164
    expect(await outcome('twilio', to, build(to))).toBe(expected)
  })
})

describe('the fake Vonage endpoint', () => {
  const valid = (to: string) => ({
    api_key: FAKE_VONAGE.apiKey,
    api_secret: FAKE_VONAGE.apiSecret,
    from: FAKE_VONAGE.from,
    to,
    text: 'hi',
  })
  const without = (fields: Record<string, string>, name: string) =>
    Object.fromEntries(Object.entries(fields).filter(([n]) => n !== name))
  const cases: [string, (to: string) => Record<string, string>, Record<string, string>, string][] = [
    ['a valid call', (to) => valid(to), FORM, 'accepted'],
    ['a wrong secret', (to) => ({ ...valid(to), api_secret: 'x' }), FORM, '4'],
    ['no api_key', (to) => without(valid(to), 'api_key'), FORM, '2'],
    ['no from', (to) => without(valid(to), 'from'), FORM, '2'],
    ['a to with +', (to) => ({ ...valid(to), to: `+${to}` }), FORM, '3'],
    ['an unknown type', (to) => ({ ...valid(to), type: 'emoji' }), FORM, '3'],
    ['a form sent as text/plain', (to) => valid(to), { 'content-type': 'text/plain' }, '2'],
  ]
  it.each(cases)('answers %s with %s', async (_what, fields, headers, expected) => {
    const to = uniqueNumber().e164
    const key = fields(to).to!
    expect(await outcome('vonage', key, { path: '/sms/json', headers, body: form(fields(to)) })).toBe(expected)
  })
})

describe('the fake MessageBird endpoint', () => {
  const JSON_HEADERS = { 'content-type': 'application/json', authorization: `AccessKey ${FAKE_MESSAGEBIRD.accessKey}` }
  const valid = (to: string) => ({
    originator: FAKE_MESSAGEBIRD.originator,
    recipients: [to],
    body: 'hi',
    datacoding: 'plain',
  })
  const cases: [string, (to: string) => unknown, Record<string, string>, string][] = [
    ['a valid call', (to) => valid(to), JSON_HEADERS, 'accepted'],
    ['a wrong access key', (to) => valid(to), { ...JSON_HEADERS, authorization: 'AccessKey live_x' }, '2'],
    [
      'a bearer token',
      (to) => valid(to),
      { ...JSON_HEADERS, authorization: `Bearer ${FAKE_MESSAGEBIRD.accessKey}` },
      '2',
    ],
    ['a recipient with +', (to) => ({ ...valid(to), recipients: [`+${to}`] }), JSON_HEADERS, '9'],
    ['no originator', (to) => ({ ...valid(to), originator: '' }), JSON_HEADERS, '9'],
    ['an unknown datacoding', (to) => ({ ...valid(to), datacoding: 'ucs2' }), JSON_HEADERS, '9'],
    ['a form body', (to) => valid(to), { ...JSON_HEADERS, 'content-type': 'text/plain' }, '9'],
  ]
  it.each(cases)('answers %s with %s', async (_what, body, headers, expected) => {
    const to = uniqueNumber().e164
    const sent = body(to) as { recipients: string[] }
    expect(
      await outcome('messagebird', sent.recipients[0]!, { path: '/messages', headers, body: JSON.stringify(sent) }),
    ).toBe(expected)
  })
})

describe('the fake Textlocal endpoint', () => {
  const valid = (to: string) => ({
    apikey: FAKE_TEXTLOCAL.apiKey,
    sender: FAKE_TEXTLOCAL.sender,
    numbers: to,
    message: 'hi',
  })
  const cases: [string, (to: string) => Record<string, string>, string][] = [
    ['a valid call', (to) => valid(to), 'accepted'],
    ['a wrong key', (to) => ({ ...valid(to), apikey: 'x' }), '3'],
    ['an unknown sender', (to) => ({ ...valid(to), sender: 'OTHER' }), '43'],
    ['a number with +', (to) => ({ ...valid(to), numbers: `+${to}` }), '51'],
    ['no message', (to) => ({ ...valid(to), message: '' }), '5'],
  ]
  it.each(cases)('answers %s with %s', async (_what, fields, expected) => {
    const to = uniqueNumber().e164
    const key = fields(to).numbers!
    expect(await outcome('textlocal', key, { path: '/send', headers: FORM, body: form(fields(to)) })).toBe(expected)
  })
})

describe('the fake Tencent Cloud endpoint', () => {
  interface Changes {
    body?: Record<string, unknown>
    /** The body sent, when it differs from the one signed. */
    sent?: string
    timestamp?: number
    secretKey?: string
    secretId?: string
    headers?: Record<string, string>
    contentType?: string
  }
  const call = async (to: string, changes: Changes = {}): Promise<RawCall> => {
    const body = JSON.stringify(
      changes.body ?? {
        PhoneNumberSet: [`+${to}`],
        SmsSdkAppId: FAKE_TENCENT.sdkAppId,
        SignName: FAKE_TENCENT.signName,
        TemplateId: '1110',
        TemplateParamSet: ['123456'],
        SessionContext: 'ref',
      },
    )
    const timestamp = changes.timestamp ?? Math.floor(Date.now() / 1000)
    const contentType = changes.contentType ?? 'application/json; charset=utf-8'
    const { authorization } = await signTc3(
      { service: 'sms', host: '127.0.0.1', contentType, body, timestamp },
      { secretId: changes.secretId ?? FAKE_TENCENT.secretId, secretKey: changes.secretKey ?? FAKE_TENCENT.secretKey },
    )
    return {
      path: '/',
      headers: {
        authorization,
        'content-type': contentType,
        'x-tc-action': 'SendSms',
        'x-tc-version': '2021-01-11',
        'x-tc-timestamp': String(timestamp),
        'x-tc-region': 'ap-guangzhou',
        ...changes.headers,
      },
      body: changes.sent ?? body,
    }
  }
  const base = (to: string) => ({
    PhoneNumberSet: [`+${to}`],
    SmsSdkAppId: FAKE_TENCENT.sdkAppId,
    SignName: FAKE_TENCENT.signName,
    TemplateId: '1110',
    TemplateParamSet: ['123456'],
  })
  const cases: [string, (to: string) => Changes, string][] = [
    ['a valid call', () => ({}), 'accepted'],
    ['a wrong secret key', () => ({ secretKey: 'x' }), 'AuthFailure.SignatureFailure'],
    ['an unknown secret id', () => ({ secretId: 'AKIDnobody' }), 'AuthFailure.SecretIdNotFound'],
    [
      'a body changed after signing',
      (to) => ({ sent: JSON.stringify({ ...base(to), TemplateParamSet: ['654321'] }) }),
      'AuthFailure.SignatureFailure',
    ],
    [
      'a timestamp six minutes old',
      () => ({ timestamp: Math.floor(Date.now() / 1000) - 360 }),
      'AuthFailure.SignatureExpire',
    ],
    ['another action', () => ({ headers: { 'x-tc-action': 'SendSmsBatch' } }), 'InvalidAction'],
    ['another version', () => ({ headers: { 'x-tc-version': '2019-07-11' } }), 'NoSuchVersion'],
    ['a form body', () => ({ contentType: 'application/x-www-form-urlencoded' }), 'InvalidParameter'],
    [
      'another SdkAppId',
      (to) => ({ body: { ...base(to), SmsSdkAppId: '1400000000' } }),
      'UnauthorizedOperation.SmsSdkAppIdVerifyFail',
    ],
    [
      'an unknown template',
      (to) => ({ body: { ...base(to), TemplateId: '9999' } }),
      'FailedOperation.TemplateIncorrectOrUnapproved',
    ],
    [
      'an unknown signature',
      (to) => ({ body: { ...base(to), SignName: '别的' } }),
      'FailedOperation.SignatureIncorrectOrUnapproved',
    ],
    [
      'too many template parameters',
      (to) => ({ body: { ...base(to), TemplateParamSet: ['1', '2'] } }),
      'FailedOperation.TemplateParamSetNotMatchApprovedTemplate',
    ],
    [
      'a number parameter',
      (to) => ({ body: { ...base(to), TemplateParamSet: [123456] } }),
      'FailedOperation.TemplateParamSetNotMatchApprovedTemplate',
    ],
    ['no TemplateId', (to) => ({ body: { ...base(to), TemplateId: undefined } }), 'MissingParameter'],
    [
      'a number without +',
      (to) => ({ body: { ...base(to), PhoneNumberSet: [to] } }),
      'InvalidParameterValue.IncorrectPhoneNumber',
    ],
  ]
  it.each(cases)('answers %s with %s', async (_what, changes, expected) => {
    const to = uniqueNumber().e164
    expect(await outcome('tencent', to, await call(to, changes(to)))).toBe(expected)
  })
})
