/**
 * The fake Alibaba Cloud endpoint is only worth its passes if it refuses what the real gateway refuses: each
 * test here changes one thing in an otherwise valid call.
 */
import { describe, expect, it } from 'vitest'
import { acs3Date, acs3Nonce, canonicalQuery, signAcs3, type Acs3Credentials } from '../../../src/providers/aliyun/sign.js'
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
  const response = await fetch(`${url.origin}/?${canonicalQuery(options.sent ?? query)}`, { method: 'POST', headers: rest })
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

  it('refuses a reused nonce', async () => {
    const nonce = acs3Nonce()
    expect(await call({ nonce })).toMatchObject({ code: 'OK' })
    expect(await call({ nonce })).toMatchObject({ status: 400, code: 'SignatureNonceUsed' })
  })
})
