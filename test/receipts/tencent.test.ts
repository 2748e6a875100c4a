import { describe, expect, it } from 'vitest'
import { errorBody } from '../../src/errors.js'
import { uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { callsFor } from '../providers/fake.js'
import { vendorEnv } from '../support/routing.js'
import { chinaMs, receiptApp, TOKEN } from './support.js'

const PATH = `/receipts/tencent/${TOKEN}`
const ANSWER = '{"result":0,"errmsg":"OK"}'

/** A status report as Tencent Cloud's callback writes it. */
const statusReport = (fields: Record<string, unknown>) => ({
  user_receive_time: '2026-08-20 18:54:57',
  nationcode: '86',
  mobile: '13900001234',
  report_status: 'SUCCESS',
  errmsg: 'DELIVRD',
  description: '用户短信送达成功',
  sid: '',
  ext: '',
  ...fields,
})

const tencentApp = () => receiptApp({ env: { ...vendorEnv(), SMS_HOOK_ROUTES: '*=tencent' } })

describe('Tencent Cloud status callbacks', () => {
  it('moves the send whose SessionContext the report echoes to delivered, and answers as Tencent expects', async () => {
    const made = tencentApp()
    const phone = uniqueMainlandPhone()
    const sent = await made.send(phone)
    expect(sent.provider).toBe('tencent')
    const [call] = await callsFor('tencent', phone)
    expect(call?.params.SessionContext).toBe(sent.reference)

    const response = await made.push(PATH, [
      statusReport({ mobile: phone.slice(2), sid: sent.vendorMessageId, ext: sent.reference }),
    ])
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await response.text()).toBe(ANSWER)
    const record = await made.deliveries.get(sent.reference)
    expect(record).toMatchObject({
      status: 'delivered',
      vendorCode: 'DELIVRD',
      deliveredAt: chinaMs('2026-08-20 18:54:57'),
    })
    expect(made.receipts()).toEqual([
      expect.objectContaining({ provider: 'tencent', status: 'delivered', changed: true, record }),
    ])
  })

  it('finds the send by sid when Tencent does not echo SessionContext, and reads FAIL as failed', async () => {
    const made = tencentApp()
    const [a, b] = [await made.send(uniqueMainlandPhone()), await made.send(uniqueMainlandPhone())]
    const response = await made.push(PATH, [
      statusReport({ sid: a.vendorMessageId }),
      statusReport({ sid: b.vendorMessageId, report_status: 'FAIL', errmsg: 'MK:0001', description: '空号' }),
    ])
    expect(response.status).toBe(200)
    expect((await made.deliveries.get(a.reference))?.status).toBe('delivered')
    expect(await made.deliveries.get(b.reference)).toMatchObject({ status: 'failed', vendorCode: 'MK:0001' })
  })

  it('changes nothing on a repeat or a later word against a final one', async () => {
    const made = tencentApp()
    const sent = await made.send(uniqueMainlandPhone())
    const failed = statusReport({ ext: sent.reference, report_status: 'FAIL', errmsg: 'MK:0005' })
    expect((await made.push(PATH, [failed])).status).toBe(200)
    const after = await made.deliveries.get(sent.reference)
    expect((await made.push(PATH, [failed, statusReport({ ext: sent.reference })])).status).toBe(200)
    expect(await made.deliveries.get(sent.reference)).toEqual(after)
    expect(made.receipts().map((e) => [e.status, e.changed])).toEqual([
      ['failed', true],
      ['failed', false],
      ['delivered', false],
    ])
  })

  it('counts unknown sends as unmatched and malformed reports as refused, taking the rest', async () => {
    const made = tencentApp()
    const sent = await made.send(uniqueMainlandPhone())
    const response = await made.push(PATH, [
      statusReport({ sid: '2433:404', ext: 'no-such-reference' }),
      statusReport({ ext: sent.reference, report_status: 'DELIVERED' }), // not SUCCESS | FAIL
      statusReport({ ext: sent.reference, sid: 12 }),
      'report',
      statusReport({ ext: sent.reference }),
    ])
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(ANSWER)
    expect((await made.deliveries.get(sent.reference))?.status).toBe('delivered')
    expect(made.receipts().map((e) => e.status)).toEqual(['refused', 'refused', 'refused', 'unmatched', 'delivered'])
  })

  it('refuses more than 100 reports, or anything but an array, as a whole', async () => {
    const made = tencentApp()
    const sent = await made.send(uniqueMainlandPhone())
    const many = Array.from({ length: 101 }, () => statusReport({ ext: sent.reference }))
    for (const body of [many, statusReport({ ext: sent.reference }), 'null']) {
      const response = await made.push(PATH, body)
      expect(response.status).toBe(400)
      expect(await response.json()).toEqual(errorBody(400, 'Invalid delivery report'))
    }
    expect((await made.deliveries.get(sent.reference))?.status).toBe('accepted')
    // 100 is Tencent's own batch: taken.
    expect((await made.push(PATH, many.slice(1))).status).toBe(200)
    expect((await made.deliveries.get(sent.reference))?.status).toBe('delivered')
  })
})
