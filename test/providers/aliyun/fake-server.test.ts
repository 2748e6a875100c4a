/**
 * The fake Alibaba Cloud endpoint is only worth its passes if it refuses what the real gateway refuses: each
 * test here changes one thing in an otherwise valid call.
 */
import { describe, expect, it } from 'vitest'
import {
  acs3Date,
  acs3Nonce,
  canonicalQuery,
  signAcs3,
  type Acs3Credentials,
} from '../../../src/providers/aliyun/sign.js'
import { FAKE_ALIYUN } from '../../fakes/aliyun-accounts.js'
import { callsFor, fakeUrl } from './fake.js'

interface RawCall {
  action?: string
  version?: string
  query?: Record<string, string>
  date?: string
  nonce?: string
  credentials?: Acs3Credentials
  /** Changes the query after signing. */
  sent?: Record<string, string>
}

const call = async (options: RawCall = {}) => {
  const outId = crypto.randomUUID()
  const query = options.query ?? {
    PhoneNumbers: '13800138000',
    SignName: '阿里云短信测试',
    TemplateCode: 'SMS_154950909',
    TemplateParam: '{"code":"123456"}',
    OutId: outId,
  }
  const url = new URL(fakeUrl())
  const { headers } = await signAcs3(
    {
      host: url.host,
      action: options.action ?? 'SendSms',
      version: options.version ?? '2017-05-25',
      query,
      date: options.date ?? acs3Date(Date.now()),
      nonce: options.nonce ?? acs3Nonce(),
    },
    options.credentials ?? FAKE_ALIYUN,
  )
  const { host: _host, ...rest } = headers
  const response = await fetch(`${url.origin}/?${canonicalQuery(options.sent ?? query)}`, {
    method: 'POST',
    headers: rest,
  })
  const body = (await response.json()) as { Code: string }
  return { status: response.status, code: body.Code, outId }
}

describe('the fake Alibaba Cloud endpoint', () => {
  it('accepts a correctly signed SendSms and records it', async () => {
    const { status, code, outId } = await call()
    expect({ status, code }).toEqual({ status: 200, code: 'OK' })
    expect(await callsFor(outId)).toMatchObject([{ action: 'SendSms', signatureValid: true }])
  })

  it('refuses a parameter changed after signing', async () => {
    const query = { PhoneNumbers: '13800138000', SignName: 'a', TemplateCode: 'b' }
    expect(await call({ query, sent: { ...query, PhoneNumbers: '13800138001' } })).toMatchObject({
      status: 400,
      code: 'SignatureDoesNotMatch',
    })
  })

  it.each([
    ['an unknown action', { action: 'SendBatchSms' }, 404, 'InvalidAction.NotFound'],
    ['a wrong version', { version: '2018-05-01' }, 400, 'InvalidVersion'],
    ['a missing sign name', { query: { PhoneNumbers: '13800138000', TemplateCode: 'SMS_1' } }, 400, 'MissingSignName'],
    [
      'TemplateParam with a number value',
      { query: { PhoneNumbers: '13800138000', SignName: 's', TemplateCode: 't', TemplateParam: '{"code":123456}' } },
      200,
      'isv.INVALID_JSON_PARAM',
    ],
    [
      'a test-route call to a non-mainland number',
      {
        action: 'SendSmsVerifyCode',
        query: { PhoneNumber: '447700900123', SignName: 's', TemplateCode: '100001', TemplateParam: '{"code":"1"}' },
      },
      200,
      'isv.MOBILE_NUMBER_ILLEGAL',
    ],
    ['a date 20 minutes old', { date: acs3Date(Date.now() - 20 * 60_000) }, 400, 'InvalidTimeStamp.Expired'],
    [
      'an unknown AccessKey',
      { credentials: { accessKeyId: 'LTAI-nobody', accessKeySecret: 'x' } },
      404,
      'InvalidAccessKeyId.NotFound',
    ],
    [
      'an STS key without its token',
      { credentials: { accessKeyId: FAKE_ALIYUN.sts.accessKeyId, accessKeySecret: FAKE_ALIYUN.sts.accessKeySecret } },
      400,
      'InvalidSecurityToken.MismatchWithAccessKey',
    ],
  ] as [string, RawCall, number, string][])('refuses %s', async (_what, options, status, code) => {
    expect(await call(options)).toMatchObject({ status, code })
  })

  const sendSms = (PhoneNumbers: string, TemplateCode = 'SMS_154950909') => ({
    query: { PhoneNumbers, SignName: 's', TemplateCode, TemplateParam: '{"code":"1"}', OutId: crypto.randomUUID() },
  })
  const reachedBy = async (options: RawCall) => {
    const { code } = await call(options)
    const [recorded] = await callsFor(options.query!.OutId!)
    return { code, reached: recorded?.reached }
  }
  const international = FAKE_ALIYUN.internationalTemplates[0]

  it.each(['13800138000', '+13800138000', '+8613800138000', '008613800138000', '8613800138000'])(
    'reads %s with a mainland template as the mainland mobile +86 138 0013 8000',
    async (phone) => {
      expect(await reachedBy(sendSms(phone))).toEqual({ code: 'OK', reached: '+8613800138000' })
    },
  )

  it.each(['447700900123', '12025550123', '8612800138000'])(
    'refuses %s with a mainland template: no mainland mobile',
    async (phone) => {
      expect(await reachedBy(sendSms(phone))).toEqual({ code: 'isv.MOBILE_NUMBER_ILLEGAL', reached: undefined })
    },
  )

  it.each([
    ['13125550123', '+13125550123'],
    ['447700900123', '+447700900123'],
  ])('reads %s with an international template as country code + number', async (phone, reached) => {
    expect(await reachedBy(sendSms(phone, international))).toEqual({ code: 'OK', reached })
  })

  it('refuses a mainland number with an international template', async () => {
    expect(await reachedBy(sendSms('8613800138000', international))).toEqual({
      code: 'isv.DOMESTIC_NUMBER_NOT_SUPPORTED',
      reached: undefined,
    })
  })

  it('refuses a reused nonce', async () => {
    const nonce = acs3Nonce()
    expect(await call({ nonce })).toMatchObject({ code: 'OK' })
    expect(await call({ nonce })).toMatchObject({ status: 400, code: 'SignatureNonceUsed' })
  })
})
