/**
 * Delivery receipts through the Worker entry in workerd: a signed hook call sent through the fake Alibaba Cloud
 * gateway (which recomputes the ACS3 signature), the delivery record kept in the DELIVERIES Durable Objects, an
 * SmsReport batch pushed to the token path as Aliyun pushes it, then the support lookup reading the objects.
 */
import { describe, expect, it } from 'vitest'
import { aliyunEnv, callsFor, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { chinaText } from '../receipts/support.js'
import { smsReport } from '../fakes/aliyun-reports.js'
import { signupPayload } from '../support/payloads.js'
import { SECRET, signedPost } from '../support/sign.js'
import { call, isolate } from './support.js'

const TOKEN = 'worker-receipts-token-0123456789'
const ADMIN_TOKEN = 'worker-admin-token-0123456789abc'
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` }

const settings = () =>
  isolate({
    GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
    ...aliyunEnv(),
    SMS_HOOK_RECEIPTS_TOKEN: TOKEN,
    SMS_HOOK_ADMIN_TOKEN: ADMIN_TOKEN,
  })

/** The number masked as the lookup masks it, computed here: the last four, and at most five leading digits. */
const masked = (e164: string) => `${e164.slice(0, Math.min(5, e164.length - 8))}****${e164.slice(-4)}`

const pushAliyun = (bindings: ReturnType<typeof settings>, reports: unknown[], token = TOKEN) =>
  call(bindings, `/receipts/aliyun/${token}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json;charset=UTF-8',
      'user-agent': 'Apache-HttpClient/4.5.13 (Java/1.8.0)',
    },
    body: JSON.stringify(reports),
  })

const report = (fields: Record<string, unknown>) =>
  smsReport({
    phone_number: '',
    send_time: chinaText(Date.now()),
    report_time: chinaText(Date.now() + 1000),
    ...fields,
  })

describe('receipts end to end on Workers', () => {
  it('a send through Aliyun, its SmsReport pushed to the token path, the lookup from the Durable Objects', async () => {
    const bindings = settings()
    const payload = signupPayload({ phone: uniqueMainlandPhone() })
    const answer = await call(bindings, '/send-sms', signedPost(payload.body))
    expect(answer.status).toBe(200)
    expect(await answer.text()).toBe('{}')
    const calls = await callsFor(payload.uuid)
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({
      action: 'SendSms',
      signatureValid: true,
      params: { OutId: payload.uuid, PhoneNumbers: payload.phone.slice(2) },
      answer: { status: 200, code: 'OK' },
    })
    const bizId = calls[0]!.bizId!

    // The record was written past the answer, within the call's waitUntil.
    const accepted = await call(bindings, `/deliveries/${payload.uuid}`, { headers: ADMIN })
    expect(accepted.status).toBe(200)
    expect(await accepted.json()).toMatchObject({
      reference: payload.uuid,
      provider: 'aliyun',
      status: 'accepted',
      vendor_message_id: bizId,
      to: masked(payload.phone),
    })

    const pushed = await pushAliyun(bindings, [
      report({ phone_number: payload.phone.slice(2), biz_id: bizId, out_id: payload.uuid }),
    ])
    expect(pushed.status).toBe(200)
    expect(await pushed.text()).toBe('{"code":0,"msg":"接收成功"}')

    // Another isolate reads what this one wrote: the records live in the objects, not in the isolate.
    const lookup = await call(settings(), `/deliveries?to=${payload.phone}`, { headers: ADMIN })
    expect(lookup.status).toBe(200)
    expect(lookup.headers.get('cache-control')).toBe('no-store')
    const { deliveries } = (await lookup.json()) as { deliveries: Record<string, unknown>[] }
    expect(deliveries).toEqual([
      {
        reference: payload.uuid,
        provider: 'aliyun',
        status: 'delivered',
        vendor_message_id: bizId,
        vendor_code: 'DELIVERED',
        sent_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        status_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        to: masked(payload.phone),
      },
    ])
    expect(JSON.stringify(deliveries)).not.toContain(payload.otp)
    expect(JSON.stringify(deliveries)).not.toContain(payload.phone.slice(2))
  })

  it('answers a wrong token 404 and moves nothing; the lookup 401 without its token', async () => {
    const bindings = settings()
    const payload = signupPayload({ phone: uniqueMainlandPhone() })
    expect((await call(bindings, '/send-sms', signedPost(payload.body))).status).toBe(200)
    const [sent] = await callsFor(payload.uuid)

    const wrong = await pushAliyun(
      bindings,
      [report({ success: false, err_code: 'MK:0001', biz_id: sent!.bizId, out_id: payload.uuid })],
      'not-the-token-0123456789abcdef',
    )
    expect(wrong.status).toBe(404)
    expect(await wrong.json()).toEqual({ error: { http_code: 404, message: 'Not found' } })
    const kept = await call(bindings, `/deliveries/${payload.uuid}`, { headers: ADMIN })
    expect(await kept.json()).toMatchObject({ status: 'accepted', vendor_code: null })

    for (const headers of [{}, { authorization: 'Bearer not-the-admin-token-0123' }] as Record<string, string>[]) {
      for (const path of [`/deliveries?to=${payload.phone}`, `/deliveries/${payload.uuid}`]) {
        const refused = await call(bindings, path, { headers })
        expect(refused.status, path).toBe(401)
        expect(refused.headers.get('www-authenticate')).toBe('Bearer')
        expect(JSON.stringify(await refused.json())).not.toContain(payload.uuid)
      }
    }
  })
})
