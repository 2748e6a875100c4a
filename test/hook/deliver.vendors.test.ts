/**
 * Failover end to end: real providers calling the local fake vendors over HTTP (test/fakes), as they would
 * call Tencent Cloud and Alibaba Cloud.
 */
import { describe, expect, it } from 'vitest'
import { callsFor as aliyunCalls, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { callsFor as vendorCalls, script } from '../providers/fake.js'
import { makeApp } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { vendorEnv } from '../support/routing.js'
import { signedPost } from '../support/sign.js'

describe('failover through the fake vendors', () => {
  it('sends a mainland code through Alibaba Cloud, once, when Tencent Cloud fails retryably', async () => {
    const { app, logs } = makeApp({ env: { ...vendorEnv(), SMS_HOOK_ROUTES: '86=tencent,aliyun;*=twilio' } })
    const phone = uniqueMainlandPhone()
    await script('tencent', phone, { error: 'InternalError' })
    const { body, uuid, otp } = signupPayload({ phone })

    const response = await app.request('/send-sms', signedPost(body))
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('{}')

    const tencent = await vendorCalls('tencent', phone)
    expect(tencent).toHaveLength(1)
    expect(tencent[0]).toMatchObject({ accepted: true, params: { PhoneNumberSet: [`+${phone}`], TemplateParamSet: [otp] } })
    const aliyun = await aliyunCalls(uuid)
    expect(aliyun).toHaveLength(1)
    expect(aliyun[0]).toMatchObject({
      action: 'SendSms',
      signatureValid: true,
      answer: { status: 200, code: 'OK' },
      params: { PhoneNumbers: phone.slice(2), OutId: uuid },
    })
    expect(logs.find((l) => l.msg === 'hook')).toMatchObject({
      outcome: 'sent',
      provider: 'aliyun',
      attempts: 2,
      failed_over: [{ provider: 'tencent', kind: 'retryable', code: 'InternalError' }],
    })

    // GoTrue's retry of the same call is answered from the stored outcome: neither vendor hears of it again.
    expect(await (await app.request('/send-sms', signedPost(body))).text()).toBe('{}')
    expect(await vendorCalls('tencent', phone)).toHaveLength(1)
    expect(await aliyunCalls(uuid)).toHaveLength(1)
  })
})
